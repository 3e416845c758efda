package io.pbft.replica.core;

/**
 * Where a durable replica keeps its checkpoints. The core calls it synchronously, at the exact
 * moment execution reaches a checkpoint, because the application state must be captured as of
 * that sequence number and not a batch later. Implementations do I/O (the core itself does not);
 * the simulator and a replica without a data directory use {@link #NONE}.
 */
public interface CheckpointStore {
  CheckpointStore NONE = new CheckpointStore() {
    @Override
    public void checkpoint(long sequence, byte[] clientTable) {}

    @Override
    public void stable(long sequence) {}
  };

  /** Makes the application state as it is now, plus the client table, durable as {@code sequence}. */
  void checkpoint(long sequence, byte[] clientTable);

  /** Checkpoint {@code sequence} became stable: older ones may go. */
  void stable(long sequence);
}

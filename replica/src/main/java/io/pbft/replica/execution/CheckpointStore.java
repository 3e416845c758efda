package io.pbft.replica.execution;

/**
 * Where a durable replica keeps its checkpoints. The {@link Execution} calls it right after the
 * batch at a checkpoint sequence number ran and before the next one runs, because the application
 * state must be captured as of that sequence number and not a batch later. Implementations do
 * I/O; the simulator keeps its own in memory, and a replica without a data directory uses
 * {@link #NONE}.
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

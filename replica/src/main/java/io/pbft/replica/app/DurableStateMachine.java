package io.pbft.replica.app;

/**
 * A {@link StateMachine} that keeps its state on disk and can make it durable at checkpoints.
 * Between checkpoints its state need not survive a crash: the replica's own write-ahead log holds
 * the batches executed since, and replays them after {@link #recover()}. That keeps the cost of
 * durability per checkpoint instead of per batch.
 *
 * <p>Calls come from one thread at a time, like those of {@link StateMachine}.
 */
public interface DurableStateMachine extends StateMachine, AutoCloseable {

  /**
   * Makes the state as it is now durable as checkpoint {@code sequence}: after a crash at any
   * later moment, {@link #recover()} can return to exactly this state (unless a newer checkpoint
   * has completed). A crash during this call leaves the previous checkpoints intact.
   *
   * @param sequence the sequence number of the last batch executed, greater than 0
   */
  void checkpoint(long sequence);

  /**
   * Deletes the checkpoints older than {@code sequence}, keeping the one at {@code sequence}.
   * The newest complete checkpoint is never deleted, whatever {@code sequence} says.
   */
  void discardCheckpointsBelow(long sequence);

  /**
   * Replaces the current state with the newest complete checkpoint's, discarding whatever was
   * executed after it, and returns that checkpoint's sequence number: 0 (and the empty state) if
   * there is none. Call it once after opening, before anything else; the caller then replays
   * the batches after the returned sequence number.
   */
  long recover();

  /** Releases files and memory; the state as of the last checkpoint stays on disk. */
  @Override
  void close();
}

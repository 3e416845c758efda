package io.pbft.replica.app;

import java.util.List;

/**
 * The application a PBFT group replicates. The protocol hands it batches in sequence order;
 * it must execute them deterministically: the same batches in the same order produce the same
 * results and the same state digest on every correct replica. Anything non-deterministic it
 * needs comes from the {@link ExecutionContext}, which the replicas agree on: the time
 * ({@link ExecutionContext#timeMillis()}) and randomness ({@link ExecutionContext#random()}),
 * never the JVM's clock or generators. docs/APPLICATIONS.md is the guide.
 *
 * <p>Calls come from one thread at a time; implementations need no locking of their own.
 */
public interface StateMachine {

  /**
   * Executes an ordered batch and returns one result per operation, in the same order.
   * An operation the application cannot parse is not an error of the replica: return a result
   * that says so (the client gets it) and leave the state unchanged. Should this throw all the
   * same, the replica restores the state before the batch (through {@link #restore}), runs its
   * operations one at a time, and answers each one it throws on with a failure text instead of
   * applying it (docs/APPLICATIONS.md, "Determinism").
   */
  List<byte[]> execute(ExecutionContext context, List<Operation> operations);

  /** Answers a read-only query against the current state without changing it. */
  byte[] query(byte[] operation);

  /** A digest of the whole application state; equal states give equal digests. */
  byte[] stateDigest();

  /** A serialized copy of the whole state, from which {@link #restore} rebuilds it exactly. */
  byte[] snapshot();

  /** Replaces the state with one produced by {@link #snapshot} (on any replica). */
  void restore(byte[] snapshot);

  /**
   * A frozen view of the state as it is now, serialized only if someone asks. Replicas freeze
   * the state at every checkpoint to serve it to peers that fall behind, so taking one should
   * cost what changed since, not the size of the state; the default serializes at once.
   */
  default Frozen freeze() {
    byte[] bytes = snapshot();
    return new Frozen() {
      @Override
      public byte[] bytes() {
        return bytes;
      }

      @Override
      public void release() {}
    };
  }

  /** The state at one moment, as {@link #snapshot()} would have returned it then. */
  interface Frozen {
    /** The snapshot bytes of the frozen state; may be called more than once. */
    byte[] bytes();

    /** No longer needed: the application may drop what it kept for this view. */
    void release();
  }
}

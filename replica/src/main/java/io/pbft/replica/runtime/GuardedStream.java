package io.pbft.replica.runtime;

import io.grpc.Status;

/**
 * A stream anyone may open (a client session, an incoming peer stream) that must authenticate
 * before it counts as a client's or a peer's: until then it is one of the {@link PendingStreams},
 * bounded in number and closed after {@code transport.handshakeTimeoutMs}; afterwards it is
 * closed when idle for {@code transport.idleTimeoutMs}.
 */
abstract class GuardedStream {
  /** The connection it arrived on (never null; possibly one accounted alone). */
  final Connection connection;
  final long openedNanos = System.nanoTime();
  private volatile long lastActivityNanos = openedNanos;
  /** It has sent a message: a stream mid-handshake, preferred over silent ones when room is needed. */
  private volatile boolean spoke;
  /** Counted as an authenticated stream of its connection (undone once when it ends). */
  private boolean countedOnConnection; // guarded by this

  GuardedStream(Connection connection) {
    this.connection = connection;
  }

  final void touch() {
    lastActivityNanos = System.nanoTime();
  }

  final long lastActivityNanos() {
    return lastActivityNanos;
  }

  final void spoke() {
    spoke = true;
  }

  final boolean hasSpoken() {
    return spoke;
  }

  /** Marks it authenticated on its connection; false if it was already. */
  final synchronized boolean countOnConnection() {
    if (countedOnConnection) {
      return false;
    }
    countedOnConnection = true;
    return true;
  }

  /** Undoes {@link #countOnConnection}; true if it was counted. */
  final synchronized boolean uncountOnConnection() {
    boolean was = countedOnConnection;
    countedOnConnection = false;
    return was;
  }

  /** It has left the runtime's bookkeeping (see {@link Hygiene#ended}); read under its lock. */
  abstract boolean hasEnded();

  /** Ends the call with {@code status} (idempotent, any thread); the runtime then forgets it. */
  abstract void abort(Status status);
}

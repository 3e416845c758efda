package io.pbft.replica.runtime;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;

/**
 * A stream anyone may open (a client session, an incoming peer stream) that must authenticate
 * before it counts as a client's or a peer's: until then it is one of the {@link PendingStreams},
 * bounded in number and closed after {@code transport.handshakeTimeoutMs}; afterwards it is
 * closed when idle for {@code transport.idleTimeoutMs}.
 */
abstract class GuardedStream {
  /** The connection it arrived on (never null; possibly one accounted alone). */
  final Connection connection;
  /** The server side of the call (writes to it are serialized on this object). */
  private final ServerCallStreamObserver<?> call;
  /** No more writes: the call ended or this side ended it. */
  private volatile boolean closed;
  /** Counted out of the runtime's bookkeeping; guarded by this. */
  private boolean ended;
  final long openedNanos = System.nanoTime();
  private volatile long lastActivityNanos = openedNanos;
  /** It has sent a message: a stream mid-handshake, preferred over silent ones when room is needed. */
  private volatile boolean spoke;
  /** Counted as an authenticated stream of its connection (undone once when it ends). */
  private boolean countedOnConnection; // guarded by this

  GuardedStream(Connection connection, ServerCallStreamObserver<?> call) {
    this.connection = connection;
    this.call = call;
  }

  final boolean isClosed() {
    return closed;
  }

  /** No more writes from here on (a write found the call cancelled). */
  final void markClosed() {
    closed = true;
  }

  /** Asks gRPC for the next message (manual flow control). */
  final synchronized void request() {
    if (!closed) {
      try {
        call.request(1);
      } catch (RuntimeException e) {
        closed = true; // the call has ended
      }
    }
  }

  /** Ends the call normally, once. */
  final synchronized void complete() {
    if (!closed) {
      closed = true;
      try {
        call.onCompleted();
      } catch (RuntimeException ignored) {
        // the other side went away first
      }
    }
  }

  /** Ends the call with {@code status}, once. */
  final synchronized void fail(Status status) {
    if (!closed) {
      closed = true;
      try {
        call.onError(status.asRuntimeException());
      } catch (RuntimeException ignored) {
        // already cancelled
      }
    }
  }

  /** It has left the runtime's bookkeeping (see {@link Hygiene#ended}). */
  final synchronized boolean hasEnded() {
    return ended;
  }

  /** True only the first time (cancel, onError and onCompleted may all report the end). */
  final synchronized boolean markEnded() {
    boolean first = !ended;
    ended = true;
    closed = true;
    return first;
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

  /** Ends the call with {@code status} (idempotent, any thread); the runtime then forgets it. */
  abstract void abort(Status status);
}

package io.pbft.replica.runtime;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.pbft.proto.Ack;

/**
 * One incoming ReplicaService stream. Anyone may open one and claim any sender: it is pending
 * until a message on it passes signature verification, and until then its messages are read one
 * at a time (the next only once the previous one is verified), so a stream of garbage costs one
 * verification at a time and is closed at the first failure.
 */
final class PeerStream extends GuardedStream {
  private final ServerCallStreamObserver<Ack> out;
  /** The replica whose verified message authenticated the stream, or -1. */
  private volatile int sender = -1;
  private boolean closed; // guarded by this
  private boolean ended;  // guarded by this: counted out of the runtime's bookkeeping

  PeerStream(ServerCallStreamObserver<Ack> out, Connection connection) {
    super(connection);
    this.out = out;
  }

  boolean authenticated() {
    return sender >= 0;
  }

  int sender() {
    return sender;
  }

  void authenticatedAs(int replica) {
    sender = replica;
  }

  /** Asks gRPC for the next message (manual flow control). */
  synchronized void request() {
    if (!closed) {
      try {
        out.request(1);
      } catch (RuntimeException e) {
        closed = true;
      }
    }
  }

  /** The sender half-closed: acknowledge and end the call. */
  synchronized void complete() {
    if (!closed) {
      closed = true;
      try {
        out.onNext(Ack.getDefaultInstance());
        out.onCompleted();
      } catch (RuntimeException ignored) {
        // the peer went away first
      }
    }
  }

  @Override
  synchronized void abort(Status status) {
    if (!closed) {
      closed = true;
      try {
        out.onError(status.asRuntimeException());
      } catch (RuntimeException ignored) {
        // already cancelled
      }
    }
  }

  @Override
  synchronized boolean hasEnded() {
    return ended;
  }

  /** True only the first time (cancel, onError and onCompleted may all report the end). */
  synchronized boolean markEnded() {
    boolean first = !ended;
    ended = true;
    closed = true;
    return first;
  }
}

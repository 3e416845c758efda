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

  PeerStream(ServerCallStreamObserver<Ack> out, Connection connection) {
    super(connection, out);
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

  /** The sender half-closed: acknowledge and end the call. */
  synchronized void acknowledgeAndComplete() {
    if (!isClosed()) {
      try {
        out.onNext(Ack.getDefaultInstance());
      } catch (RuntimeException ignored) {
        // the peer went away first
      }
      complete();
    }
  }

  @Override
  void abort(Status status) {
    fail(status);
  }
}

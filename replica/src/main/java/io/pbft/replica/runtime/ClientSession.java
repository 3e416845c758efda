package io.pbft.replica.runtime;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.pbft.crypto.Mac;
import io.pbft.proto.AuthenticatedReply;
import io.pbft.proto.Rejection;
import io.pbft.proto.ReplicaToClient;
import io.pbft.proto.Reply;

/**
 * One client's stream to this replica. Until the signed handshake completes it has no client
 * id and no MAC key and is one of the replica's pending streams; afterwards replies for that
 * client go out on it, authenticated by HMAC. Messages are read one at a time: the handshake
 * first, and nothing more until it has completed. Writes are serialized on the object (gRPC
 * observers are not thread-safe).
 */
final class ClientSession extends GuardedStream {
  private final ServerCallStreamObserver<ReplicaToClient> out;
  private volatile int clientId = -1;
  private Mac mac; // guarded by this

  /**
   * @param sendBufferBytes reply bytes buffered for this client before it counts as not reading
   *     ({@code transport.clientSendBufferBytes})
   */
  ClientSession(ServerCallStreamObserver<ReplicaToClient> out, int sendBufferBytes, Connection connection) {
    super(connection, out);
    this.out = out;
    out.setOnReadyThreshold(sendBufferBytes);
  }

  int clientId() {
    return clientId;
  }

  boolean established() {
    return clientId >= 0;
  }

  /** The handshake has verified: the session belongs to {@code clientId} and MACs its replies. */
  synchronized void setClient(int clientId, byte[] macKey) {
    this.mac = new Mac(macKey);
    this.clientId = clientId;
  }

  /** Sends {@code message} (the handshake's accept) as it is. */
  synchronized void send(ReplicaToClient message) {
    write(message);
  }

  /** Sends an authenticated reply; returns false if the stream is gone or congested. */
  synchronized boolean reply(Reply reply) {
    if (mac == null || isClosed()) {
      return false;
    }
    if (!out.isReady()) {
      // More than the send buffer holds waits for this client: it is not reading. Drop; a correct
      // client retransmits and gets the cached reply.
      return false;
    }
    byte[] bytes = reply.toByteArray();
    write(ReplicaToClient.newBuilder()
        .setReply(AuthenticatedReply.newBuilder().setReply(ByteString.copyFrom(bytes))
            .setMac(ByteString.copyFrom(mac.compute(bytes))))
        .build());
    touch();
    return true;
  }

  synchronized void reject(String reason) {
    write(ReplicaToClient.newBuilder().setRejection(Rejection.newBuilder().setReason(reason)).build());
  }

  synchronized void closeWith(String reason) {
    reject(reason);
    complete();
  }

  /**
   * Tells the client why, then ends the call with {@code status}. A stream that has sent nothing
   * gets the status alone (one frame: its description says why), not a rejection message before
   * it: that is what an outsider's silent streams get, thousands at a time.
   */
  @Override
  synchronized void abort(Status status) {
    if (status.getDescription() != null && hasSpoken()) {
      reject(status.getDescription());
    }
    fail(status);
  }

  private void write(ReplicaToClient message) {
    if (isClosed()) {
      return;
    }
    try {
      out.onNext(message);
    } catch (RuntimeException e) {
      markClosed(); // cancelled by the client
    }
  }
}

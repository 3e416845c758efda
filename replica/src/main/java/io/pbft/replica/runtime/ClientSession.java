package io.pbft.replica.runtime;

import com.google.protobuf.ByteString;
import io.grpc.stub.ServerCallStreamObserver;
import io.pbft.config.TransportSettings;
import io.pbft.crypto.Mac;
import io.pbft.proto.AuthenticatedReply;
import io.pbft.proto.Rejection;
import io.pbft.proto.ReplicaToClient;
import io.pbft.proto.Reply;

/**
 * One client's stream to this replica. Until the signed handshake completes it has no client
 * id and no MAC key; afterwards replies for that client go out on it, authenticated by HMAC.
 * Writes are serialized on the object (gRPC observers are not thread-safe).
 */
final class ClientSession {
  private final ServerCallStreamObserver<ReplicaToClient> out;
  private volatile int clientId = -1;
  private Mac mac; // guarded by this
  private volatile boolean closed;
  private boolean ended; // guarded by this: counted out of ClientSessions

  /**
   * A session whose stream buffers the default {@code transport.clientSendBufferBytes}. The
   * configured value reaches a session only through the other constructor; ClientService still
   * calls this one.
   */
  ClientSession(ServerCallStreamObserver<ReplicaToClient> out) {
    this(out, TransportSettings.CLIENT_SEND_BUFFER_BYTES.defaultValue());
  }

  /**
   * @param sendBufferBytes reply bytes buffered for this client before it counts as not reading
   *     ({@code transport.clientSendBufferBytes})
   */
  ClientSession(ServerCallStreamObserver<ReplicaToClient> out, int sendBufferBytes) {
    this.out = out;
    out.setOnReadyThreshold(sendBufferBytes);
  }

  int clientId() {
    return clientId;
  }

  boolean established() {
    return clientId >= 0;
  }

  synchronized void establish(int clientId, byte[] macKey, ReplicaToClient accept) {
    this.mac = new Mac(macKey);
    this.clientId = clientId;
    write(accept);
  }

  /** Sends an authenticated reply; returns false if the stream is gone or congested. */
  synchronized boolean reply(Reply reply) {
    if (mac == null || closed) {
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
    return true;
  }

  synchronized void reject(String reason) {
    write(ReplicaToClient.newBuilder().setRejection(Rejection.newBuilder().setReason(reason)).build());
  }

  synchronized void closeWith(String reason) {
    reject(reason);
    if (!closed) {
      closed = true;
      try {
        out.onCompleted();
      } catch (RuntimeException ignored) {
        // already cancelled
      }
    }
  }

  /** Marks the session closed; true only the first time (cancel and onError both report it). */
  synchronized boolean markClosed() {
    boolean first = !ended;
    ended = true;
    closed = true;
    return first;
  }

  private void write(ReplicaToClient message) {
    if (closed) {
      return;
    }
    try {
      out.onNext(message);
    } catch (RuntimeException e) {
      closed = true; // cancelled by the client
    }
  }
}

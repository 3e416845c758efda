package io.pbft.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.stub.StreamObserver;
import io.pbft.config.ClusterConfig;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.HandshakeException;
import io.pbft.crypto.Mac;
import io.pbft.crypto.PublicKeyVerifier;
import io.pbft.crypto.SessionHandshake;
import io.pbft.proto.AuthenticatedReply;
import io.pbft.proto.ClientMessage;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.Rejection;
import io.pbft.proto.Reply;
import io.pbft.proto.ReplicaToClient;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** One replica of a {@link FakeCluster}: the replica side of the client session protocol. */
final class FakeReplica extends ClientServiceGrpc.ClientServiceImplBase {
  private static final SecureRandom RANDOM = new SecureRandom();

  final int id;
  private final Ed25519Keys keys;
  private final FakeCluster cluster;
  private volatile Map<Integer, PublicKeyVerifier> clients = Map.of();
  volatile FakeCluster.Behavior behavior = FakeCluster.Behavior.HONEST;
  /** The current session of each client, where its replies go. */
  private final Map<Integer, Session> sessions = new ConcurrentHashMap<>();

  /**
   * How long a SLOW_HANDSHAKE replica holds a session open request before accepting it: well past
   * PbftClient.SESSIONS_WAIT_NANOS (500 ms), so that the first request surely goes without it.
   */
  static final long SLOW_HANDSHAKE_MS = 1_500;

  final AtomicInteger handshakes = new AtomicInteger();
  final AtomicInteger requestsReceived = new AtomicInteger();
  /** Of those, how many came flagged as sent to every replica at once. */
  final AtomicInteger requestsSentToAll = new AtomicInteger();
  final AtomicInteger repliesSent = new AtomicInteger();
  final AtomicInteger rejections = new AtomicInteger();
  /** Per request received, how many replicas its authenticator had a MAC for, in arrival order. */
  final java.util.List<Integer> authenticatorSizes = new java.util.concurrent.CopyOnWriteArrayList<>();

  FakeReplica(int id, Ed25519Keys keys, FakeCluster cluster) {
    this.id = id;
    this.keys = keys;
    this.cluster = cluster;
  }

  void setConfig(ClusterConfig config) {
    Map<Integer, PublicKeyVerifier> m = new ConcurrentHashMap<>();
    config.clients().forEach(c -> m.put(c.id(), c.verifier()));
    clients = m;
  }

  /** Ends every client stream from the server side, as a crashing replica would. */
  void dropSessions() {
    for (Session s : sessions.values()) {
      s.end();
    }
    sessions.clear();
  }

  /** Sends the reply for {@code executed} to its client, according to this replica's behavior. */
  void reply(FakeCluster.Executed executed) {
    FakeCluster.Behavior b = behavior;
    Session session = sessions.get(executed.clientId());
    if (session == null || b == FakeCluster.Behavior.SILENT) {
      return;
    }
    Reply.Builder reply = Reply.newBuilder()
        .setView(0)
        .setTimestamp(executed.timestamp())
        .setClientId(executed.clientId())
        .setReplicaId(id)
        .setResult(ByteString.copyFrom(executed.result()));
    switch (b) {
      case LYING -> reply.setResult(ByteString.copyFromUtf8("a lie from replica " + id));
      case COLLUDING -> reply.setResult(ByteString.copyFromUtf8("the colluders' lie"));
      case WRONG_TIMESTAMP -> reply.setTimestamp(executed.timestamp() - 1);
      case WRONG_REPLICA_ID -> reply.setReplicaId((id + 1) % cluster.config.n());
      default -> { }
    }
    session.send(reply.build().toByteArray(), b == FakeCluster.Behavior.BAD_MAC);
    repliesSent.incrementAndGet();
  }

  @Override
  public StreamObserver<ClientMessage> session(StreamObserver<ReplicaToClient> responses) {
    return new StreamObserver<>() {
      private Session session;

      @Override
      public void onNext(ClientMessage message) {
        switch (message.getBodyCase()) {
          case OPEN -> open(message);
          case REQUEST -> {
            if (message.getSentToAll()) {
              requestsSentToAll.incrementAndGet();
            }
            request(message.getRequest());
          }
          default -> reject("empty message");
        }
      }

      private void open(ClientMessage message) {
        if (behavior == FakeCluster.Behavior.SLOW_HANDSHAKE) {
          try {
            Thread.sleep(SLOW_HANDSHAKE_MS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
        try {
          SessionHandshake.Accepted accepted =
              SessionHandshake.accept(message.getOpen(), id, keys, clients::get, RANDOM);
          Session s = new Session(accepted.clientId(), new Mac(accepted.macKey()), responses);
          s.requestKey = accepted.requestKey();
          s.write(ReplicaToClient.newBuilder().setAccept(accepted.accept()).build());
          session = s;
          handshakes.incrementAndGet(); // before replies can use the session
          sessions.put(accepted.clientId(), s);
        } catch (HandshakeException e) {
          reject(e.getMessage());
        }
      }

      private void request(SignedRequest signed) {
        if (session == null) {
          reject("no session");
          return;
        }
        requestsReceived.incrementAndGet();
        authenticatorSizes.add(signed.getAuthenticatorCount());
        Request request;
        try {
          request = Request.parseFrom(signed.getRequest());
        } catch (InvalidProtocolBufferException e) {
          reject("malformed request");
          return;
        }
        PublicKeyVerifier verifier = clients.get(session.clientId);
        boolean authentic = signed.getAuthenticatorCount() > 0
            ? signed.getAuthenticatorList().stream().anyMatch(e -> e.getReplicaId() == id
                && e.getKeyId().equals(session.requestKey.keyId())
                && io.pbft.crypto.RequestMacs.verify(session.requestKey.key(), signed.getRequest(), e.getMac()))
            : verifier.verify(signed.getRequest().toByteArray(), signed.getSignature().toByteArray());
        if (request.getClientId() != session.clientId || !authentic) {
          reject("request not authenticated by the session's client");
          return;
        }
        if (behavior == FakeCluster.Behavior.SILENT) {
          return; // a silent replica does not even pass the request on
        }
        cluster.order(request);
      }

      private void reject(String reason) {
        rejections.incrementAndGet();
        Session s = session;
        ReplicaToClient r = ReplicaToClient.newBuilder().setRejection(Rejection.newBuilder().setReason(reason)).build();
        if (s != null) {
          s.write(r);
        } else {
          synchronized (responses) {
            responses.onNext(r);
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        ended();
      }

      @Override
      public void onCompleted() {
        ended();
      }

      private void ended() {
        Session s = session;
        if (s != null) {
          sessions.remove(s.clientId, s);
          s.end();
        }
      }
    };
  }

  /** One established client session; writes are serialized because StreamObservers are not thread-safe. */
  private static final class Session {
    final int clientId;
    private final Mac mac;
    SessionHandshake.SessionKey requestKey;
    private final StreamObserver<ReplicaToClient> out;
    private boolean ended;

    Session(int clientId, Mac mac, StreamObserver<ReplicaToClient> out) {
      this.clientId = clientId;
      this.mac = mac;
      this.out = out;
    }

    synchronized void send(byte[] reply, boolean corruptMac) {
      byte[] tag = mac.compute(reply);
      if (corruptMac) {
        tag[0] ^= 1;
      }
      write(ReplicaToClient.newBuilder()
          .setReply(AuthenticatedReply.newBuilder()
              .setReply(ByteString.copyFrom(reply))
              .setMac(ByteString.copyFrom(tag)))
          .build());
    }

    synchronized void write(ReplicaToClient message) {
      if (ended) {
        return;
      }
      try {
        out.onNext(message);
      } catch (RuntimeException e) {
        ended = true; // the client went away
      }
    }

    synchronized void end() {
      if (ended) {
        return;
      }
      ended = true;
      try {
        out.onCompleted();
      } catch (RuntimeException ignored) {
        // already cancelled
      }
    }
  }
}

package io.pbft.replica.runtime;

import com.google.protobuf.ByteString;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.pbft.proto.Ack;
import io.pbft.proto.ReplicaServiceGrpc;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Rejection;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Incoming peer streams. Anyone may connect and claim any sender id: the signature check in
 * the verification pool decides (or, for a MAC'd PREPARE or COMMIT on an authenticated stream while
 * nothing waits, the HMAC check on the network thread); only verified messages reach the event loop. Cheap checks come
 * first, on arrival: a message with unknown fields or from a sender that does not exist is
 * dropped and counted before it is queued. A stream is pending ({@link PeerStream}) until a
 * message on it verifies: until then it is read one message at a time.
 */
final class PeerService extends ReplicaServiceGrpc.ReplicaServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(PeerService.class);
  private final ReplicaServer replica;

  PeerService(ReplicaServer replica) {
    this.replica = replica;
  }

  @Override
  public StreamObserver<SignedMessage> stream(StreamObserver<Ack> responseObserver) {
    ServerCallStreamObserver<Ack> out = (ServerCallStreamObserver<Ack>) responseObserver;
    out.disableAutoRequest();
    Hygiene hygiene = replica.hygiene;
    Connection connection = Connection.CURRENT.get();
    io.pbft.crypto.tls.TlsIdentity certified = TransportIdentity.CURRENT.get(); // null with TLS off
    PeerStream stream = new PeerStream(out, connection != null ? connection : new Connection(null, null));
    out.setOnCancelHandler(() -> hygiene.ended(stream));
    hygiene.opened(stream);
    stream.request();
    return new StreamObserver<>() {
      @Override
      public void onNext(SignedMessage message) {
        stream.touch();
        if (replica.failure() != null) {
          stream.request();
          return; // stopped taking part
        }
        Rejection cheap = cheapCheck(message);
        if (cheap != null) {
          refuse(stream, cheap, "claims sender " + message.getSender());
          return;
        }
        stream.spoke();
        boolean pending = !stream.authenticated();
        int size = message.getSerializedSize();
        if (!pending && (macVote(message) || smallSigned(message, size)) && replica.checkInline()) {
          replica.runInline(() -> verify(stream, certified, message, size)); // one HMAC, or a few signatures
          stream.request();
          return;
        }
        if (!replica.verifyPool.submitPeer(pending ? -1 : stream.sender(), () -> verify(stream, certified, message, size),
            size)
            .queued()) {
          replica.drop("verification queue full");
          stream.request(); // dropped: read on (a pending stream, the next message instead)
          return;
        }
        if (!pending) {
          stream.request(); // authenticated: read on; a pending stream reads on once this one verifies
        }
      }

      @Override
      public void onError(Throwable t) {
        log.debug("replica {}: inbound peer stream ended: {}", replica.id, t.toString());
        hygiene.ended(stream);
      }

      @Override
      public void onCompleted() {
        stream.acknowledgeAndComplete(); // first: ended() marks the stream closed, after which nothing is sent
        hygiene.ended(stream);
      }
    };
  }

  /**
   * What can be judged without a signature check: unknown fields and the sender's range. The sender
   * need not be the replica whose TLS certificate the stream came with: replicas pass on messages
   * others signed (a NEW-VIEW to a replica that missed it, the CHECKPOINTs of a stable proof), and
   * each message is authenticated by its own signature or MACs, not by the stream.
   */
  private Rejection cheapCheck(SignedMessage message) {
    if (!message.getUnknownFields().asMap().isEmpty()) {
      return Rejection.UNKNOWN_FIELDS;
    }
    int sender = message.getSender();
    if (!replica.knownReplica(sender)) {
      return Rejection.UNKNOWN_SENDER;
    }
    return null;
  }

  /** Payload bytes a PREPARE or COMMIT never exceeds (four fields, a 32-byte digest: at most 64). */
  private static final int VOTE_PAYLOAD_BYTES_MAX = 96;
  private static final byte PREPARE_TAG = (byte) (ReplicaMessage.PREPARE_FIELD_NUMBER << 3 | 2);
  private static final byte COMMIT_TAG = (byte) (ReplicaMessage.COMMIT_FIELD_NUMBER << 3 | 2);

  /**
   * A MAC-authenticated PREPARE or COMMIT, judged from its first byte and its size without parsing:
   * its check is one HMAC and a small parse, cheap enough for the network thread. Any other message,
   * or one that only looks like a vote, goes through the pool; a forged look-alike is refused by the
   * verifier all the same, and is too small to hold more than one signature to check.
   */
  private static boolean macVote(SignedMessage message) {
    ByteString payload = message.getPayload();
    if (!message.getSignature().isEmpty() || payload.isEmpty() || payload.size() > VOTE_PAYLOAD_BYTES_MAX) {
      return false;
    }
    byte tag = payload.byteAt(0);
    return tag == PREPARE_TAG || tag == COMMIT_TAG;
  }

  /**
   * Bytes up to which a signed message may be checked on the network thread while the replica is
   * idle: a PRE-PREPARE of one or two requests, a CHECKPOINT, a HEARTBEAT. So small a message holds
   * at most five signatures (its own and those of signed requests in it, each with its 64 bytes and
   * the request's fields), a few hundred microseconds of a thread that has nothing else to do.
   */
  static final int INLINE_SIGNED_BYTES_MAX = 512;

  /** A signed message small enough to check on the network thread ({@link #INLINE_SIGNED_BYTES_MAX}). */
  private static boolean smallSigned(SignedMessage message, int size) {
    return size <= INLINE_SIGNED_BYTES_MAX && !message.getSignature().isEmpty();
  }

  /**
   * Garbage on a peer stream: dropped, counted, and the next message read. A stream still without
   * a verified message stays pending (closed by the handshake timeout, or to make room), and its
   * bytes stay charged against transport.unauthenticatedBytesMax: reading garbage from it costs
   * one message at a time and no queue space.
   */
  private void refuse(PeerStream stream, Rejection reason, String detail) {
    replica.drop(reason.label());
    replica.hygiene.garbage.count(reason.label() + " on a peer stream", stream.connection.remote,
        (stream.authenticated() ? "stream of replica " + stream.sender() : "stream without a verified message") + "; "
            + detail);
    stream.request();
  }

  private void verify(PeerStream stream, io.pbft.crypto.tls.TlsIdentity certified, SignedMessage message, int size) {
    Verdict<VerifiedMessage> verdict = replica.verify(message);
    if (!verdict.isOk()) {
      log.debug("replica {}: dropped message claiming sender {}: {}", replica.id, message.getSender(),
          verdict.describe());
      if (stream.authenticated()) {
        replica.drop(verdict.reason().label()); // the next message is asked for already
      } else {
        refuse(stream, verdict.reason(), verdict.describe());
      }
      return;
    }
    VerifiedMessage m = verdict.value();
    if (!stream.authenticated()) {
      // With TLS the stream is the certified replica's, whoever signed its first message.
      if (!replica.hygiene.authenticated(stream, certified != null ? certified.id() : m.sender())) {
        return; // ended meanwhile
      }
      stream.request();
    }
    if (!replica.behaviour.admit(m)) {
      return;
    }
    replica.loop.submit(() -> replica.onPeerMessage(m), size);
  }
}

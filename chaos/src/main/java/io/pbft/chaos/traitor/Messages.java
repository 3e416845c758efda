package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.proto.Batch;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Small helpers traitors share. */
final class Messages {
  private Messages() {}

  /** The body of a signed message, or null if it does not parse. */
  static ReplicaMessage parse(SignedMessage m) {
    try {
      return ReplicaMessage.parseFrom(m.getPayload());
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  static Request parse(SignedRequest r) {
    try {
      return Request.parseFrom(r.getRequest());
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  /** The recipients of {@code o}: every other replica for a broadcast. */
  static List<Integer> recipients(Effects.Outgoing o, int n, int self) {
    List<Integer> to = new ArrayList<>();
    if (o.broadcast()) {
      for (int r = 0; r < n; r++) {
        if (r != self) {
          to.add(r);
        }
      }
    } else {
      to.add(o.to());
    }
    return to;
  }

  static Effects.Outgoing to(int to, SignedMessage m) {
    return new Effects.Outgoing(to, m);
  }

  static Effects.Outgoing toAll(SignedMessage m) {
    return new Effects.Outgoing(Effects.Outgoing.ALL, m);
  }

  static ByteString randomDigest(Random random) {
    byte[] d = new byte[Digests.SIZE_BYTES];
    random.nextBytes(d);
    return ByteString.copyFrom(d);
  }

  static ByteString randomBytes(Random random, int size) {
    byte[] b = new byte[size];
    random.nextBytes(b);
    return ByteString.copyFrom(b);
  }

  static ByteString digestOf(List<SignedRequest> requests) {
    return ByteString.copyFrom(Digests.batchDigest(requests));
  }

  /** The digest a pre-prepare proposing {@code timeMs} must name for {@code requests}. */
  static ByteString digestOf(List<SignedRequest> requests, long timeMs) {
    return ByteString.copyFrom(Digests.batchDigest(requests, timeMs));
  }

  /** {@code pp} with {@code requests} as its batch and the matching digest (over its time too). */
  static PrePrepare withBatch(PrePrepare pp, List<SignedRequest> requests) {
    return pp.toBuilder().setBatch(Batch.newBuilder().addAllRequests(requests))
        .setDigest(digestOf(requests, pp.getTimeMs())).build();
  }

  /** {@code pp} proposing {@code timeMs} instead, with the matching digest. */
  static PrePrepare withTime(PrePrepare pp, long timeMs) {
    return pp.toBuilder().setTimeMs(timeMs).setDigest(digestOf(pp.getBatch().getRequestsList(), timeMs)).build();
  }

  /** A replica other than {@code self}, at random. */
  static int otherReplica(Random random, int n, int self) {
    int r = random.nextInt(n - 1);
    return r >= self ? r + 1 : r;
  }

  /** The view a message is about, or -1. */
  static long viewOf(ReplicaMessage m) {
    return switch (m.getBodyCase()) {
      case PRE_PREPARE -> m.getPrePrepare().getView();
      case PREPARE -> m.getPrepare().getView();
      case COMMIT -> m.getCommit().getView();
      case VIEW_CHANGE -> m.getViewChange().getNewView();
      case NEW_VIEW -> m.getNewView().getView();
      case HEARTBEAT -> m.getHeartbeat().getView();
      default -> -1;
    };
  }
}

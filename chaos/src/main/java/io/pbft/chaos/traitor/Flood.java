package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.proto.Batch;
import io.pbft.proto.FetchState;
import io.pbft.proto.ForwardedRequest;
import io.pbft.proto.Heartbeat;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A replica that floods its peers with garbage: for every message it sends, a few more that are
 * signed noise (bytes that are no message, an empty message, votes with digests of the wrong
 * length, heartbeats claiming it has executed nothing so that peers send it what it lacks, state
 * fetches for checkpoints nobody has), pre-prepares with more requests than a batch may hold, and
 * rarely one message larger than the transport accepts. Each must be dropped and counted, cheaply.
 */
public final class Flood implements Behaviour {
  /** Larger than the default transport limit (16 MiB); built once, shared by every flooder. */
  private static volatile SignedMessage oversized;

  private final int n;
  private final Random random;
  private SignedRequest someRequest;

  public Flood(int n, Random random) {
    this.n = n;
    this.random = random;
  }

  @Override
  public boolean admitMessage(int sender, ReplicaMessage message) {
    if (message.hasPrePrepare() && message.getPrePrepare().getBatch().getRequestsCount() > 0) {
      someRequest = message.getPrePrepare().getBatch().getRequests(0);
    }
    return true;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted);
    int garbage = wanted.isEmpty() || random.nextBoolean() ? 0 : 1 + random.nextInt(2);
    for (int i = 0; i < garbage; i++) {
      SignedMessage junk = junk(signing);
      out.add(random.nextInt(3) == 0 ? Messages.toAll(junk)
          : Messages.to(Messages.otherReplica(random, n, signing.replicaId()), junk));
    }
    return out;
  }

  private SignedMessage junk(Signing signing) {
    int me = signing.replicaId();
    return switch (random.nextInt(9)) {
      case 0 -> {
        ByteString noise = Messages.randomBytes(random, 1 + random.nextInt(512));
        yield SignedMessage.newBuilder().setSender(me).setPayload(noise)
            .setSignature(Messages.randomBytes(random, 64)).build();
      }
      case 1 -> signing.sign(ReplicaMessage.getDefaultInstance());
      case 2 -> signing.sign(ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder()
          .setView(random.nextInt(3)).setSequence(1 + random.nextInt(64))
          .setDigest(Messages.randomBytes(random, random.nextInt(31))).setReplicaId(me)).build());
      case 3 -> random.nextInt(8) == 0
          // Claims to have executed nothing: every correct replica answers with up to 64
          // signed certificates (catch-up has no rate limit per peer), so this one is rationed.
          ? signing.sign(ReplicaMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder()
              .setLastExecuted(0).setLowWatermark(0).setReplicaId(me)).build())
          : SignedMessage.newBuilder().setSender(me).build();
      case 4 -> signing.sign(ReplicaMessage.newBuilder().setFetchState(FetchState.newBuilder()
          .setSequence(1 + random.nextInt(1 << 20)).setStateDigest(Messages.randomDigest(random))
          .setOffset(random.nextInt(1 << 16)).setReplicaId(me)).build());
      case 5 -> oversizedBatch(signing);
      case 6 -> someRequest == null ? signing.sign(ReplicaMessage.getDefaultInstance())
          : signing.sign(ReplicaMessage.newBuilder().setForwardedRequest(ForwardedRequest.newBuilder()
              .setRequest(someRequest.toBuilder().setSignature(Messages.randomBytes(random, 64)))).build());
      case 7 -> random.nextInt(50) == 0 ? oversized(me)
          : SignedMessage.newBuilder().setSender(me).setPayload(Messages.randomBytes(random, 4096))
              .setSignature(Messages.randomBytes(random, 64)).build();
      default -> SignedMessage.newBuilder().setSender(me).build(); // nothing at all
    };
  }

  /** A pre-prepare of many copies of one request: too many requests, or too many bytes, for a batch. */
  private SignedMessage oversizedBatch(Signing signing) {
    if (someRequest == null) {
      return signing.sign(ReplicaMessage.getDefaultInstance());
    }
    Batch.Builder batch = Batch.newBuilder();
    for (int i = 0; i < 24; i++) {
      batch.addRequests(someRequest);
    }
    Batch b = batch.build();
    return signing.sign(ReplicaMessage.newBuilder().setPrePrepare(PrePrepare.newBuilder()
        .setView(random.nextInt(4)).setSequence(1 + random.nextInt(64))
        .setDigest(Messages.digestOf(b.getRequestsList())).setBatch(b)).build()); // no time: refused as junk
  }

  /** 16 MiB + 1 of payload under a bogus signature: the transport refuses it by size alone. */
  private static SignedMessage oversized(int sender) {
    SignedMessage m = oversized;
    if (m == null) {
      m = SignedMessage.newBuilder().setPayload(ByteString.copyFrom(new byte[(16 << 20) + 1]))
          .setSignature(ByteString.copyFrom(new byte[64])).build();
      oversized = m;
    }
    return m.toBuilder().setSender(sender).build();
  }

  @Override
  public String name() {
    return "flood";
  }
}

package io.pbft.chaos.traitor;

import io.pbft.proto.Checkpoint;
import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.core.Effects;
import java.util.List;
import java.util.Random;

/**
 * A replica that lies about its state: its CHECKPOINTs carry made-up state digests, and now and
 * then it announces checkpoints far ahead of everyone (as a replica that ran ahead would). A
 * checkpoint becomes stable, and a state is fetched, only on 2f + 1 matching CHECKPOINTs, which f
 * liars cannot supply.
 */
public final class FalseCheckpoints extends OwnMessageRewriter {
  private final Random random;

  public FalseCheckpoints(Random random) {
    this.random = random;
  }

  @Override
  boolean rewrites(ReplicaMessage m) {
    return m.hasCheckpoint();
  }

  @Override
  void rewrite(Effects.Outgoing o, ReplicaMessage m, Signing signing, List<Effects.Outgoing> out) {
    Checkpoint cp = m.getCheckpoint();
    out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder()
        .setCheckpoint(cp.toBuilder().setStateDigest(Messages.randomDigest(random))).build())));
    if (random.nextInt(3) == 0) {
      long ahead = cp.getSequence() * (2 + random.nextInt(20));
      out.add(Messages.toAll(signing.sign(ReplicaMessage.newBuilder().setCheckpoint(cp.toBuilder()
          .setSequence(ahead).setStateDigest(Messages.randomDigest(random))).build())));
    }
  }

  @Override
  public String name() {
    return "false-checkpoints";
  }
}

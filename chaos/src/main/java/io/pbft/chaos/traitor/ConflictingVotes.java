package io.pbft.chaos.traitor;

import io.pbft.proto.Commit;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.core.Effects;
import java.util.List;
import java.util.Random;

/**
 * A replica that votes both ways: each PREPARE and COMMIT it multicasts goes to a random half of
 * the group as the core meant it and to the other half for a different digest (one made-up
 * digest per vote, so the lie is consistent), and now and then one replica gets both. Honest
 * replicas hold one vote per replica and slot, count only votes matching their pre-prepare, and
 * refuse a second digest from the same replica ("conflicting prepare").
 */
public final class ConflictingVotes extends OwnMessageRewriter {
  private final int n;
  private final Random random;

  public ConflictingVotes(int n, Random random) {
    this.n = n;
    this.random = random;
  }

  @Override
  boolean rewrites(ReplicaMessage m) {
    return m.hasPrepare() || m.hasCommit();
  }

  @Override
  void rewrite(Effects.Outgoing o, ReplicaMessage m, Signing signing, List<Effects.Outgoing> out) {
    ReplicaMessage lie = m.hasPrepare()
        ? ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder(m.getPrepare())
            .setDigest(Messages.randomDigest(random))).build()
        : ReplicaMessage.newBuilder().setCommit(Commit.newBuilder(m.getCommit())
            .setDigest(Messages.randomDigest(random))).build();
    var signedLie = signing.sign(lie);
    for (int to : Messages.recipients(o, n, signing.replicaId())) {
      int roll = random.nextInt(10);
      if (roll < 5) {
        out.add(Messages.to(to, o.message()));
      } else if (roll < 9) {
        out.add(Messages.to(to, signedLie));
      } else {
        out.add(Messages.to(to, signedLie));
        out.add(Messages.to(to, o.message()));
      }
    }
  }

  @Override
  public String name() {
    return "conflicting-votes";
  }
}

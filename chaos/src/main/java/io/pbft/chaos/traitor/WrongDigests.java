package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.core.Effects;
import java.util.List;
import java.util.Random;

/**
 * A replica whose digests are wrong: about half of its PRE-PREPAREs name a digest that is not
 * their batch's, and about half of its PREPAREs and COMMITs name a made-up digest or one of the
 * wrong length. All validly signed. Backups recompute a pre-prepare's digest ("digest mismatch")
 * and count only votes that match what they accepted.
 */
public final class WrongDigests extends OwnMessageRewriter {
  private final Random random;

  public WrongDigests(Random random) {
    this.random = random;
  }

  @Override
  boolean rewrites(ReplicaMessage m) {
    return random.nextBoolean();
  }

  @Override
  void rewrite(Effects.Outgoing o, ReplicaMessage m, Signing signing, List<Effects.Outgoing> out) {
    ReplicaMessage.Builder lie = m.toBuilder();
    switch (m.getBodyCase()) {
      case PRE_PREPARE -> lie.getPrePrepareBuilder().setDigest(wrongDigest());
      case PREPARE -> lie.getPrepareBuilder().setDigest(wrongDigest());
      case COMMIT -> lie.getCommitBuilder().setDigest(wrongDigest());
      default -> {
        out.add(o);
        return;
      }
    }
    out.add(new Effects.Outgoing(o.to(), signing.sign(lie.build())));
  }

  private ByteString wrongDigest() {
    return random.nextInt(4) == 0 ? Messages.randomBytes(random, 1 + random.nextInt(40)) : Messages.randomDigest(random);
  }

  @Override
  public String name() {
    return "wrong-digests";
  }
}

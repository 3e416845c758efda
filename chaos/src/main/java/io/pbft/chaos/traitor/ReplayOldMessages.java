package io.pbft.chaos.traitor;

import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A replica that replays old messages: it keeps a sample of the signed messages it sent and of
 * the other replicas' signed messages it got hold of (the prepares and checkpoints inside
 * view-change proofs, the pre-prepares and commits inside certificates, the view-changes inside
 * a NEW-VIEW), and keeps sending them again, to random replicas, long after they were news. All
 * carry valid signatures; a correct replica must find them stale or redundant.
 *
 * <p>A replayed HEARTBEAT from long ago says this replica is far behind, and every correct
 * replica answers it with the certificates of what it lacks (see {@link Flood}).
 */
public final class ReplayOldMessages implements Behaviour {
  private static final int KEPT_MAX = 256;

  private final int n;
  private final Random random;
  private final List<SignedMessage> kept = new ArrayList<>();

  public ReplayOldMessages(int n, Random random) {
    this.n = n;
    this.random = random;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted);
    for (Effects.Outgoing o : wanted) {
      keep(o.message());
      ReplicaMessage m = Messages.parse(o.message());
      if (m == null) {
        continue;
      }
      switch (m.getBodyCase()) {
        case VIEW_CHANGE -> {
          m.getViewChange().getCheckpointProofList().forEach(this::keep);
          for (PreparedCertificate c : m.getViewChange().getPreparedList()) {
            keep(c.getPrePrepare());
            c.getPreparesList().forEach(this::keep);
          }
        }
        case NEW_VIEW -> {
          m.getNewView().getViewChangesList().forEach(this::keep);
          m.getNewView().getPrePreparesList().forEach(this::keep);
        }
        case COMMITTED -> {
          keep(m.getCommitted().getPrePrepare());
          m.getCommitted().getCommitsList().forEach(this::keep);
        }
        default -> { }
      }
    }
    // Replays ride along with what its core sends (at most one replay per burst it sends, and
    // not every time), so their rate follows its own: a replayed old HEARTBEAT makes every correct
    // replica answer with up to 64 certificates, and replays triggered by those answers would feed
    // on themselves.
    if (!wanted.isEmpty() && kept.size() > 8 && random.nextInt(4) == 0) {
      int replays = 1;
      for (int i = 0; i < replays; i++) {
        // Older ones more often: the first half of what is kept.
        SignedMessage old = kept.get(random.nextInt(Math.max(1, kept.size() / 2)));
        out.add(random.nextInt(4) == 0 ? Messages.toAll(old)
            : Messages.to(Messages.otherReplica(random, n, signing.replicaId()), old));
      }
    }
    return out;
  }

  private void keep(SignedMessage m) {
    if (kept.size() < KEPT_MAX) {
      kept.add(m);
    } else if (random.nextInt(8) == 0) {
      kept.set(KEPT_MAX / 2 + random.nextInt(KEPT_MAX / 2), m); // the oldest half stays old
    }
  }

  @Override
  public String name() {
    return "replay";
  }
}

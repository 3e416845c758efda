package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The accomplice of an {@link EquivocatingPrimary}: it knows the primary's rule (replicas with an
 * even id get the real pre-prepare, the others its {@link EquivocatingPrimary#conflicting}
 * variant), so from the real pre-prepare it computes both digests and votes PREPARE and COMMIT
 * for each side's digest towards that side. With f such traitors besides the primary (f + 1 in
 * all, one more than PBFT tolerates) both sides reach their quorums and execute different batches
 * at the same sequence number: the harness must report it. With f traitors or fewer it achieves
 * nothing.
 *
 * <p>Combined with the equivocating primary itself, put it first ({@code
 * colluding-votes+equivocating-primary}), so that it sees the real pre-prepare before it is split.
 */
public final class ColludingVotes implements Behaviour {
  private record Sides(ByteString even, ByteString odd) {}

  private final int n;
  /** Per (view, sequence), the digest each side got. */
  private final Map<String, Sides> sides = new HashMap<>();

  public ColludingVotes(int n) {
    this.n = n;
  }

  @Override
  public boolean admitMessage(int sender, ReplicaMessage message) {
    if (message.hasPrePrepare() && sender == message.getPrePrepare().getView() % n) {
      learn(message.getPrePrepare());
    }
    return true;
  }

  /** The first pre-prepare for a slot is taken as the real one (the primary sends it to allies). */
  private void learn(PrePrepare real) {
    String slot = real.getView() + "/" + real.getSequence();
    if (!sides.containsKey(slot)) {
      sides.put(slot, new Sides(real.getDigest(), EquivocatingPrimary.conflicting(real).getDigest()));
    }
    if (sides.size() > 4096) {
      sides.clear();
    }
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>();
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = Messages.parse(o.message());
      if (m != null && m.hasPrePrepare() && o.message().getSender() == signing.replicaId()) {
        learn(m.getPrePrepare());
      }
      Sides s = m == null ? null : sidesOf(m);
      if (s == null || o.message().getSender() != signing.replicaId()) {
        out.add(o);
        continue;
      }
      for (int to : Messages.recipients(o, n, signing.replicaId())) {
        ByteString digest = to % 2 == 0 ? s.even() : s.odd();
        ReplicaMessage.Builder vote = m.toBuilder();
        if (m.hasPrepare()) {
          vote.getPrepareBuilder().setDigest(digest);
        } else {
          vote.getCommitBuilder().setDigest(digest);
        }
        out.add(Messages.to(to, signing.sign(vote.build())));
      }
    }
    return out;
  }

  private Sides sidesOf(ReplicaMessage m) {
    if (m.hasPrepare()) {
      return sides.get(m.getPrepare().getView() + "/" + m.getPrepare().getSequence());
    } else if (m.hasCommit()) {
      return sides.get(m.getCommit().getView() + "/" + m.getCommit().getSequence());
    }
    return null;
  }

  @Override
  public String name() {
    return "colluding-votes";
  }
}

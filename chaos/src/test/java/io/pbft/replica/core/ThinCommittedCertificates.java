package io.pbft.replica.core;

import io.pbft.proto.Commit;
import io.pbft.proto.CommittedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.verify.VerifiedMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A traitor for {@link PlantedBugsTest}: it never sends a COMMIT of its own; instead, as soon as
 * one correct replica's COMMIT reaches it for a batch it holds the pre-prepare of, it sends every
 * replica but that one a committed certificate made of the pre-prepare, that COMMIT and one of its
 * own: 2f COMMITs for f = 1, all validly signed. Its VIEW-CHANGEs omit every prepared certificate,
 * and it ignores the VIEW-CHANGEs of the replicas whose COMMITs it used, so that as the next
 * primary it computes its NEW-VIEW from the replicas that never prepared those batches. Only the
 * rule that a committed certificate needs 2f + 1 COMMITs keeps a replica from running a batch that
 * the next view then replaces. Under {@code authentication: macs} the COMMITs it receives carry
 * MACs and cannot be passed on, so it sends its bare claim that it committed the batch instead, and
 * only the rule that a claim counts with f others keeps a replica from running it.
 */
final class ThinCommittedCertificates implements Behaviour {
  /** Signed pre-prepares it accepted, by (view, sequence). */
  private final Map<List<Long>, SignedMessage> prePrepares = new HashMap<>();
  /** Certificates made since the last send, to go out with the next outgoing messages. */
  private final List<CommittedCertificate> pending = new ArrayList<>();
  /** Per (view, sequence) of a certificate sent: the replica whose COMMIT went into it. */
  private final Map<List<Long>, Integer> committerOf = new HashMap<>();
  /** Per (view, sequence): the other replicas whose COMMITs arrived. */
  private final Map<List<Long>, Set<Integer>> commitsSeen = new HashMap<>();
  private final int n;
  private final int f;
  private Signing signing;

  ThinCommittedCertificates(int n) {
    this.n = n;
    this.f = (n - 1) / 3;
  }

  @Override
  public boolean admit(VerifiedMessage m) {
    ReplicaMessage body = m.message();
    if (body.hasPrePrepare()) {
      prePrepares.putIfAbsent(List.of(body.getPrePrepare().getView(), body.getPrePrepare().getSequence()), m.signed());
    } else if (body.hasCommit() && signing != null && m.sender() != signing.replicaId()) {
      Commit c = body.getCommit();
      List<Long> slot = List.of(c.getView(), c.getSequence());
      commitsSeen.computeIfAbsent(slot, k -> new HashSet<>()).add(m.sender());
      SignedMessage pp = prePrepares.get(slot);
      if (pp != null && !committerOf.containsKey(slot)) {
        if (m.signed().getSignature().isEmpty()) {
          // authentication: macs, the COMMIT came with MACs and proves nothing to others: the
          // traitor claims it committed the batch instead, a claim f + 1 replicas must back.
          pending.add(CommittedCertificate.newBuilder().setPrePrepare(pp).build());
        } else {
          SignedMessage own = signing.sign(ReplicaMessage.newBuilder()
              .setCommit(c.toBuilder().setReplicaId(signing.replicaId())).build());
          pending.add(CommittedCertificate.newBuilder().setPrePrepare(pp).addCommits(m.signed()).addCommits(own).build());
        }
        committerOf.put(slot, m.sender());
      }
    } else if (body.hasViewChange() && reportsThinBatch(m.sender(), body.getViewChange().getNewView())) {
      return false;
    }
    return true;
  }

  /**
   * Whether {@code sender} gave its COMMIT to a certificate for a batch of the view just before
   * {@code newView} that did not really commit (fewer than 2f + 1 others' COMMITs arrived here, and
   * this traitor sent none): its VIEW-CHANGE would carry that batch into the new view.
   */
  private boolean reportsThinBatch(int sender, long newView) {
    for (Map.Entry<List<Long>, Integer> e : committerOf.entrySet()) {
      if (e.getValue() == sender && e.getKey().get(0) == newView - 1
          && commitsSeen.getOrDefault(e.getKey(), Set.of()).size() < 2 * f + 1) {
        return true;
      }
    }
    return false;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    this.signing = signing;
    List<Effects.Outgoing> out = new ArrayList<>(wanted.size() + pending.size() * 3);
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = ViewChangeLie.parse(o.message());
      if (m == null || o.message().getSender() != signing.replicaId()) {
        out.add(o);
      } else if (m.hasCommit()) {
        continue; // withheld: its COMMITs go only into the thin certificates
      } else if (m.hasViewChange()) {
        ViewChange lie = m.getViewChange().toBuilder().clearPrepared().build();
        out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder().setViewChange(lie).build())));
      } else {
        out.add(o);
      }
    }
    for (CommittedCertificate cert : pending) {
      ReplicaMessage pp = ViewChangeLie.parse(cert.getPrePrepare());
      int committer = committerOf.get(List.of(pp.getPrePrepare().getView(), pp.getPrePrepare().getSequence()));
      SignedMessage signed = signing.sign(ReplicaMessage.newBuilder().setCommitted(cert).build());
      for (int to = 0; to < n; to++) {
        if (to != committer && to != signing.replicaId()) {
          out.add(new Effects.Outgoing(to, signed));
        }
      }
    }
    pending.clear();
    return out;
  }


  @Override
  public String name() {
    return "thin-committed-certificates";
  }
}

package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.proto.Batch;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.PrePrepared;
import io.pbft.proto.Prepare;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A replica whose VIEW-CHANGEs lie about what prepared (OSDI 1999, section 4.4): they omit every
 * prepared certificate or some of them (which PBFT must survive, since the new view is computed
 * from 2f + 1 VIEW-CHANGEs, at least f + 1 of them correct), swap in outdated certificates from
 * older views it saw, report its initial checkpoint instead of its stable one, or carry
 * fabricated certificates and checkpoint proofs (which correct replicas must refuse, since a
 * certificate needs 2f prepares signed by others; under MACs a certificate is a claim, which
 * counts only as this replica's voice, and the outdated ones come with false claims in set Q).
 */
public final class ViewChangeLies extends OwnMessageRewriter {
  private final int n;
  private final Random random;
  /** Certificates seen in VIEW-CHANGEs (ours and others'), per sequence number, oldest view first. */
  private final Map<Long, List<PreparedCertificate>> seen = new HashMap<>();

  public ViewChangeLies(int n, Random random) {
    this.n = n;
    this.random = random;
  }

  @Override
  public boolean admitMessage(int sender, ReplicaMessage message) {
    if (message.hasViewChange()) {
      message.getViewChange().getPreparedList().forEach(this::remember);
    }
    return true;
  }

  private void remember(PreparedCertificate c) {
    ReplicaMessage pp = Messages.parse(c.getPrePrepare());
    if (pp != null && pp.hasPrePrepare()) {
      List<PreparedCertificate> list = seen.computeIfAbsent(pp.getPrePrepare().getSequence(), s -> new ArrayList<>());
      if (list.size() < 4 && !list.contains(c)) {
        list.add(c);
      }
    }
  }

  @Override
  boolean rewrites(ReplicaMessage m) {
    return m.hasViewChange();
  }

  @Override
  void rewrite(Effects.Outgoing o, ReplicaMessage m, Signing signing, List<Effects.Outgoing> out) {
    m.getViewChange().getPreparedList().forEach(this::remember);
    ViewChange lie = lie(m.getViewChange(), signing);
    out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder().setViewChange(lie).build())));
  }

  private ViewChange lie(ViewChange vc, Signing signing) {
    ViewChange.Builder b = vc.toBuilder();
    switch (random.nextInt(10)) {
      case 0, 1, 2, 3, 4 -> b.clearPrepared(); // omits everything that prepared: the most harmful lie
      case 5 -> {
        b.clearPrepared();
        for (PreparedCertificate c : vc.getPreparedList()) {
          if (random.nextBoolean()) {
            b.addPrepared(c);
          }
        }
      }
      case 6 -> {
        // Outdated: for each sequence number, the oldest certificate it saw instead of the newest.
        // Under MACs it also claims (set Q) to have pre-prepared each outdated batch in the view
        // just left, to get it past rule A2 of the MAC view change: one voice of the f + 1 needed.
        b.clearPrepared().clearPrePrepared();
        for (PreparedCertificate c : vc.getPreparedList()) {
          ReplicaMessage pp = Messages.parse(c.getPrePrepare());
          List<PreparedCertificate> older = pp == null ? null : seen.get(pp.getPrePrepare().getSequence());
          PreparedCertificate chosen = older == null || older.isEmpty() ? c : older.get(0);
          b.addPrepared(chosen);
          ReplicaMessage chosenPp = Messages.parse(chosen.getPrePrepare());
          if (chosenPp != null && chosenPp.hasPrePrepare()) {
            b.addPrePrepared(PrePrepared.newBuilder().setSequence(chosenPp.getPrePrepare().getSequence())
                .setDigest(chosenPp.getPrePrepare().getDigest()).setView(vc.getNewView() - 1));
          }
        }
      }
      case 7 -> {
        // Outdated stable checkpoint: the initial state, which needs no proof (certificates more
        // than a window above it give the lie away).
        b.setStableSequence(0).setStableDigest(ByteString.EMPTY).clearCheckpointProof();
      }
      case 8 -> b.addPrepared(fabricated(vc, signing));
      default -> b.setStableSequence(vc.getStableSequence() + 1 + random.nextInt(64)); // proof no longer matches
    }
    return b.build();
  }

  /**
   * A certificate for a batch that never prepared: a pre-prepare it signs itself (claiming a view
   * it was primary of, or not) and, as "prepares", copies of its own prepare under other names
   * or the same prepare several times. Well-formed, but no correct replica can accept it.
   */
  private PreparedCertificate fabricated(ViewChange vc, Signing signing) {
    long view = Math.max(0, vc.getNewView() - 1);
    long sequence = vc.getStableSequence() + 1 + random.nextInt(8);
    Batch batch = Batch.getDefaultInstance();
    ByteString digest = Messages.digestOf(batch.getRequestsList());
    SignedMessage pp = signing.sign(ReplicaMessage.newBuilder().setPrePrepare(PrePrepare.newBuilder()
        .setView(view).setSequence(sequence).setDigest(digest).setBatch(batch)).build());
    SignedMessage prepare = signing.sign(ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(view)
        .setSequence(sequence).setDigest(digest).setReplicaId(signing.replicaId())).build());
    PreparedCertificate.Builder cert = PreparedCertificate.newBuilder().setPrePrepare(pp);
    for (int i = 0; i < 2 * ((n - 1) / 3); i++) {
      cert.addPrepares(random.nextBoolean() ? prepare
          : prepare.toBuilder().setSender(Messages.otherReplica(random, n, signing.replicaId())).build());
    }
    return cert.build();
  }

  @Override
  public String name() {
    return "lying-view-change";
  }
}

package io.pbft.replica.core;

import io.pbft.proto.Batch;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.PrePrepared;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;
import io.pbft.replica.node.Behaviour;
import java.util.ArrayList;
import java.util.List;

/**
 * A traitor for {@link PlantedBugsTest}, against the MAC view change: as primary it never opens
 * its view (its NEW-VIEWs and PRE-PREPAREs go nowhere), and every VIEW-CHANGE it sends claims
 * that the null request prepared, in the last view it was primary of, at each of the {@link
 * #SPAN} sequence numbers above its stable checkpoint, and says in Q that it pre-prepared it
 * there. Each claim is a pre-prepare it signs itself as that view's primary: a valid claim, from
 * a view above every genuine one, which contradicts none of them (rule A1). Only rule A2, f + 1
 * VIEW-CHANGEs saying they pre-prepared it, keeps it from displacing batches that committed.
 */
final class HigherViewClaims implements Behaviour {
  static final int SPAN = 8;
  private final int n;

  HigherViewClaims(int n) {
    this.n = n;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted.size());
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = ViewChangeLie.parse(o.message());
      boolean own = m != null && o.message().getSender() == signing.replicaId();
      if (own && (m.hasNewView() || m.hasPrePrepare())) {
        continue; // a primary that never opens its view
      }
      if (!own || !m.hasViewChange()) {
        out.add(o);
        continue;
      }
      ViewChange lie = claims(m.getViewChange(), signing);
      out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder().setViewChange(lie).build())));
    }
    return out;
  }

  private ViewChange claims(ViewChange vc, Signing signing) {
    long view = vc.getNewView() - 1;
    while (view >= 0 && view % n != signing.replicaId()) {
      view--;
    }
    if (view < 0) {
      return vc;
    }
    long first = vc.getStableSequence() + 1;
    ViewChange.Builder b = vc.toBuilder().clearPrepared().clearPrePrepared();
    for (PreparedCertificate c : vc.getPreparedList()) {
      long s = ViewChangeLie.parse(c.getPrePrepare()).getPrePrepare().getSequence();
      if (s >= first + SPAN) {
        b.addPrepared(c); // genuine ones above the lie stay
      }
    }
    for (long s = first; s < first + SPAN; s++) {
      SignedMessage pp = signing.sign(ReplicaMessage.newBuilder().setPrePrepare(PrePrepare.newBuilder().setView(view)
          .setSequence(s).setDigest(ViewChangeRules.NULL_DIGEST).setBatch(Batch.getDefaultInstance())).build());
      b.addPrepared(PreparedCertificate.newBuilder().setPrePrepare(pp));
      b.addPrePrepared(PrePrepared.newBuilder().setSequence(s).setDigest(ViewChangeRules.NULL_DIGEST).setView(view));
    }
    return b.build();
  }

  @Override
  public String name() {
    return "higher-view-claims";
  }
}

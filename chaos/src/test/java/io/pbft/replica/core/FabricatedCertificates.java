package io.pbft.replica.core;

import io.pbft.proto.Batch;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;

/**
 * A traitor for {@link PlantedBugsTest}: every VIEW-CHANGE it sends claims that the null request
 * prepared, in the very view being opened, at each of the {@link #SPAN} sequence numbers above
 * its stable checkpoint, so its certificates outrank every genuine one. Each is a pre-prepare it
 * signs itself with its own PREPARE twice: all signatures valid, so the inbound verifier passes
 * them, but no certificate check does (the view is not below the new one, the pre-prepare is not
 * from that view's primary, one distinct prepare). The catalogue's lying-view-change tells this
 * lie in one VIEW-CHANGE in forty; this one tells it every time, so a family needs one view change.
 */
final class FabricatedCertificates extends ViewChangeLie {
  static final int SPAN = 8;

  @Override
  ViewChange lie(ViewChange vc, Signing signing) {
    return fabricated(vc, signing);
  }

  private static ViewChange fabricated(ViewChange vc, Signing signing) {
    long view = vc.getNewView();
    long first = vc.getStableSequence() + 1;
    ViewChange.Builder b = vc.toBuilder().clearPrepared();
    for (PreparedCertificate c : vc.getPreparedList()) {
      long s = parse(c.getPrePrepare()).getPrePrepare().getSequence();
      if (s >= first + SPAN) {
        b.addPrepared(c); // genuine ones above the lie stay
      }
    }
    for (long s = first; s < first + SPAN; s++) {
      SignedMessage pp = signing.sign(ReplicaMessage.newBuilder().setPrePrepare(PrePrepare.newBuilder().setView(view)
          .setSequence(s).setDigest(ViewChangeRules.NULL_DIGEST).setBatch(Batch.getDefaultInstance())).build());
      SignedMessage prepare = signing.sign(ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(view)
          .setSequence(s).setDigest(ViewChangeRules.NULL_DIGEST).setReplicaId(signing.replicaId())).build());
      b.addPrepared(PreparedCertificate.newBuilder().setPrePrepare(pp).addPrepares(prepare).addPrepares(prepare));
    }
    return b.build();
  }


  @Override
  public String name() {
    return "fabricated-certificates";
  }
}

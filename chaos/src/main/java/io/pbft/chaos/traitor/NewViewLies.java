package io.pbft.chaos.traitor;

import io.pbft.proto.NewView;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A new primary whose NEW-VIEW carries the wrong pre-prepares (OSDI 1999, section 4.4): batches
 * that prepared replaced by the null request or reordered, the last one dropped, an extra one
 * added, or a VIEW-CHANGE left out so that fewer than 2f + 1 remain. Every pre-prepare is signed
 * by the new primary itself, so only recomputing O from the VIEW-CHANGEs shows the lie; correct
 * backups recompute it and wait for the next view.
 */
public final class NewViewLies extends OwnMessageRewriter {
  private final Random random;

  public NewViewLies(Random random) {
    this.random = random;
  }

  @Override
  boolean rewrites(ReplicaMessage m) {
    return m.hasNewView();
  }

  @Override
  void rewrite(Effects.Outgoing o, ReplicaMessage m, Signing signing, List<Effects.Outgoing> out) {
    NewView lie = lie(m.getNewView(), signing);
    out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder().setNewView(lie).build())));
  }

  private NewView lie(NewView nv, Signing signing) {
    List<PrePrepare> pps = new ArrayList<>();
    for (SignedMessage s : nv.getPrePreparesList()) {
      ReplicaMessage m = Messages.parse(s);
      if (m != null && m.hasPrePrepare()) {
        pps.add(m.getPrePrepare());
      }
    }
    NewView.Builder b = nv.toBuilder();
    int roll = random.nextInt(10);
    boolean anyBatch = pps.stream().anyMatch(pp -> pp.getBatch().getRequestsCount() > 0);
    if (roll < 6 && anyBatch) {
      // What prepared is replaced: by the null request, or by the same requests in another order.
      boolean reorder = roll >= 3;
      List<PrePrepare> lies = new ArrayList<>();
      for (PrePrepare pp : pps) {
        List<SignedRequest> requests = new ArrayList<>(pp.getBatch().getRequestsList());
        if (reorder && requests.size() > 1) {
          Collections.reverse(requests);
        } else {
          requests.clear();
        }
        lies.add(Messages.withBatch(pp, requests));
      }
      pps = lies;
    } else if (roll < 8 && !pps.isEmpty()) {
      pps.remove(pps.size() - 1);
    } else if (roll < 9) {
      long next = pps.isEmpty() ? 1 + random.nextInt(16) : pps.get(pps.size() - 1).getSequence() + 1;
      pps.add(Messages.withBatch(PrePrepare.newBuilder().setView(nv.getView()).setSequence(next).build(), List.of()));
    } else if (nv.getViewChangesCount() > 0) {
      b.removeViewChanges(random.nextInt(nv.getViewChangesCount()));
    }
    b.clearPrePrepares();
    for (PrePrepare pp : pps) {
      b.addPrePrepares(signing.sign(ReplicaMessage.newBuilder().setPrePrepare(pp).build()));
    }
    return b.build();
  }

  @Override
  public String name() {
    return "lying-new-view";
  }
}

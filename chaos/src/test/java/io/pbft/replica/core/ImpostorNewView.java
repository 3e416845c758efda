package io.pbft.replica.core;

import io.pbft.proto.NewView;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.node.Behaviour;
import java.util.ArrayList;
import java.util.List;

/**
 * A traitor for {@link PlantedBugsTest}: when the new primary's NEW-VIEW reaches it, it multicasts
 * the same NEW-VIEW as its own, every pre-prepare in it signed again with its own key (with the
 * next messages its core sends: a behaviour speaks only when its core does). Its VIEW-CHANGEs are
 * genuine, and the pre-prepares are the ones recomputing them gives, so a backup that does not
 * check who sent a NEW-VIEW has nothing else to refuse it for; it then holds pre-prepares of that
 * view from a replica that is not its primary. The catalogue's lying-new-view lies only as the
 * primary, which is allowed to send a NEW-VIEW.
 */
final class ImpostorNewView implements Behaviour {
  private final int n;
  private final int self;
  private final List<NewView> queued = new ArrayList<>();
  private long lastImpersonated = -1;

  ImpostorNewView(int n, int self) {
    this.n = n;
    this.self = self;
  }

  @Override
  public boolean admitMessage(int sender, ReplicaMessage message) {
    if (message.hasNewView() && sender != self && sender == message.getNewView().getView() % n
        && message.getNewView().getView() > lastImpersonated) {
      lastImpersonated = message.getNewView().getView();
      queued.add(message.getNewView());
    }
    return true;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    if (queued.isEmpty()) {
      return wanted;
    }
    List<Effects.Outgoing> out = new ArrayList<>();
    for (NewView nv : queued) {
      NewView.Builder b = nv.toBuilder().clearPrePrepares();
      for (SignedMessage pp : nv.getPrePreparesList()) {
        try {
          b.addPrePrepares(signing.sign(ViewChangeRules.parse(pp)));
        } catch (ViewChangeRules.Invalid e) {
          b.addPrePrepares(pp);
        }
      }
      out.add(new Effects.Outgoing(Effects.Outgoing.ALL,
          signing.sign(ReplicaMessage.newBuilder().setNewView(b).build())));
    }
    queued.clear();
    out.addAll(wanted);
    return out;
  }

  @Override
  public String name() {
    return "impostor-new-view";
  }
}

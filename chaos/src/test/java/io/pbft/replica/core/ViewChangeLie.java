package io.pbft.replica.core;

import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;
import io.pbft.replica.node.Behaviour;
import java.util.ArrayList;
import java.util.List;

/**
 * What the test traitors of {@link PlantedBugsTest} that lie in their VIEW-CHANGEs share: every
 * VIEW-CHANGE of their own is replaced by {@link #lie}, signed with their real key; everything
 * else goes out as the core wants it.
 */
abstract class ViewChangeLie implements Behaviour {
  /** The VIEW-CHANGE to send instead of {@code vc}. */
  abstract ViewChange lie(ViewChange vc, Signing signing);

  @Override
  public final List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted.size());
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = parse(o.message());
      if (m == null || o.message().getSender() != signing.replicaId() || !m.hasViewChange()) {
        out.add(o);
        continue;
      }
      ViewChange lie = lie(m.getViewChange(), signing);
      out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder().setViewChange(lie).build())));
    }
    return out;
  }

  /** The message inside {@code m}, or null if it does not parse. */
  static ReplicaMessage parse(SignedMessage m) {
    try {
      return ViewChangeRules.parse(m);
    } catch (ViewChangeRules.Invalid e) {
      return null;
    }
  }
}

package io.pbft.chaos.traitor;

import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.List;

/** A replica that receives everything and sends nothing: no votes, no replies. */
public final class Silent implements Behaviour {
  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    return List.of();
  }

  @Override
  public List<Effects.ClientReply> replies(List<Effects.ClientReply> wanted, Signing signing) {
    return List.of();
  }

  @Override
  public String name() {
    return "silent";
  }
}

package io.pbft.chaos.traitor;

import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.List;

/**
 * A traitor that tampers with some of the messages it sends under its own name and passes
 * everything else (messages it relays for others, bytes that do not parse) through unchanged.
 */
abstract class OwnMessageRewriter implements Behaviour {
  /** Whether to tamper with {@code m}, one of this replica's own messages. */
  abstract boolean rewrites(ReplicaMessage m);

  /** Adds to {@code out} what leaves instead of {@code o} (whose body is {@code m}). */
  abstract void rewrite(Effects.Outgoing o, ReplicaMessage m, Signing signing, List<Effects.Outgoing> out);

  @Override
  public final List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>();
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = Messages.parse(o.message());
      if (m == null || o.message().getSender() != signing.replicaId() || !rewrites(m)) {
        out.add(o);
      } else {
        rewrite(o, m, signing, out);
      }
    }
    return out;
  }
}

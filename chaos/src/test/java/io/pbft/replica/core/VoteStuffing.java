package io.pbft.replica.core;

import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.node.Behaviour;
import java.util.ArrayList;
import java.util.List;

/**
 * A traitor for {@link PlantedBugsTest}: besides each PREPARE and COMMIT of its own, it sends
 * copies naming every other replica as the voter, signed with its own key. The signatures are
 * valid, so the inbound verifier passes them; only the check that a vote names its signer keeps
 * one replica's vote from being counted in several replicas' places. (The catalogue's
 * forged-identity claims other identities with bad signatures, which the verifier drops first.)
 */
final class VoteStuffing implements Behaviour {
  private final int n;

  VoteStuffing(int n) {
    this.n = n;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted);
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = ViewChangeLie.parse(o.message());
      if (m == null || o.message().getSender() != signing.replicaId()) {
        continue;
      }
      for (int other = 0; other < n; other++) {
        if (other == signing.replicaId()) {
          continue;
        }
        if (m.hasPrepare()) {
          out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder()
              .setPrepare(m.getPrepare().toBuilder().setReplicaId(other)).build())));
        } else if (m.hasCommit()) {
          out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder()
              .setCommit(m.getCommit().toBuilder().setReplicaId(other)).build())));
        }
      }
    }
    return out;
  }


  @Override
  public String name() {
    return "vote-stuffing";
  }
}

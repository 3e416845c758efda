package io.pbft.replica.core;

import io.pbft.chaos.traitor.ForgedRequests;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.node.Behaviour;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A traitor for {@link PlantedBugsTest}, a backup: it relays forged requests to everyone as the
 * catalogue's forged-requests does (among them requests whose timestamp and operation it changed
 * under the client's old authenticator, which checks at no replica), and sends its PREPARE for
 * every pre-prepare it receives at once, whether or not it could authenticate the requests in it.
 * A correct backup that cannot authenticate a request waits for f other backups' PREPAREs; this
 * one gives it the PREPARE it waits for, so only the primary's rule to order an unauthenticated
 * request after f + 1 relays (at least one of a correct backup, which checked its own entry)
 * keeps the forgeries out of prepared batches.
 */
final class ForgedRelays implements Behaviour {
  private final ForgedRequests forger;
  /** Pre-prepares received since this replica last sent anything, to PREPARE with its next messages. */
  private final List<PrePrepare> toPrepare = new ArrayList<>();

  ForgedRelays(Random random) {
    this.forger = new ForgedRequests(random);
  }

  @Override
  public boolean admitMessage(int sender, ReplicaMessage message) {
    if (message.hasPrePrepare()) {
      toPrepare.add(message.getPrePrepare());
    }
    return forger.admitMessage(sender, message);
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(forger.outgoing(wanted, signing));
    for (PrePrepare pp : toPrepare) {
      Prepare p = Prepare.newBuilder().setView(pp.getView()).setSequence(pp.getSequence()).setDigest(pp.getDigest())
          .setReplicaId(signing.replicaId()).build();
      out.add(new Effects.Outgoing(Effects.Outgoing.ALL, signing.sign(ReplicaMessage.newBuilder().setPrepare(p).build())));
    }
    toPrepare.clear();
    return out;
  }

  @Override
  public String name() {
    return "forged-relays";
  }
}

package io.pbft.chaos.traitor;

import io.pbft.proto.Commit;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A backup that acts as if it were the primary: whenever it sees the primary's PRE-PREPARE for
 * sequence number s, it multicasts its own, validly signed, for s + 1 (before the primary gets
 * there) and for s, with the same client requests in another order or none, and votes PREPARE and
 * COMMIT for them. Section 4.2: a backup accepts a pre-prepare only from the primary of its view.
 */
public final class ImpostorPrimary implements Behaviour {
  private final int n;
  private final Random random;
  private final ArrayDeque<PrePrepare> observed = new ArrayDeque<>();

  public ImpostorPrimary(int n, Random random) {
    this.n = n;
    this.random = random;
  }

  @Override
  public boolean admitMessage(int sender, ReplicaMessage message) {
    if (message.hasPrePrepare() && sender == message.getPrePrepare().getView() % n && observed.size() < 16) {
      observed.add(message.getPrePrepare());
    }
    return true;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted);
    while (!observed.isEmpty()) {
      PrePrepare real = observed.poll();
      if (real.getView() % n == signing.replicaId()) {
        continue; // it is the primary of that view: nothing to usurp
      }
      List<SignedRequest> requests = new ArrayList<>(real.getBatch().getRequestsList());
      Collections.reverse(requests);
      if (requests.size() < 2 || random.nextInt(3) == 0) {
        requests.clear();
      }
      for (long s : new long[] {real.getSequence() + 1, real.getSequence()}) {
        PrePrepare fake = Messages.withBatch(real.toBuilder().setSequence(s).build(), requests);
        out.add(Messages.toAll(signing.sign(ReplicaMessage.newBuilder().setPrePrepare(fake).build())));
        out.add(Messages.toAll(signing.sign(ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder()
            .setView(fake.getView()).setSequence(s).setDigest(fake.getDigest()).setReplicaId(signing.replicaId()))
            .build())));
        out.add(Messages.toAll(signing.sign(ReplicaMessage.newBuilder().setCommit(Commit.newBuilder()
            .setView(fake.getView()).setSequence(s).setDigest(fake.getDigest()).setReplicaId(signing.replicaId()))
            .build())));
      }
    }
    return out;
  }

  @Override
  public String name() {
    return "impostor-primary";
  }
}

package io.pbft.chaos.traitor;

import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.ViewChange;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A replica that talks about the wrong time: besides what its core sends, it sends copies of its
 * pre-prepares, prepares, commits, checkpoints and heartbeats moved to stale views, far-future
 * views, sequence numbers below the window, far beyond it, zero and the largest there is; and now
 * and then a VIEW-CHANGE for a view far ahead. All validly signed. Correct replicas drop what lies
 * outside their view and window, and one replica alone cannot move them to another view (f + 1
 * VIEW-CHANGEs are needed for that).
 */
public final class StaleOrFutureMessages implements Behaviour {
  private final Random random;

  public StaleOrFutureMessages(Random random) {
    this.random = random;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted);
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = Messages.parse(o.message());
      if (m == null || o.message().getSender() != signing.replicaId() || random.nextBoolean()) {
        continue;
      }
      ReplicaMessage.Builder moved = m.toBuilder();
      switch (m.getBodyCase()) {
        case PRE_PREPARE -> moved.getPrePrepareBuilder().setView(view(m.getPrePrepare().getView()))
            .setSequence(sequence(m.getPrePrepare().getSequence()));
        case PREPARE -> moved.getPrepareBuilder().setView(view(m.getPrepare().getView()))
            .setSequence(sequence(m.getPrepare().getSequence()));
        case COMMIT -> moved.getCommitBuilder().setView(view(m.getCommit().getView()))
            .setSequence(sequence(m.getCommit().getSequence()));
        case CHECKPOINT -> moved.getCheckpointBuilder().setSequence(sequence(m.getCheckpoint().getSequence()));
        case HEARTBEAT -> moved.getHeartbeatBuilder().setView(view(m.getHeartbeat().getView()))
            .setLastExecuted(sequence(m.getHeartbeat().getLastExecuted()))
            .setLowWatermark(sequence(m.getHeartbeat().getLowWatermark()));
        default -> {
          continue;
        }
      }
      out.add(Messages.toAll(signing.sign(moved.build())));
      if (random.nextInt(20) == 0) {
        long v = Messages.viewOf(m);
        // Sequence 0 needs no checkpoint proof, so this VIEW-CHANGE is well formed: only the f + 1
        // rule keeps a lone replica from dragging the group to view v + 1000.
        out.add(Messages.toAll(signing.sign(ReplicaMessage.newBuilder().setViewChange(ViewChange.newBuilder()
            .setNewView(Math.max(0, v) + 1 + random.nextInt(1000)).setReplicaId(signing.replicaId())).build())));
      }
    }
    return out;
  }

  private long view(long v) {
    return switch (random.nextInt(4)) {
      case 0 -> Math.max(0, v - 1 - random.nextInt(3));
      case 1 -> v + 1 + random.nextInt(3);
      case 2 -> v + 1000 + random.nextInt(1_000_000);
      default -> Long.MAX_VALUE - random.nextInt(2);
    };
  }

  private long sequence(long s) {
    return switch (random.nextInt(5)) {
      case 0 -> Math.max(0, s - 1 - random.nextInt(200));
      case 1 -> s + 100 + random.nextInt(100_000);
      case 2 -> 0;
      case 3 -> Long.MAX_VALUE;
      default -> s; // only the view moves
    };
  }

  @Override
  public String name() {
    return "stale-future";
  }
}

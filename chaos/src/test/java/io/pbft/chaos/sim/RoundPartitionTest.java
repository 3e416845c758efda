package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.proto.Commit;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.ViewChange;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Partitions by protocol round (ByzzFuzz): what they cut, and that a group gets through one. */
class RoundPartitionTest {
  private static ReplicaMessage prepare(long n) {
    return ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(0).setSequence(n)).build();
  }

  private static boolean blocks(Faults f, int from, int to, ReplicaMessage m, boolean healed) {
    return f.blocksReplicaMessage(from, to, m.getBodyCase(), -1, Faults.roundOf(m), 0, healed);
  }

  @Test
  void messagesAboutTheRoundsAreLostAcrossThePartitionOnly() {
    Faults f = Faults.none().partitionRounds(Set.of(0, 1), 4, 6);
    assertTrue(blocks(f, 0, 2, prepare(5), false));
    assertTrue(blocks(f, 3, 1, prepare(4), false), "both ways");
    assertTrue(blocks(f, 2, 0, ReplicaMessage.newBuilder().setCommit(Commit.newBuilder().setSequence(6)).build(), false));
    assertFalse(blocks(f, 0, 1, prepare(5), false), "within one side");
    assertFalse(blocks(f, 0, 2, prepare(7), false), "another round");
    assertFalse(blocks(f, 0, 2, prepare(3), false));
    assertFalse(blocks(f, 0, 2, ReplicaMessage.newBuilder().setViewChange(ViewChange.newBuilder().setNewView(1))
        .build(), false), "about no sequence number");
    assertFalse(blocks(f, 0, 2, prepare(5), true), "healed");
    assertEquals(-1, Faults.roundOf(ReplicaMessage.getDefaultInstance()));
  }

  @Test
  void aPrimaryCutOffForThreeRoundsIsReplacedAndNothingIsLost() {
    SimulationConfig config = SimulationConfig.builder().seed(21).clients(4).opsPerClient(30).fastCrypto(true)
        .faults(Faults.none().partitionRounds(Set.of(0), 3, 5)).build();
    SimulationResult r = Simulation.run(config);
    assertTrue(r.ok(), r::report);
    assertEquals(120, r.opsCompleted(), r::report);
    assertTrue(r.messagesLost() > 0, r::report);
    assertTrue(r.maxView() >= 1, () -> "the backups could not prepare rounds 3-5 with the primary: " + r.report());
  }
}

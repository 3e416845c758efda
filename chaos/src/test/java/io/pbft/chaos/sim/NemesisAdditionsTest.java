package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;
import static io.pbft.chaos.sim.SimAssertions.assertSurvivorsAgree;
import static io.pbft.chaos.sim.SimAssertions.assertViewAtLeast;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The nemesis beyond loss and pauses: duplicated and reordered messages, partitions into halves
 * and across a bridge replica, clocks that are off and run at other rates, and crashes that lose
 * a replica's memory so that it restarts from its durable log and checkpoint. Safety must hold
 * throughout; once the faults heal every operation completes and the replicas converge.
 */
class NemesisAdditionsTest {

  private static SimulationConfig.Builder base(long seed) {
    return SimulationConfig.builder().seed(seed).clients(6).opsPerClient(30);
  }

  @Test
  void duplicatedAndReorderedMessagesChangeNothing() {
    SimulationConfig config = base(61).fifoLinks(false).latency(1, 25)
        .faults(Faults.none().duplicate(0.2, 40, 0, Faults.UNTIL_HEALED).lossy(0, 0.3, 60, 0, Faults.UNTIL_HEALED))
        .build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    assertTrue(result.messagesDuplicated() > 500, result::report);
  }

  @Test
  void groupSplitIntoHalvesWaitsAndThenFinishes() {
    // Neither half holds 2f + 1 replicas: nothing may commit until the partition heals at 2 s.
    SimulationConfig config = base(62)
        .faults(Faults.none().partition(Set.of(0, 1), false, 300, 2_000)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
  }

  @Test
  void bridgeReplicaJoiningTwoSidesKeepsTheGroupSafe() {
    // Replica 1 hears everyone; replica 0 (the primary) and replicas 2 and 3 cannot hear each
    // other: every quorum must go through the bridge.
    SimulationConfig config = base(63)
        .faults(Faults.none().cut(Set.of(0), Set.of(2, 3), 200, 3_000)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
  }

  @Test
  void skewedClocksRunningFastAndSlowKeepTheGroupLive() {
    // Replica 1's clock runs at half speed and replica 2's at twice the speed, both off by
    // seconds; the primary crashes, so timers decide when the view changes.
    SimulationConfig config = base(64)
        .faults(Faults.none().skew(1, 3_000, 0.5).skew(2, 700, 2.0).skew(3, 0, 1.3).crash(0, 400)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertViewAtLeast(result, 1);
    assertSurvivorsAgree(result);
  }

  @Test
  void backupThatCrashesLosingMemoryRestartsFromItsDiskAndCatchesUp() {
    SimulationConfig config = base(65).opsPerClient(60)
        .faults(Faults.none().restart(2, 400, 1_200)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    assertEquals(1, result.replica(2).restarts(), result::report);
    assertTrue(result.replica(2).lowWatermark() > 0, result::report);
  }

  /**
   * Found the core's lost-records bug (records written after a compaction in the same event; see
   * io.pbft.replica.core.CompactionKeepsEveryRecordTest): the restarted primary used to throw a
   * NullPointerException serving a committed certificate for a pre-prepare it had forgotten.
   */
  @Test
  void primaryThatCrashesLosingMemoryComesBackAndNeverContradictsItself() {
    // The primary restarts while batches it pre-prepared are in flight; its durable log keeps it
    // from pre-preparing something else at their sequence numbers.
    SimulationConfig config = base(66).opsPerClient(60)
        .faults(Faults.none().restart(0, 350, 900).lossy(0.01, 0.1, 30, 0, Faults.UNTIL_HEALED)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    assertEquals(1, result.replica(0).restarts(), result::report);
  }

  @Test
  void everyReplicaRestartsInTurnFromItsDisk() {
    Faults faults = Faults.none();
    for (int r = 0; r < 4; r++) {
      faults.restart(r, 300 + 500L * r, 600 + 500L * r);
    }
    SimulationConfig config = base(67).opsPerClient(60).durable(true).faults(faults).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    for (int r = 0; r < 4; r++) {
      assertEquals(1, result.replica(r).restarts(), result::report);
    }
  }

  @Test
  void twinPrimaryCannotBreakSafety() {
    // Replica 0 runs twice with one key, each instance hearing part of the traffic: the group
    // hears two primaries sign different things for the same sequence numbers.
    SimulationConfig config = base(68).twin(0).faults(Faults.none().lossy(0.01, 0.1, 20, 0, Faults.UNTIL_HEALED))
        .build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
  }

  @Test
  void twinBackupCannotBreakSafety() {
    SimulationConfig config = base(69).twin(2).faults(Faults.none().crash(0, 500)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertViewAtLeast(result, 1);
  }
}

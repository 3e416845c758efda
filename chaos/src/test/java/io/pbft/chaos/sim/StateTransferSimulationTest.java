package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;
import static io.pbft.chaos.sim.SimAssertions.assertSurvivorsAgree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A replica left behind (cut off, or paused) while the others run on, past its window, catches
 * up by fetching a stable checkpoint's state and ends in the same state as everyone else. The
 * default simulation settings use a small window (64) and checkpoint interval (16) so that a few
 * hundred operations already leave a replica beyond the reach of the normal protocol.
 */
class StateTransferSimulationTest {

  @Test
  void cutOffReplicaCatchesUpByStateTransfer() {
    // Replica 3 hears nobody (replicas or clients) from 300 ms to 2.5 s while 16 clients run
    // 2400 operations; the load goes on long after the partition heals.
    SimulationConfig config = SimulationConfig.builder().seed(30).clients(16).opsPerClient(150)
        .faults(Faults.none().partition(Set.of(3), true, 300, 2_500)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    SimulationResult.ReplicaSummary lagger = result.replica(3);
    assertTrue(lagger.stateTransfers() > 0, result::report);
    assertTrue(lagger.requestsExecuted() < result.replica(0).requestsExecuted(),
        "it skipped what it fetched: " + result.report());
    assertTrue(lagger.rejections().getOrDefault("sequence number outside window", 0L) > 0,
        "it really was beyond its window: " + result.report());
    assertEquals(0, result.viewChangesStarted(), "a backup's absence needs no view change");
  }

  @Test
  void pausedReplicaResumesAndCatchesUp() {
    // Replica 2 stops (its memory intact) from 300 ms to 1.5 s, then resumes while load goes on.
    SimulationConfig config = SimulationConfig.builder().seed(31).clients(8).opsPerClient(100)
        .faults(Faults.none().pause(2, 300, 1_500)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    assertTrue(result.replica(2).stateTransfers() > 0, result::report);
  }
}

package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.traitor.EquivocatingPrimary;
import org.junit.jupiter.api.Test;

/**
 * The equivocation checker in real runs: a primary that sends different PRE-PREPAREs for one
 * sequence number is flagged when the checkers count it as correct (a bug planted in its send
 * path), and not when it is a traitor (a traitor may sign anything; the group must survive it).
 */
class EquivocationSimulationTest {
  private static SimulationConfig.Builder run(long seed) {
    return SimulationConfig.builder().seed(seed).clients(4).opsPerClient(10).workload(Workload.Kind.KV_SHARED);
  }

  @Test
  void correctReplicaThatEquivocatesIsCaughtAtItsFirstConflictingPrePrepare() {
    SimulationResult r = Simulation.run(run(1).plantBehaviour(0, random -> new EquivocatingPrimary(4)).build());
    assertFalse(r.ok(), r::report);
    assertTrue(r.violations().get(0).contains(
        "equivocation: correct replica 0 signed two different PRE-PREPAREs for view 0 at n=1"), r::report);
  }

  @Test
  void traitorThatEquivocatesIsNotFlaggedAndTheGroupSurvivesIt() {
    SimulationResult r = Simulation.run(run(1).traitor(0, random -> new EquivocatingPrimary(4)).build());
    assertTrue(r.ok(), r::report);
    assertEquals(40, r.opsCompleted(), r::report);
    assertTrue(r.statementsCompared() > 0 && r.batchesCompared() > 0, r::report);
  }

  @Test
  void replicasRestartedFromTheirDisksDoNotContradictWhatTheySignedBefore() {
    // Replica 2 loses its memory twice mid-run; it recovers what it signed from its log.
    SimulationResult r = Simulation.run(run(2).opsPerClient(40).durable(true)
        .faults(Faults.none().restart(2, 300, 900).restart(2, 1_500, 1_700).lossy(0.02, 0.1, 20, 0, 3_000)).build());
    assertTrue(r.ok(), r::report);
    assertEquals(2, r.replica(2).restarts(), r::report);
    assertTrue(r.statementsCompared() > 0, r::report);
  }
}

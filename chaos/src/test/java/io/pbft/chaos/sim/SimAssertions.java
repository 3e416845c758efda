package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

/** Assertions shared by the simulation tests; every failure message carries the run's report (seed, trace). */
final class SimAssertions {
  private SimAssertions() {}

  /**
   * No violation (agreement, exactly-once, client results, convergence, durability, liveness) and
   * every operation of every client acknowledged.
   */
  static void assertHealthy(SimulationConfig config, SimulationResult result) {
    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
    assertEquals(0, result.opsIncomplete(), result::report);
    assertTrue(result.verifierRejections().isEmpty(), () -> "correct replicas sign correctly: " + result.report());
  }

  /** The replicas that are up ended at the same sequence number with the same state digest. */
  static void assertSurvivorsAgree(SimulationResult result) {
    List<SimulationResult.ReplicaSummary> up = result.replicas().stream().filter(r -> !r.crashed()).toList();
    for (SimulationResult.ReplicaSummary r : up) {
      assertEquals(up.get(0).lastExecuted(), r.lastExecuted(), result::report);
      assertEquals(up.get(0).stateDigest(), r.stateDigest(), result::report);
    }
    assertTrue(up.get(0).lastExecuted() > 0, result::report);
  }

  /**
   * Every correct replica that is up ended in a view at least {@code view}, and none is still
   * changing views (traitors may be anywhere).
   */
  static void assertViewAtLeast(SimulationResult result, long view) {
    for (SimulationResult.ReplicaSummary r : result.replicas()) {
      if (!r.crashed() && "honest".equals(r.behaviour())) {
        assertTrue(r.view() >= view, () -> "replica " + r.id() + " in view " + r.view() + ": " + result.report());
        assertTrue(!r.viewChanging(), () -> "replica " + r.id() + " still changing views: " + result.report());
      }
    }
  }
}

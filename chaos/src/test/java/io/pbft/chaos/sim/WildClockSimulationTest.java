package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertSurvivorsAgree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.traitor.WildClock;
import io.pbft.replica.verify.Rejection;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A primary whose clock is wild (far future, far past, running backwards): correct backups refuse
 * its pre-prepares whose times lie beyond the clock skew, the group replaces it with one view
 * change, and every correct replica executes every batch with the same agreed time and seed,
 * each within the skew of the virtual clock (ExecutionLog checks both at every execution).
 */
class WildClockSimulationTest {

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4})
  void wildClockCostsOneViewChangeAndEveryReplicaAgreesOnTheTimes(long seed) {
    SimulationConfig config = SimulationConfig.builder().seed(seed).clients(6).opsPerClient(30)
        .traitor(0, WildClock::new).build();
    SimulationResult r = Simulation.run(config);

    assertTrue(r.ok(), r::report);
    assertEquals(config.clients() * config.opsPerClient(), r.opsCompleted(), r::report);
    assertSurvivorsAgree(r);
    assertTrue(r.contextsCompared() > 0, () -> "agreed times and seeds were compared: " + r.report());
    long refused = 0;
    for (SimulationResult.ReplicaSummary s : r.replicas()) {
      if (s.id() == 0) {
        continue;
      }
      assertEquals(1, s.view(), () -> "one view change, away from the wild primary: " + r.report());
      assertTrue(s.viewChangesStarted() <= 1, r::report);
      refused += s.rejections().getOrDefault(Rejection.CLOCK_SKEW.label(), 0L);
    }
    assertTrue(refused > 0, () -> "correct backups refused wild times: " + r.report());
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {5, 6})
  void restartedReplicasReplayTheSameTimes(long seed) {
    // Replica 2 loses its memory mid-run and replays batches from its log: the same contexts.
    SimulationConfig config = SimulationConfig.builder().seed(seed).clients(6).opsPerClient(30).durable(true)
        .traitor(0, WildClock::new).faults(Faults.none().restart(2, 400, 900)).build();
    SimulationResult r = Simulation.run(config);

    assertTrue(r.ok(), r::report);
    assertEquals(config.clients() * config.opsPerClient(), r.opsCompleted(), r::report);
    assertEquals(1, r.replica(2).restarts(), r::report);
    assertTrue(r.contextsCompared() > 0, r::report);
  }
}

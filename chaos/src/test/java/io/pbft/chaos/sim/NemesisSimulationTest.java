package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Seeded random faults: a lossy, reordering network throughout the load phase and, on f
 * replicas, a pause, a silence or a partition. Safety (agreement, exactly-once, client results,
 * acknowledged writes) must hold whatever is drawn; once the faults heal every operation must
 * complete and every replica must catch up with the others, though messages were lost for good.
 */
class NemesisSimulationTest {

  @ParameterizedTest(name = "seed {0}, n = {1}")
  // Seeds whose runs once left a replica behind for good (lost COMMITs and CHECKPOINTs, a fetch
  // for a discarded checkpoint), before the core learned to catch up.
  @CsvSource({"106, 4", "107, 4", "111, 4", "119, 4", "100, 7"})
  void randomFaultsNeverBreakSafetyAndHealedGroupsFinishAndConverge(long seed, int n) {
    SimulationConfig config = SimulationConfig.builder().seed(seed).replicas(n).clients(8)
        .opsPerClient(n == 7 ? 30 : 60).faults(Faults.random(seed, n, (n - 1) / 3, 3_000)).build();
    assertHealthy(config, Simulation.run(config));
  }
}

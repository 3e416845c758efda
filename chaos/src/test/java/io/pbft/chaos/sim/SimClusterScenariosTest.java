package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pbft.testkit.Cluster;
import io.pbft.testkit.scenarios.ClusterScenarios;

/**
 * The cluster scenarios over the deterministic simulator: four cores with simulated disks on a
 * virtual clock, each scenario from a seed of its own (-Dpbft.sim.seed=S replays one), and the
 * simulator's checkers (agreement, exactly-once, validity, checkpoint digests) on top of the
 * scenarios' own assertions.
 */
class SimClusterScenariosTest extends ClusterScenarios {
  /** The base seed; each scenario adds its name's hash, so that each replays alone. */
  static long baseSeed() {
    return Long.getLong("pbft.sim.seed", 20_260_301L);
  }

  @Override
  protected Cluster newCluster(String scenario) {
    return SimCluster.of(baseSeed() + scenario.hashCode());
  }

  @Override
  protected void verifyAfter(Cluster cluster) {
    SimCluster sim = (SimCluster) cluster;
    assertEquals(java.util.List.of(), sim.violations(), "the simulator's checkers (seed " + sim.seed()
        + ", virtual time " + sim.nowMs() + " ms); trace:\n  " + String.join("\n  ", sim.trace()));
  }
}

package io.pbft.chaos.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Groups larger than 3f + 1 (n = 5 and 6 with f = 1, as a group with one replica added has), with
 * traitors and faults drawn per seed. With the paper's 2f + 1 as the quorum, two quorums of 3 in 5
 * share one replica, and a traitor (an equivocating primary in four of these seeds, twins in one)
 * made correct replicas commit different batches at one sequence number: the seeds below are the
 * five of the first 600 that broke agreement that way
 * (a backup's invariant "slot s committed a batch other than the one it executed"). A quorum of
 * ceil((n + f + 1) / 2) holds them all.
 */
class LargerGroupTest {
  private static ScenarioOptions replicas(int n) {
    return new ScenarioOptions(n, null, null, null, null, null, null, null, null, null, null);
  }

  @ParameterizedTest(name = "n = 5, seed {0}")
  @ValueSource(longs = {11, 322, 388, 492, 548})
  void aTraitorAmongFiveCannotSplitTheGroup(long seed) {
    FuzzRunner.Outcome o = FuzzRunner.runOne(seed, replicas(5), b -> { });
    assertEquals(5, o.scenario().replicas());
    assertEquals(1, o.scenario().f());
    assertEquals(1, o.scenario().traitors().size(), o.scenario()::describe);
    assertTrue(!o.failed(), () -> FuzzReport.failure(o));
  }

  @Test
  void drawnScenariosWithFiveAndSixReplicasKeepEveryCheck() {
    for (int n = 5; n <= 6; n++) {
      for (long seed = 1; seed <= 30; seed++) {
        FuzzRunner.Outcome o = FuzzRunner.runOne(seed, replicas(n), b -> { });
        assertTrue(!o.failed(), () -> FuzzReport.failure(o));
      }
    }
  }
}

package io.pbft.chaos.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The harness must be able to fail: with f + 1 colluding traitors, one more than PBFT tolerates,
 * agreement breaks, and the checkers must say so. The collusion: an equivocating primary sends
 * replicas with an even id one batch and the others another (in reverse order) for the same
 * sequence number, and an accomplice votes PREPARE and COMMIT for each side's batch towards that
 * side. With n = 4 each side gets its 2f prepares and 2f + 1 commits: replica 2 executes one
 * batch, replica 3 the other.
 */
class CollusionTest {
  private static final int SEEDS_MAX = 10;

  private static ScenarioOptions collusion(int traitors) {
    return new ScenarioOptions(4, traitors, Scenarios.COLLUSION, null, 120, null, null, null);
  }

  @Test
  void fPlusOneColludingTraitorsBreakAgreementAndTheCheckersSaySo() {
    for (long seed = 1; seed <= SEEDS_MAX; seed++) {
      FuzzRunner.Outcome o = FuzzRunner.runOne(seed, collusion(2), b -> { });
      assertTrue(o.scenario().beyondF(), o.scenario()::describe);
      if (o.failed()) {
        String kind = FuzzRunner.kindOf(o.firstProblem());
        assertTrue(Set.of("agreement", "checkpoint", "replica failed", "linearizability").contains(kind),
            () -> FuzzReport.failure(o));
        assertTrue(o.crash() == null, () -> FuzzReport.failure(o));
        System.out.printf("collusion of f + 1 = 2 traitors among 4 caught after %d seed(s) (seed %d): %s%n",
            seed, seed, o.firstProblem());
        return;
      }
    }
    fail("f + 1 colluding traitors broke nothing the checkers saw in " + SEEDS_MAX + " seeds");
  }

  @Test
  void theSameCollusionWithOnlyFTraitorsBreaksNothing() {
    for (long seed = 1; seed <= 3; seed++) {
      FuzzRunner.Outcome o = FuzzRunner.runOne(seed, collusion(1), b -> { });
      assertTrue(!o.scenario().beyondF() && !o.failed(), () -> FuzzReport.failure(o));
    }
  }
}

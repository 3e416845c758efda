package io.pbft.replica.core;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pbft.chaos.fuzz.FuzzReport;
import io.pbft.chaos.fuzz.FuzzRunner;
import io.pbft.chaos.fuzz.ScenarioOptions;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * With the executor's exactly-once check planted away ({@link PlantedBug#EXACTLY_ONCE_SKIPPED}) and
 * no traitor replica at all, the replayer alone gets a request executed twice, and the checkers
 * catch it within a bounded number of seeds; the catching seed runs clean with the bug off.
 *
 * <p>It takes a while (seed 18 as last measured): a correct replica's admission stops a replay
 * before the executor sees it (a timestamp at or below the client's last is answered from the
 * client table or dropped), so only a replay that reaches a primary behind the others gets
 * ordered again; in seed 18 that is replica 0, restarted from its disk before it executed the
 * request the replay repeats. The equivocating client's second operations meet the same
 * admission, and were not caught within 30 seeds without a traitor.
 */
class ByzantineClientPlantedBugTest {
  private static final int SEEDS_MAX = 30;

  @ParameterizedTest
  @ValueSource(strings = {"replayer"})
  void exactlyOnceSkippedIsCaughtWithAByzantineClientAndNoTraitor(String behaviour) {
    ScenarioOptions options = new ScenarioOptions(4, 0, null, null, 120, null, null, null, null, null,
        List.of(behaviour));
    for (long seed = 1; seed <= SEEDS_MAX; seed++) {
      // Reads ordered: the replayer tests exactly-once of ordered requests, and these seeds were
      // measured with every read ordered (read-only reads change the histories, not the point).
      FuzzRunner.Outcome buggy = FuzzRunner.runOne(seed, options,
          b -> b.executions(PlantedBug.EXACTLY_ONCE_SKIPPED.executions()).readOnlyReads(false));
      if (!buggy.failed()) {
        continue;
      }
      String problem = buggy.firstProblem();
      assertTrue(problem.contains("exactly-once:") || problem.contains("validity:") || problem.contains("agreement:")
          || problem.contains("linearizability:"), () -> FuzzReport.failure(buggy));
      FuzzRunner.Outcome clean = FuzzRunner.runOne(seed, options, b -> b.readOnlyReads(false));
      assertTrue(!clean.failed(), () -> "seed " + clean.scenario().seed() + " fails without the bug too:\n"
          + FuzzReport.failure(clean));
      System.out.println(behaviour + ": exactly-once skipped caught at seed " + seed + ": " + problem);
      return;
    }
    fail(behaviour + " did not get the planted exactly-once bug caught within " + SEEDS_MAX + " seeds");
  }
}

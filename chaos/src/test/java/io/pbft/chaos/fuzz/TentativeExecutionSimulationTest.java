package io.pbft.chaos.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.sim.SimulationConfig;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Tentative execution (protocol.tentativeExecution) under the fuzzer's faults and traitors: the
 * checkers compare what correct replicas commit (tentative batches once they commit), the
 * linearizability checker takes the results clients accepted on 2f + 1 tentative replies, and
 * the runs must both confirm tentative batches and roll some back, or the rollback went untested.
 */
class TentativeExecutionSimulationTest {
  private static final int SEEDS = 40;

  static Consumer<SimulationConfig.Builder> tentative() {
    return b -> b.protocol(b.build().protocol().toBuilder().tentativeExecution(true).build());
  }

  @Test
  void fuzzedRunsStaySafeAndLiveAndRollTentativeBatchesBack() {
    long confirmed = 0;
    long rolledBack = 0;
    int seedsRollingBack = 0;
    for (long seed = 1; seed <= SEEDS; seed++) {
      FuzzRunner.Outcome o = FuzzRunner.runOne(seed, ScenarioOptions.random(), tentative());
      assertFalse(o.failed(), () -> FuzzReport.failure(o));
      confirmed += o.result().tentativeConfirmed();
      rolledBack += o.result().tentativeRolledBack();
      seedsRollingBack += o.result().tentativeRolledBack() > 0 ? 1 : 0;
    }
    System.out.printf("tentative execution over %d fuzzed seeds: %d batches committed as they ran, %d rolled back"
        + " (in %d seeds)%n", SEEDS, confirmed, rolledBack, seedsRollingBack);
    assertTrue(confirmed > 0, "no batch ran tentatively");
    assertTrue(rolledBack > 0, "no tentative batch was rolled back in " + SEEDS + " seeds");
  }
}

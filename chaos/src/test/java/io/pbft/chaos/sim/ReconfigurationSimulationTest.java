package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.fuzz.FuzzReport;
import io.pbft.chaos.fuzz.FuzzRunner;
import io.pbft.chaos.fuzz.ScenarioOptions;
import io.pbft.config.Authentication;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The group's administrator ({@link Administrator}) submits a reconfiguration while the run's
 * faults go on: the command is ordered like any request, every correct replica executes it alike
 * (the pending change is in the state digest, so replicas that disagreed about it would fail the
 * checkpoint comparison), it is accepted once, a second command while it is pending is refused,
 * and at the end every correct replica that is up holds the change pending at the sequence number
 * its verdict named, whatever view changes, state transfers, restarts and traitors came between.
 */
class ReconfigurationSimulationTest {
  private static final int CLIENTS = 4;
  private static final int OPS = 30;

  /** Correct replicas that are up at the end of the run. */
  private static long correctAndUp(SimulationResult result) {
    return result.replicas().stream().filter(r -> !r.crashed() && r.behaviour().equals("honest")).count();
  }

  private static void assertChangedOnceEverywhere(SimulationResult result) {
    ByzantineClientReport admin = result.byzantineClient(Administrator.NAME);
    assertEquals(1, admin.count("accepted"), admin::toString);
    assertEquals(1, admin.count("refused while pending"), admin::toString);
    assertEquals(0, admin.count("refused"), admin::toString);
    assertEquals(correctAndUp(result), admin.count("correct replicas with it pending"), result::report);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4})
  void aChangeIsOrderedAcceptedOnceAndTheNextWaitsForIt(long seed) {
    SimulationConfig config = SimulationConfig.builder().seed(seed).clients(CLIENTS).opsPerClient(OPS)
        .fastCrypto(true).authentication(seed % 2 == 0 ? Authentication.MACS : Authentication.SIGNATURES)
        .byzantineClient(Administrator.NAME).build();
    SimulationResult result = Simulation.run(config);
    assertTrue(result.ok(), result::report);
    assertEquals(CLIENTS * OPS, result.opsCompleted(), result::report);
    assertChangedOnceEverywhere(result);
  }

  /**
   * Drawn scenarios (crashes, restarts, partitions, lossy links, a traitor, the primary's stall)
   * with the administrator among the clients, in both authentication modes.
   */
  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13, 14, 15, 16, 17, 18})
  void underDrawnFaultsAndTraitorsEveryCorrectReplicaHoldsTheSameChange(long seed) {
    FuzzRunner.Outcome outcome = FuzzRunner.runOne(seed, new ScenarioOptions(null, null, null, null, null, null, null,
        null, seed % 2 == 0 ? Authentication.MACS : Authentication.SIGNATURES, null, List.of(Administrator.NAME)),
        b -> { });
    assertTrue(!outcome.failed(), () -> FuzzReport.failure(outcome));
    assertChangedOnceEverywhere(outcome.result());
  }
}

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
 * The group's administrator ({@link Administrator}) changes the group four times while the run's
 * faults go on: it rotates one replica's key (epoch 0 to 1), and once every correct replica runs
 * epoch 1, moves a replica to a new machine at another address (epoch 1 to 2): that replica starts
 * over without state, joins epoch 2 and takes the state by transfer. Then it adds the run's spare
 * replica as a new member (2 to 3), which joins without state and takes the state by transfer, and
 * removes one of the original members (3 to 4), which steps down. Each command is ordered like any request and accepted once;
 * a second command sent while the first is pending is refused; each change takes effect at its
 * handover checkpoint (the primary fills the window up to it), where every replica's core of the
 * old epoch ends and one of the new epoch begins, signing with the new key; and at the end every
 * correct replica that is up runs epoch 4, the added one included, whatever view changes, state transfers, partitions and
 * traitors came between. Replicas that disagreed about the epoch would fail the comparison of
 * checkpoint digests; messages of the old epoch, or signed with a rotated-out key, are refused.
 */
class ReconfigurationSimulationTest {
  private static final int CLIENTS = 4;
  private static final int OPS = 30;

  /** Correct replicas that are up at the end of the run. */
  private static long correctAndUp(SimulationResult result) {
    return result.replicas().stream().filter(r -> !r.crashed() && r.behaviour().equals("honest")).count();
  }

  private static void assertChangedEverywhere(SimulationResult result) {
    ByzantineClientReport admin = result.byzantineClient(Administrator.NAME);
    assertEquals(1, admin.count("members added"), admin::toString);
    assertEquals(1, admin.count("members removed"), admin::toString);
    // The spare (the highest id) joined the group and took its state; nothing crashes it.
    SimulationResult.ReplicaSummary spare = result.replicas().get(result.replicas().size() - 1);
    assertTrue(!spare.crashed() && spare.stateTransfers() >= 1, result::report);
    assertEquals(Administrator.CHANGES, admin.count("accepted"), admin::toString);
    assertEquals(Administrator.CHANGES, admin.count("refused while pending") + admin.count("refused as stale"),
        admin::toString);
    assertEquals(0, admin.count("refused"), admin::toString);
    assertEquals(Administrator.CHANGES, admin.count("last epoch accepted"), admin::toString);
    assertEquals(correctAndUp(result), admin.count("correct replicas in it"), result::report);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4})
  void eachChangeIsAcceptedOnceAndTakesEffectAtItsHandover(long seed) {
    SimulationConfig config = SimulationConfig.builder().seed(seed).clients(CLIENTS).opsPerClient(OPS)
        .fastCrypto(true).authentication(seed % 2 == 0 ? Authentication.MACS : Authentication.SIGNATURES)
        .byzantineClient(Administrator.NAME).build();
    SimulationResult result = Simulation.run(config);
    assertTrue(result.ok(), result::report);
    assertEquals(CLIENTS * OPS, result.opsCompleted(), result::report);
    assertChangedEverywhere(result);
  }

  /**
   * Drawn scenarios (crashes, restarts from disk, partitions, lossy links, a traitor, the
   * primary's stall) with the administrator among the clients, in both authentication modes.
   */
  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13, 14, 15, 16, 17, 18})
  void underDrawnFaultsAndTraitorsEveryCorrectReplicaEndsInTheLastEpoch(long seed) {
    FuzzRunner.Outcome outcome = FuzzRunner.runOne(seed, new ScenarioOptions(null, null, null, null, null, null, null,
        null, seed % 2 == 0 ? Authentication.MACS : Authentication.SIGNATURES, null, List.of(Administrator.NAME)),
        b -> { });
    assertTrue(!outcome.failed(), () -> FuzzReport.failure(outcome));
    assertChangedEverywhere(outcome.result());
  }
}

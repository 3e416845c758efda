package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;
import static io.pbft.chaos.sim.SimAssertions.assertSurvivorsAgree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.bank.BankOps;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The workloads whose clients contend: the key-value store with shared keys and Jepsen's bank.
 * Their results follow only from the committed order, so the linearizability checker does the
 * work (it replays that order through a sequential model), and the bank adds its own invariant:
 * every read of all accounts, and every replica at the end, shows the initial total.
 */
class WorkloadSimulationTest {

  @Test
  void bankTransfersUnderFaultsNeverCreateOrDestroyMoney() {
    SimulationConfig config = SimulationConfig.builder().seed(71).clients(8).opsPerClient(40)
        .workload(Workload.Kind.BANK)
        .faults(Faults.none().crash(0, 400).lossy(0.02, 0.1, 40, 0, Faults.UNTIL_HEALED)
            .partition(Set.of(3), true, 600, 1_500)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    long reads = result.history().stream().filter(o -> o.op().toString().equals("read all")).count();
    assertTrue(reads > 20, result::report);
    long transfersDone = result.history().stream()
        .filter(o -> o.op().toString().startsWith("transfer") && o.result().byteAt(0) == BankOps.OK).count();
    assertTrue(transfersDone > 50, "money moved: " + result.report());
  }

  @Test
  void sharedKeysUnderFaultsAreLinearizable() {
    SimulationConfig config = SimulationConfig.builder().seed(72).clients(8).opsPerClient(40)
        .workload(Workload.Kind.KV_SHARED).keysPerClient(2)
        .faults(Faults.none().duplicate(0.05, 30, 0, Faults.UNTIL_HEALED).pause(1, 300, 1_200)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    long failedCas = result.history().stream()
        .filter(o -> o.op().toString().startsWith("cas") && Trace.describeResult(o.result()).startsWith("CAS_FAILED"))
        .count();
    assertTrue(failedCas > 0, "clients contended for keys: " + result.report());
  }

  @Test
  void everyWorkloadChecksEveryCheckpointDigest() {
    for (Workload.Kind kind : Workload.Kind.values()) {
      SimulationConfig config = SimulationConfig.builder().seed(73).clients(4).opsPerClient(30).workload(kind).build();
      SimulationResult result = Simulation.run(config);
      assertHealthy(config, result);
      assertEquals(kind, result.workload());
      assertTrue(result.checkpointsCompared() >= 4 * (result.replica(0).lowWatermark() / 16), result::report);
    }
  }
}

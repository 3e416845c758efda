package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;
import static io.pbft.chaos.sim.SimAssertions.assertSurvivorsAgree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.traitor.ForgedRequests;
import io.pbft.config.Authentication;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code authentication: macs} in the simulator: requests carry one HMAC per replica, a replica
 * checks only its own, and a batch with a request some backup cannot authenticate is prepared
 * there once the primary and f backups vouch for it.
 */
class MacAuthenticationSimulationTest {
  private static SimulationConfig.Builder macs(long seed) {
    return SimulationConfig.builder().seed(seed).clients(6).opsPerClient(30).authentication(Authentication.MACS);
  }

  @Test
  void faultFreeRunWithMacsCompletesEveryOperationInViewZero() {
    SimulationConfig config = macs(1).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    assertEquals(0, result.viewChangesStarted(), result::report);
    for (SimulationResult.ReplicaSummary r : result.replicas()) {
      // reads answered read-only never run: every other operation ran once at every replica
      assertEquals(result.opsOrdered(), r.requestsExecuted(), "each ordered request ran once at every replica");
      assertTrue(r.rejections().isEmpty(), () -> "nothing a correct replica sends is refused: " + r);
    }
  }

  @Test
  void requestsWithABadMacForOneBackupAreVouchedForWithoutAViewChange() {
    // Client 0 gives backup 3 a MAC that does not check; the primary and backups 1 and 2 can
    // check theirs. Backup 3 prepares client 0's batches once f = 1 other backup has.
    SimulationConfig config = macs(2).badMacs(0, Set.of(3)).build();
    SimulationResult result = Simulation.run(config);

    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
    assertSurvivorsAgree(result);
    assertEquals(0, result.viewChangesStarted(), result::report);
    assertEquals(result.opsOrdered(), result.replica(3).requestsExecuted(), result::report);
  }

  @Test
  void requestsWithBadMacsForAllButOneBackupAreVouchedFor() {
    // Valid only at the primary and backup 1: f + 1 = 2 replicas vouch, so backups 2 and 3
    // prepare after backup 1 does.
    SimulationConfig config = macs(3).badMacs(0, Set.of(2, 3)).badMacs(4, Set.of(2, 3)).build();
    SimulationResult result = Simulation.run(config);

    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
    assertSurvivorsAgree(result);
    assertEquals(0, result.viewChangesStarted(), result::report);
  }

  @Test
  void aPrimaryThatMakesUpRequestsGetsNoneOfThemExecuted() {
    // The forging primary's made-up and tampered requests carry no MAC any backup can check, so
    // no batch holding one is vouched for; the checkers find no operation a client did not issue.
    SimulationConfig config = macs(4).clients(4).opsPerClient(20)
        .traitor(0, random -> new ForgedRequests(random)).workload(Workload.Kind.BANK).build();
    SimulationResult result = Simulation.run(config);

    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
  }
}

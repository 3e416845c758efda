package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;
import static io.pbft.chaos.sim.SimAssertions.assertSurvivorsAgree;
import static io.pbft.chaos.sim.SimAssertions.assertViewAtLeast;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.proto.ReplicaMessage;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Faulty primaries under load (OSDI 1999, section 4.4): the group replaces them, every operation
 * completes, nothing acknowledged is lost, and the replicas agree. Each run checks agreement and
 * exactly-once execution at every executed batch, client results against a sequential model, and
 * the end states.
 */
class ViewChangeSimulationTest {

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void crashedPrimaryIsReplacedAndProgressResumes(long seed) {
    // Crash at a different moment in each run, while every client has a request in flight.
    SimulationConfig config = SimulationConfig.builder().seed(seed).clients(8).opsPerClient(40)
        .faults(Faults.none().crash(0, 150 + 70 * seed)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertViewAtLeast(result, 1);
    assertSurvivorsAgree(result);
  }

  @Test
  void silentPrimaryIsReplaced() {
    // Replica 0 keeps receiving (it follows the view change) but says nothing to anyone.
    SimulationConfig config = SimulationConfig.builder().seed(11).clients(8).opsPerClient(40)
        .faults(Faults.none().silence(0, 300, Faults.UNTIL_HEALED)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertViewAtLeast(result, 1);
    assertSurvivorsAgree(result);
    assertTrue(result.messagesLost() > 0, result::report);
  }

  @Test
  void primaryThatIgnoresOneClientIsReplacedWhileOthersKeepItBusy() {
    // Replica 0 never hears client 3 (directly or forwarded) but serves everyone else. The other
    // clients' progress must not hide that client 3 waits: its first operation has to complete
    // (after a view change) while the others are still running, not once they are done.
    int victim = 3;
    SimulationConfig config = SimulationConfig.builder().seed(12).clients(6).opsPerClient(120)
        .faults(Faults.none().ignoreClient(0, victim, 0, Faults.UNTIL_HEALED)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertViewAtLeast(result, 1);
    assertSurvivorsAgree(result);
    long victimFirstDone = result.historyOf(victim).get(0).completeMs();
    long othersLastDone = result.history().stream().filter(o -> o.client() != victim)
        .mapToLong(OpRecord::completeMs).max().orElseThrow();
    assertTrue(victimFirstDone < othersLastDone, () -> "client " + victim + " first served at " + victimFirstDone
        + " ms, the others finished at " + othersLastDone + " ms: " + result.report());
  }

  @Test
  void twoFaultyPrimariesInARowWithSevenReplicas() {
    // n = 7, f = 2: the primaries of views 0 and 1 are both down, so view 1 fails too and the
    // group must reach view 2.
    SimulationConfig config = SimulationConfig.builder().seed(13).replicas(7).clients(6).opsPerClient(25)
        .faults(Faults.none().crash(0, 200).crash(1, 200)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertViewAtLeast(result, 2);
    assertSurvivorsAgree(result);
  }

  @ParameterizedTest(name = "primary crashes after {0} pre-prepares")
  @ValueSource(ints = {2, 5, 9})
  void viewChangeCarriesPreparedButUncommittedBatches(int prePrepares) {
    // Replicas 1 and 2 receive no COMMITs at first (nor the committed certificates a peer sends
    // to one that is behind): what the primary pre-prepares prepares everywhere but commits (and
    // executes) only at replica 3. The primary crashes right after a pre-prepare. The new view
    // must re-propose exactly the prepared batches at their sequence numbers: replica 3 executed
    // them in view 0, replicas 1 and 2 execute them in view 1, and no request may run twice or
    // differently.
    SimulationConfig config = SimulationConfig.builder().seed(20 + prePrepares).clients(8).opsPerClient(25)
        .faults(Faults.none().crashAfterPrePrepares(0, prePrepares)
            .drop(ReplicaMessage.BodyCase.COMMIT, Set.of(1, 2), 0, 1_500)
            .drop(ReplicaMessage.BodyCase.COMMITTED, Set.of(1, 2), 0, 2_500)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertViewAtLeast(result, 1);
    assertSurvivorsAgree(result);
    assertTrue(result.certificatesCarried() > 0,
        () -> "VIEW-CHANGEs carried prepared certificates: " + result.report());
    assertTrue(result.crossViewExecutions() > 0,
        () -> "some batch executed in view 0 at one replica and in view 1 at another: " + result.report());
    for (int r : List.of(1, 2, 3)) {
      assertEquals(result.opsOrdered(), result.replica(r).requestsExecuted(), result::report); // reads read-only: not run
    }
  }
}

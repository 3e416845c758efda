package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;
import static io.pbft.chaos.sim.SimAssertions.assertSurvivorsAgree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The simulator itself: a fault-free run, replay from a seed, a traitor behind the behaviour hook,
 * and what a failing run reports.
 */
class SimulationTest {

  @Test
  void faultFreeRunCompletesEveryOperationInViewZero() {
    SimulationConfig config = SimulationConfig.builder().seed(1).clients(8).opsPerClient(40).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    assertEquals(0, result.viewChangesStarted(), result::report);
    assertEquals(0, result.stateTransfers(), result::report);
    assertEquals(0, result.messagesLost());
    for (SimulationResult.ReplicaSummary r : result.replicas()) {
      assertEquals(0, r.view());
      // reads answered read-only never run: every other operation ran once at every replica
      assertEquals(result.opsOrdered(), r.requestsExecuted(), "each ordered request ran once at every replica");
      assertTrue(r.lowWatermark() > 0, "checkpoints became stable");
      assertTrue(r.rejections().isEmpty(), () -> "nothing a correct replica sends is refused: " + r);
    }
    assertTrue(result.readOnlyAnswered() > 0 && result.opsOrdered() + result.readOnlyAnswered() == 320, result::report);
    assertTrue(result.replica(0).lastExecuted() < result.opsOrdered(), "requests were batched");
  }

  @Test
  void sameSeedReplaysTheSameRunEventForEvent() {
    // Faults that exercise every source of randomness: latencies, extra delays (reordering), a
    // crash and the view change it causes.
    SimulationConfig config = SimulationConfig.builder().seed(76).clients(6).opsPerClient(40)
        .faults(Faults.none().crash(0, 250).lossy(0, 0.2, 40, 0, Faults.UNTIL_HEALED)).build();

    SimulationResult first = Simulation.run(config);
    SimulationResult second = Simulation.run(config);

    assertHealthy(config, first);
    assertTrue(first.viewChangesStarted() > 0, first::report);
    assertEquals(first.history(), second.history(), "same operations, results and virtual times");
    assertEquals(first.replicas(), second.replicas(), "same end states, views and counters");
    assertEquals(first.virtualDurationMs(), second.virtualDurationMs());
    assertEquals(first.messagesSent(), second.messagesSent());
    assertEquals(first.messagesLost(), second.messagesLost());

    SimulationResult other = Simulation.run(config.toBuilder().seed(78).build());
    assertNotEquals(first.history(), other.history(), "another seed is another run");
  }

  @Test
  void moreThanFCrashesIsReportedWithSeedAndTrace() {
    // Two of four replicas down for good: no quorum, so no progress. The simulator must say so.
    SimulationConfig config = SimulationConfig.builder().seed(5).clients(2).opsPerClient(20).livenessMs(5_000)
        .faults(Faults.none().crash(2, 100).crash(3, 100)).build();
    SimulationResult result = Simulation.run(config);

    assertFalse(result.ok());
    assertTrue(result.violations().get(0).contains("liveness"), result::report);
    assertTrue(result.opsIncomplete() > 0);
    assertFalse(result.trace().isEmpty());
    assertTrue(result.report().contains("seed 5"), result::report);
  }

  @Test
  void aReplicaThatLiesInEveryReplyCannotFoolAClient() {
    // Replica 1 runs the real core but rewrites every result it returns. Clients need f + 1
    // matching results, so the lie is outvoted; the checkers leave the traitor out.
    Behaviour liar = new Behaviour() {
      @Override
      public List<Effects.ClientReply> replies(List<Effects.ClientReply> wanted, Signing signing) {
        return wanted.stream().map(r -> new Effects.ClientReply(r.clientId(),
            r.reply().toBuilder().setResult(ByteString.copyFromUtf8("a lie")).build())).toList();
      }

      @Override
      public String name() {
        return "liar";
      }
    };
    SimulationConfig config = SimulationConfig.builder().seed(8).clients(6).opsPerClient(30)
        .traitor(1, random -> liar).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertEquals("liar", result.replica(1).behaviour());
    assertTrue(result.history().stream().noneMatch(o -> o.result().toStringUtf8().equals("a lie")));
  }

  @Test
  void mainStyleEntryPointGivesFigures() {
    SimulationResult result = Simulation.run(SimulationConfig.builder().seed(3).clients(4).opsPerClient(10).build());
    assertTrue(result.ok(), result::report);
    assertTrue(result.virtualDurationMs() > 0);
    assertTrue(result.opsPerWallSecond() > 0);
    assertTrue(result.summary().startsWith("seed 3: 40 ops completed"), result.summary());
  }
}

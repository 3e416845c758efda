package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;
import static io.pbft.chaos.sim.SimAssertions.assertSurvivorsAgree;
import static io.pbft.chaos.sim.SimAssertions.assertViewAtLeast;

import io.pbft.proto.ReplicaMessage;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Replicas that fell behind, or ahead, find their way back to the group even when nothing new
 * happens to tell them. These scenarios are the liveness holes the simulator found in the core
 * (each failed before the core gained heartbeats, committed certificates, answers to fetches for
 * discarded checkpoints and the 2f + 1 rule for the NEW-VIEW timer); every one is built from
 * explicit faults, so it replays exactly.
 */
class CatchUpSimulationTest {

  /**
   * Replica 2 is paused while the group executes ~590 batches and resumes only when the load has
   * stopped. CHECKPOINTs are multicast once, when taken, so without a periodic status exchange
   * (Castro and Liskov, TOCS 2002, section 5.2) it used to end at n=64 while the others were at
   * n=590, in another state, for ever.
   */
  @Test
  void replicaThatResumesAfterTheLoadCatchesUpInTheQuietPeriod() {
    SimulationConfig config = SimulationConfig.builder().seed(31).clients(8).opsPerClient(100)
        .faults(Faults.none().pause(2, 300, Faults.UNTIL_HEALED)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
  }

  /**
   * Replica 3, cut off until 1.5 s, learns from 2f + 1 CHECKPOINTs that a checkpoint is stable and
   * asks for its state; its FETCH-STATEs are lost until 2.5 s and no newer CHECKPOINT reaches it
   * before the load ends. By then the others hold only the snapshot of their latest stable
   * checkpoint. It used to repeat the fetch for the discarded one for ever ("fetch for a
   * checkpoint not held"), executing nothing. (Random loss found it first: seed 100, n = 7,
   * Faults.random(100, 7, 2, 3000), 8 clients x 30 operations.)
   */
  @Test
  void stateTransferOfADiscardedCheckpointMovesOnToANewerOne() {
    SimulationConfig config = SimulationConfig.builder().seed(40).clients(8).opsPerClient(100)
        .faults(Faults.none().partition(Set.of(3), true, 300, 1_500)
            .drop(ReplicaMessage.BodyCase.FETCH_STATE, Set.of(0, 1, 2), 0, 2_500)
            .drop(ReplicaMessage.BodyCase.CHECKPOINT, Set.of(3), 1_700, Faults.UNTIL_HEALED)).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
  }

  /**
   * Replica 0 (the primary) is down and the clients cannot reach replicas 1 and 2 for 200 s, so
   * replica 3 alone suspects the primary and walks views on its own timer. When the network
   * heals, 1 and 2 start view changes too. The timer for view v + 1 used to start as soon as a
   * replica sent its VIEW-CHANGE (section 4.5.2 of the paper starts it once 2f + 1 VIEW-CHANGEs
   * for v + 1 arrived), so replica 3 kept leaving each view before the others reached it, both
   * sides doubling their timeouts up to the same cap; no view ever gathered 2f + 1 VIEW-CHANGEs
   * and 400 s of a perfect network later the clients were still waiting (views 12, 12, 15).
   * (Random loss found it first: seed 77, crash(0, 250), lossy(0.02, 0.1, 30), 6 x 30 operations.)
   */
  @Test
  void replicaAloneInAHigherViewDoesNotBlockTheGroup() {
    long cutMs = 200_000;
    Faults faults = Faults.none().crash(0, 100);
    for (int client = 0; client < 2; client++) {
      faults.ignoreClient(1, client, 0, cutMs).ignoreClient(2, client, 0, cutMs);
    }
    // Long virtual times, few events: coarse ticks keep this cheap.
    SimulationConfig config = SimulationConfig.builder().seed(9).clients(2).opsPerClient(5).tickMs(50)
        .loadDeadlineMs(cutMs + 400_000).livenessMs(10_000).faults(faults).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertViewAtLeast(result, 1);
    assertSurvivorsAgree(result);
  }
}

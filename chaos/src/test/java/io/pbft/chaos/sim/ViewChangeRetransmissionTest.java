package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;

import io.pbft.proto.ReplicaMessage;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Liveness bugs of view changes that the simulator found, kept as regression tests. Each test
 * states what PBFT promises (progress once the network behaves, with at most f faulty replicas);
 * the comment tells how the core used to break it. The faults are explicit, so each scenario
 * replays exactly; the faults stop at 3 s and the group then has 57 s of a perfect network to
 * finish 80 operations. Fixed by retransmitting the own VIEW-CHANGE while changing views, and
 * by relaying the NEW-VIEW to a peer still changing into the same view.
 */
class ViewChangeRetransmissionTest {

  /**
   * A lost VIEW-CHANGE was never sent again, and a replica starts its NEW-VIEW timer only once
   * 2f + 1 VIEW-CHANGEs for its view arrived; so replicas that lost VIEW-CHANGEs wait for ever,
   * view-changing with no timer running. Replica 0 (the primary) crashes at 200 ms; VIEW-CHANGEs
   * addressed to replica 1 are lost until 3 s. Replicas 2 and 3 gather three VIEW-CHANGEs for
   * view 1, time out waiting for replica 1's NEW-VIEW and move to view 2; replica 1 holds only
   * its own VIEW-CHANGE for view 1, and lost 2's and 3's for view 2 as well. From then on nothing
   * moves: replica 1 in view 1 (one VIEW-CHANGE, no timer), 2 and 3 in view 2 (two, no timer).
   * Heartbeats did not help: there was no NEW-VIEW to relay, and a peer's heartbeat from a
   * higher view does not count towards the f + 1 rule. Random faults get there without any
   * crash: seed 506, Faults.random(506, 4, 1, 3000) (1.2% loss, replica 1 cut off from 1.2 s to
   * 2.7 s), 8 clients x 30 operations, ends with replica 0 in view 0 and 1, 2, 3 in view 1,
   * changing, for good.
   */
  @Test
  void lostViewChangesDoNotStallTheViewChangeForever() {
    SimulationConfig config = SimulationConfig.builder().seed(3).clients(4).opsPerClient(20)
        .loadDeadlineMs(30_000).livenessMs(30_000)
        .faults(Faults.none().crash(0, 200).drop(ReplicaMessage.BodyCase.VIEW_CHANGE, Set.of(1), 0, 3_000))
        .build();
    assertHealthy(config, Simulation.run(config));
  }

  /**
   * A replica still changing into the view its peer has already entered never gets that view's
   * NEW-VIEW again: a heartbeat was answered with the NEW-VIEW only when it came from a lower
   * view, not from the same view with view_changing set. Replica 0 crashes at 200 ms; replica 1,
   * the primary of view 1, says nothing from 300 ms to 3 s. It receives 2's and 3's VIEW-CHANGEs,
   * sends its NEW-VIEW (lost) and enters view 1. Replicas 2 and 3 hold two VIEW-CHANGEs for view
   * 1 (1's was lost), so no timer runs; when replica 1 speaks again they stay in view 1,
   * changing, for good, and keep its pre-prepares aside as early ones.
   */
  @Test
  void replicaChangingIntoTheCurrentViewGetsItsNewView() {
    SimulationConfig config = SimulationConfig.builder().seed(3).clients(4).opsPerClient(20)
        .loadDeadlineMs(30_000).livenessMs(30_000)
        .faults(Faults.none().crash(0, 200).silence(1, 300, 3_000)).build();
    assertHealthy(config, Simulation.run(config));
  }
}

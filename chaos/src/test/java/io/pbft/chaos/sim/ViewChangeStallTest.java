package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;

import io.pbft.chaos.traitor.Silent;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Regression test, a liveness bug the chaos harness found (fixed): a silent primary and one backup that is cut off
 * for a second while the group changes views leave the group stuck for good, on a perfect
 * network, with only one faulty replica.
 *
 * <p>Found as: {@code pbft chaos sim --seed 452} (silent traitor at 0; replica 3 silent from
 * 1327 to 2401 ms), also seeds 418 and 432. Reduced here to: replica 0 silent throughout, replica 3
 * silent from 1.3 s to 2.4 s. Every seed ends with replicas 1 and 2 in view 1 and replica 3 in
 * view 2, all changing views, no timer running, nothing executed, 60 s after healing.
 *
 * <p>Why: backups 1, 2, 3 time out and send VIEW-CHANGE for view 1; replica 3's is lost. Replica
 * 3 holds 2f + 1 VIEW-CHANGEs for view 1 (1's, 2's, its own), arms its NEW-VIEW timer, gets no
 * NEW-VIEW (replica 1, the new primary, holds only two) and moves to view 2. Its VIEW-CHANGE for
 * view 2 then replaces, at 1 and 2, any it sent for view 1 (viewChanges keeps one per replica,
 * the newest), and it retransmits only its current one. So replicas 1 and 2 never hold 2f + 1
 * VIEW-CHANGEs for view 1 (armNewViewTimer counts only those for exactly their view: no timer),
 * nor f + 1 for views above theirs (only replica 3's: the silent primary sends none), and
 * replica 3 never holds 2f + 1 for view 2. Nobody moves again.
 *
 * <p>Fix: when arming the timer for view v, count every replica whose newest
 * VIEW-CHANGE is for a view at least v (it left view v - 1 too); timers do not affect safety.
 */
class ViewChangeStallTest {

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 3, 4, 5})
  void silentPrimaryAndABackupCutOffForASecondDoNotStallTheGroup(long seed) {
    SimulationConfig config = SimulationConfig.builder().seed(seed).clients(4).opsPerClient(10)
        .loadDeadlineMs(10_000).livenessMs(60_000)
        .traitor(0, random -> new Silent())
        .faults(Faults.none().silence(3, 1_300, 2_400)).build();
    assertHealthy(config, Simulation.run(config));
  }
}

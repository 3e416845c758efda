package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ProtocolSettings;
import io.pbft.replica.core.ReplicaCore;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The liveness bound after healing is derived from the protocol's timers, fits inside the default
 * liveness phase, and catches view changes slower than those timers allow.
 *
 * <p>The scenario needs a view change after the healing, through a faulty primary: replica 1 (the
 * primary of view 1) is dead from the start and replica 0 (the primary of view 0) is cut off
 * until the faults heal. Replicas 2 and 3 complain and ask for view 1, but two VIEW-CHANGEs are no
 * quorum, so the group waits. Once the network heals, replica 0 hears their VIEW-CHANGEs at their
 * next heartbeat and joins, the NEW-VIEW timer for view 1 runs out, and view 2 opens.
 */
class LivenessBoundTest {
  private static SimulationConfig.Builder primaryCutOffNextPrimaryDead(long seed) {
    return SimulationConfig.builder().seed(seed).clients(4).opsPerClient(20).loadDeadlineMs(10_000)
        .faults(Faults.none().crash(1, 0).partition(Set.of(0), true, 200, Faults.UNTIL_HEALED));
  }

  /**
   * Cores whose view-change timers (heartbeat, NEW-VIEW timer, first request timer) run twenty
   * times longer than the settings they are given: view changes twenty times slower than
   * configured. (At ten times, the one NEW-VIEW timer this scenario needs after the healing takes
   * 10 s, within the 16.3 s bound when the slowed heartbeat happens to fall right at the healing.)
   */
  private static ReplicaCore slowViewChanges(int id, int n, int f, ProtocolSettings settings,
      io.pbft.crypto.Signer signer, java.util.function.IntPredicate knownClient) {
    ProtocolSettings slow = settings.toBuilder().viewChangeTimeoutMs(settings.viewChangeTimeoutMs() * 20).build();
    return new ReplicaCore(id, n, f, slow, signer, knownClient);
  }

  @Test
  void boundForOneFaultyReplicaWithDefaultSettingsFitsInsideTheDefaultLivenessPhase() {
    SimulationConfig config = SimulationConfig.builder().build();
    LivenessBound bound = config.livenessBound(config.f(), 0, false);
    assertEquals(20_310, bound.ms(), bound::explain);
    assertTrue(bound.ms() < config.livenessMs(), bound::explain);
    assertEquals(13_310, config.livenessBound(config.f(), 0, true).ms(), "no request timer to wait for");
  }

  @Test
  void eachViewChangeBehindTheReplicasDoublesTheTimersOfTheFailingViews() {
    SimulationConfig config = SimulationConfig.builder().build();
    LivenessBound fresh = config.livenessBound(1, 0, true);
    LivenessBound backedOff = config.livenessBound(1, 2, true);
    assertEquals(java.util.List.of(1_000L, 2_000L), java.util.List.of(fresh.timerMs(1), fresh.timerMs(2)));
    assertEquals(java.util.List.of(4_000L, 8_000L), java.util.List.of(backedOff.timerMs(1), backedOff.timerMs(2)));
    long ceiling = 1_000L << config.protocol().viewChangeBackoffDoublingsMax();
    assertEquals(ceiling, config.livenessBound(1, 40, true).timerMs(2), "the backoff stops doubling");
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void viewChangeAfterHealingWithTheConfiguredTimersStaysWithinTheBound(long seed) {
    SimulationResult r = Simulation.run(primaryCutOffNextPrimaryDead(seed).build());
    assertTrue(r.ok(), r::report);
    assertTrue(r.slowestAfterHealMs() > 0, () -> "operations must complete after the healing: " + r.report());
    assertTrue(r.minView() >= 2, () -> "views 0 and 1 fail, view 2 opens: " + r.report());
    assertTrue(r.slowestAfterHealMs() <= r.livenessBoundMs(), r::report);
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void viewChangesTwentyTimesSlowerThanConfiguredBreakTheBound(long seed) {
    SimulationResult r = Simulation.run(primaryCutOffNextPrimaryDead(seed).cores(LivenessBoundTest::slowViewChanges)
        .build());
    assertFalse(r.ok(), r::report);
    assertEquals(1, r.violations().size(), r::report);
    assertTrue(r.violations().get(0).contains("liveness: ") && r.violations().get(0).contains("after the faults healed"),
        r::report);
    assertTrue(r.slowestAfterHealMs() > r.livenessBoundMs(), r::report);
  }
}

package io.pbft.chaos.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.sim.Workload;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Scenarios drawn from seeds: what a seed fixes, how a run replays, where traitors sit. */
class ScenarioTest {

  @Test
  void sameSeedReplaysTheSameRunEventForEvent() {
    // A seed with a traitor, faults and contention, so every source of randomness is in play.
    ScenarioOptions options = new ScenarioOptions(4, 1, "equivocating-primary+replay", null, 100, 6,
        Workload.Kind.BANK, true);
    FuzzRunner.Outcome first = FuzzRunner.runOne(11, options, b -> { });
    FuzzRunner.Outcome second = FuzzRunner.runOne(11, options, b -> { });

    assertTrue(!first.failed(), () -> FuzzReport.failure(first));
    assertEquals(first.scenario().describe(), second.scenario().describe());
    assertTrue(first.result().events() > 1_000);
    assertEquals(first.result().fingerprintHex(), second.result().fingerprintHex(), "same events, same order, same times");
    assertEquals(first.result().history(), second.result().history());
    assertEquals(first.result().replicas(), second.result().replicas());

    FuzzRunner.Outcome other = FuzzRunner.runOne(12, options, b -> { });
    assertNotEquals(first.result().fingerprintHex(), other.result().fingerprintHex());
  }

  @Test
  void replayCommandCarriesTheSeedAndEveryFixedOption() {
    ScenarioOptions options = new ScenarioOptions(7, 2, "slow+flood", List.of(3, 5), 400, null, Workload.Kind.KV_SHARED,
        false);
    Scenario s = Scenarios.draw(42, options);
    assertEquals("pbft chaos sim --seed 42 --replicas 7 --traitors 2 --behaviour slow+flood --traitor-ids 3,5 "
        + "--ops 400 --workload kv-shared --no-nemesis --client-behaviour none", s.replayCommand());
    assertEquals(Map.of(3, "slow+flood", 5, "slow+flood"), s.traitors());
    assertEquals("pbft chaos sim --seed 9", Scenarios.draw(9, ScenarioOptions.random()).replayCommand());
  }

  @Test
  void everyTenthSeedRunsRealCryptoAndBothAuthenticationModesAreDrawn() {
    java.util.Set<io.pbft.config.Authentication> modes = new java.util.HashSet<>();
    int roundPartitions = 0;
    for (long seed = 1; seed <= 40; seed++) {
      Scenario s = Scenarios.draw(seed, ScenarioOptions.random());
      roundPartitions += s.nemesisKinds().contains("round-partition") ? 1 : 0;
      assertEquals(seed % Scenarios.REAL_CRYPTO_EVERY != 0, s.fastCrypto(), "seed " + seed);
      assertEquals(s.fastCrypto(), s.config().build().fastCrypto());
      assertEquals(s.authentication(), s.config().build().authentication());
      modes.add(s.authentication());
    }
    assertEquals(2, modes.size(), "both modes among 40 seeds");
    assertTrue(roundPartitions > 0 && roundPartitions < 40, roundPartitions + " of 40 seeds partition by round");
    Scenario fixed = Scenarios.draw(10, ScenarioOptions.random().withFastCrypto(true)
        .withAuthentication(io.pbft.config.Authentication.MACS));
    assertTrue(fixed.fastCrypto());
    assertEquals("pbft chaos sim --seed 10 --authentication macs --crypto fast", fixed.replayCommand());
    // the crypto and authentication draws come last: the rest of a seed's scenario is as before
    Scenario drawn = Scenarios.draw(10, ScenarioOptions.random());
    assertEquals(drawn.describe().replaceAll(", (MACs|signed requests), (fast crypto|Ed25519)", ""),
        fixed.describe().replaceAll(", (MACs|signed requests), (fast crypto|Ed25519)", ""));
  }

  @Test
  void fixingOneOptionLeavesTheRestOfTheSeedsScenarioAsItWas() {
    Scenario drawn = Scenarios.draw(5, ScenarioOptions.random());
    Scenario fixed = Scenarios.draw(5, new ScenarioOptions(null, null, null, null, null, null,
        drawn.workload() == Workload.Kind.BANK ? Workload.Kind.KV : Workload.Kind.BANK, null));
    assertEquals(drawn.traitors(), fixed.traitors());
    assertEquals(drawn.faults().toString(), fixed.faults().toString());
    assertEquals(drawn.clients(), fixed.clients());
    assertNotEquals(drawn.workload(), fixed.workload());
  }

  @Test
  void traitorsSitWhereTheirBehaviourDoesTheMostHarm() {
    assertEquals(Map.of(0, "equivocating-primary"),
        Scenarios.draw(1, new ScenarioOptions(4, 1, "equivocating-primary", null, null, null, null, null)).traitors());
    assertEquals(Map.of(1, "lying-new-view"),
        Scenarios.draw(1, new ScenarioOptions(4, 1, "lying-new-view", null, null, null, null, null)).traitors());
    Scenario collusion = Scenarios.draw(1, new ScenarioOptions(4, null, Scenarios.COLLUSION, null, null, null, null, null));
    assertEquals(Map.of(0, "colluding-votes+equivocating-primary", 1, "colluding-votes"), collusion.traitors());
    assertTrue(collusion.beyondF());
  }

  @Test
  void randomScenariosStayWithinFFaultyReplicas() {
    for (long seed = 1; seed <= 300; seed++) {
      Scenario s = Scenarios.draw(seed, ScenarioOptions.random());
      String faults = s.faults().toString();
      long crashed = faults.split("resumeAtMs=-1", -1).length - 1
          + faults.split("CrashAfterPrePrepares\\[", -1).length - 1;
      assertTrue(s.traitors().size() + crashed <= s.f(), s::describe);
      assertEquals(s.describe(), Scenarios.draw(seed, ScenarioOptions.random()).describe());
    }
  }
}

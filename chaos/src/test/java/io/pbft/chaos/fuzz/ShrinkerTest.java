package io.pbft.chaos.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.script.ScriptFile;
import io.pbft.chaos.script.ScriptRunner;
import io.pbft.config.Authentication;
import org.junit.jupiter.api.Test;

class ShrinkerTest {
  /** f + 1 colluding traitors among 4: seed 2 makes replica 3 commit two batches at one sequence number. */
  private static final ScenarioOptions COLLUSION = new ScenarioOptions(4, null, Scenarios.COLLUSION, null, null, null,
      null, null);

  @Test
  void aViolationsKindLeavesOutTimesNumbersAndTheStack() {
    assertEquals("replica # failed: io.pbft.replica.core.InvariantViolation: two different batches committed",
        Shrinker.kind("at 1014 ms: replica 3 failed: io.pbft.replica.core.InvariantViolation: two different batches "
            + "committed at 3 at CatchUp.onCommittedCertificate(CatchUp.java:159)"));
    assertEquals("liveness: # clients did not finish within # ms of healing",
        Shrinker.kind("at 278000 ms: liveness: 4 clients did not finish within 218000 ms of healing"));
  }

  @Test
  void aFailingSeedShrinksToASmallerRunWhoseScriptReplaysTheViolation() {
    Scenario original = Scenarios.draw(2, COLLUSION);
    Shrinker.Shrunk s = new Shrinker(100, b -> { }, ScriptRunner.paper()).shrink(2, COLLUSION);
    assertTrue(s.runs() <= 100);
    assertFalse(s.steps().isEmpty());
    assertTrue(s.config().clients() * s.config().opsPerClient() < original.clients() * original.opsPerClient(),
        s.steps().toString());
    assertEquals(Shrinker.kind(FuzzRunner.runOne(2, COLLUSION, b -> { }).result().violations().get(0)),
        Shrinker.kind(s.violation()), "it fails the way the seed did");
    assertFalse(s.config().fastCrypto());
    assertEquals(Authentication.SIGNATURES, s.config().authentication());
    assertNotNull(s.script());
    ScriptRunner.Result replay = ScriptRunner.paper().run(ScriptFile.parse("shrunk.txt", s.script()));
    assertNull(replay.mismatch(), () -> replay.mismatch().describe());
    assertEquals(1, replay.failedChecks().size(), "the script's check fails as the run did");
  }

  @Test
  void aCleanSeedHasNothingToShrink() {
    ScenarioOptions honest = new ScenarioOptions(4, 0, null, null, 40, 4, null, false);
    assertThrows(IllegalArgumentException.class, () -> new Shrinker(10, b -> { }, ScriptRunner.paper()).shrink(1, honest));
  }
}

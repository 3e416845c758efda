package io.pbft.replica.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.fuzz.FuzzRunner;
import io.pbft.chaos.fuzz.ScenarioOptions;
import io.pbft.chaos.script.ScriptExport;
import io.pbft.chaos.script.ScriptFile;
import io.pbft.chaos.script.ScriptRunner;
import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.chaos.sim.SimulationResult;
import java.util.ArrayList;
import io.pbft.proto.ReplicaMessage;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A simulator run saved as a script replays the run: the same keys, request bytes, deliveries and
 * clocks give every replica the same state, and a run that broke agreement (a {@link PlantedBug}
 * in every core) breaks it again in the replay, at the same sequence number with the same batches.
 *
 * <p>In the core's package because only code compiled there can build cores with a planted bug.
 */
class ScriptExportTest {
  private static final Pattern SIM_AGREEMENT = Pattern.compile(
      "agreement: at n=(\\d+) replica (\\d+) executed (\\[[^]]*]) \\(view \\d+\\) but replica (\\d+) executed"
          + " (\\[[^]]*])");
  private static final Pattern STATUS = Pattern.compile("^r(\\d+) v=\\d+.* executed=(\\d+) .*state=([0-9a-f]{6})",
      Pattern.MULTILINE);

  @Test
  void aCleanRunReplaysCleanAndEndsInTheSameStates() {
    SimulationConfig config = SimulationConfig.builder().seed(11).replicas(4).clients(3).opsPerClient(4)
        .quietMs(300).build();
    ScriptExport.Exported e = ScriptExport.export(config, ScriptRunner.paper());
    assertTrue(e.result().ok(), () -> "the run itself failed: " + e.result().violations());

    ScriptRunner.Result replay = ScriptRunner.paper().run(ScriptFile.parse("clean.txt", e.script()));
    assertNull(replay.mismatch(), () -> replay.mismatch().describe());
    assertTrue(replay.failedChecks().isEmpty(), "check failed in the replay of a clean run");
    assertEquals(0, replay.errors(), "every recorded delivery found its message in flight");
    assertSameFinalStates(e.result(), replay.rewritten());
  }

  @Test
  void aRunWithAPlantedBugReplaysTheSameAgreementViolation() {
    // PlantedBugsTest's family for a commit quorum of 2f: PREPAREs to r0 and r1 are lost for a while,
    // so r2 and the traitor r3 commit alone; then r2 is cut off from r0 and r1, and r3's VIEW-CHANGE
    // lies (omits its certificates): the new view reuses a sequence number r2 executed.
    PlantedBug bug = PlantedBug.COMMIT_QUORUM_TOO_SMALL;
    ScenarioOptions options = new ScenarioOptions(4, 1, "lying-view-change", List.of(3), 60, null, null, false,
        io.pbft.config.Authentication.SIGNATURES, false);
    for (long seed = 1; seed <= 10; seed++) {
      long s = seed;
      java.util.function.Consumer<SimulationConfig.Builder> family = b -> {
        long t = 1_000 + new Random(s).nextInt(2_000);
        b.build().faults().drop(ReplicaMessage.BodyCase.PREPARE, Set.of(0, 1), 0, t)
            .silence(2, Set.of(0, 1), t, t + 30_000);
        b.cores(bug.cores());
        b.readOnlyReads(false); // a script's clients order every read, so the export runs them ordered
      };
      FuzzRunner.Outcome o = FuzzRunner.runOne(seed, options, family);
      Matcher sim = o.failed() ? SIM_AGREEMENT.matcher(o.firstProblem()) : null;
      if (sim == null || !sim.find()) {
        continue;
      }
      SimulationConfig.Builder b = o.scenario().config();
      b.cores(bug.cores()); // the scenario holds the family's faults already
      ScriptRunner buggy = new ScriptRunner(bug.cores());
      ScriptExport.Exported e = ScriptExport.export(b.build(), buggy);
      assertEquals(o.firstProblem(), e.result().violations().get(0), "the recorded run is the run of the seed");

      ScriptRunner.Result replay = buggy.run(ScriptFile.parse("seed-" + seed + ".txt", e.script()));
      assertNull(replay.mismatch(), () -> replay.mismatch().describe());
      assertEquals(0, replay.errors(), "every recorded delivery found its message in flight");
      assertEquals(1, replay.failedChecks().size(), "the replay's check fails");
      String check = checkOutput(replay.rewritten());
      String n = sim.group(1);
      assertTrue(check.contains("agreement violated at n=" + n + ":"), () -> "sim: " + o.firstProblem() + "\nreplay: " + check);
      String atN = check.lines().filter(l -> l.startsWith("agreement violated at n=" + n + ":")).findFirst().orElseThrow();
      assertTrue(atN.contains("r" + sim.group(2)) && atN.contains(sim.group(3)), () -> atN + " vs " + o.firstProblem());
      assertTrue(atN.contains("r" + sim.group(4)) && atN.contains(sim.group(5)), () -> atN + " vs " + o.firstProblem());

      // With the paper's cores the same script is refused: the run no longer reproduces.
      ScriptRunner.Result paper = ScriptRunner.paper().run(ScriptFile.parse("seed-" + seed + ".txt", e.script()));
      assertNotNull(paper.mismatch(), "the paper's cores do not do what the buggy ones did");
      return;
    }
    throw new AssertionError("no seed in 1..10 showed an agreement violation with " + bug);
  }

  private static String checkOutput(String script) {
    int at = script.lastIndexOf("\ncheck\n----\n");
    return script.substring(at + "\ncheck\n----\n".length());
  }

  /** The script's final status shows each correct replica where the simulator left it. */
  private static void assertSameFinalStates(SimulationResult result, String script) {
    int at = script.lastIndexOf("\nstatus\n----\n");
    Matcher m = STATUS.matcher(script.substring(at));
    List<String> replayed = new ArrayList<>();
    while (m.find()) {
      replayed.add("r" + m.group(1) + " executed=" + m.group(2) + " state=" + m.group(3));
    }
    List<String> simulated = new ArrayList<>();
    for (SimulationResult.ReplicaSummary r : result.replicas()) {
      simulated.add("r" + r.id() + " executed=" + r.lastExecuted() + " state=" + r.stateDigest().substring(0, 6));
    }
    assertEquals(simulated, replayed);
  }
}

package io.pbft.chaos.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every scenario under {@code src/test/resources/scenarios} against the paper's cores and
 * compares each command's output with the golden block in the file; the first line that differs
 * fails the test with its file and line number. {@code -Dpbft.scenarios.update=true} rewrites the
 * files with what the cores do now instead (then read the diff: the golden files are the spec).
 */
class ScenarioScriptTest {
  private static final Path SCENARIOS = Path.of("src", "test", "resources", "scenarios");
  private static final boolean UPDATE = Boolean.getBoolean("pbft.scenarios.update");

  @TestFactory
  Stream<DynamicTest> everyScenarioMatchesItsGoldenOutput() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(SCENARIOS)) {
      files = s.filter(p -> p.toString().endsWith(".txt")).sorted().toList();
    }
    assertFalse(files.size() < 10, "expected the scenarios in " + SCENARIOS.toAbsolutePath());
    return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> runOne(f)));
  }

  private static void runOne(Path file) {
    ScriptRunner.Result r = ScriptReplay.run(file, ScriptRunner.paper());
    if (UPDATE) {
      ScriptReplay.update(file, r);
      return;
    }
    if (r.mismatch() != null) {
      fail(r.mismatch().describe() + "\n(rerun with -Dpbft.scenarios.update=true to rewrite, then review the diff)");
    }
    assertTrue(r.failedChecks().isEmpty(), () -> "check failed at " + r.failedChecks());
    assertEquals(0, r.errors(), "commands that could not be carried out (error: lines)");
  }

  @Test
  void aChangedGoldenLineIsReportedWithItsFileAndLineNumber() {
    String text = """
        # a comment
        cluster n=4 clients=1
        ----
        n=4 f=1 clients=1 keys=1
        window=8 checkpoint=4 batch=10 pipeline=4 timeout=1000 chunk=512

        request c=0 t=1 op=put(a,1) to=0
        ----
        c0->r0 REQUEST c0:t1 put(a,1)
          r0->* PRE-PREPARE v=0 n=1 d=ffffff [c0:t1]

        check
        ----
        OK
        """;
    ScriptRunner.Result r = ScriptRunner.paper().run(ScriptFile.parse("inline.txt", text));
    assertEquals(10, r.mismatch().line());
    assertEquals("inline.txt", r.mismatch().file());
    assertTrue(r.mismatch().actual().startsWith("  r0->* PRE-PREPARE v=0 n=1 d=d36737"), r.mismatch().actual());
    assertEquals(text.replace("ffffff", "d36737") + "\n", r.rewritten(), "an update rewrites only the output blocks");
  }

  @Test
  void anEquivocatingPrimaryAloneBreaksNoAgreement() {
    String text = """
        cluster n=4 clients=2
        request c=0 t=1 op=put(a,1) to=0
        request c=1 t=1 op=put(a,2)
        forge 0->3 pre-prepare v=0 n=1 batch=c1:t1
        drop 0->3 pre-prepare d=d36737
        deliver all
        check
        """;
    ScriptRunner.Result r = ScriptRunner.paper().run(ScriptFile.parse("equivocation.txt", text));
    // Only r3 holds the forged batch; it cannot prepare it alone, so nothing disagrees.
    assertTrue(r.failedChecks().isEmpty(), () -> r.rewritten());
    assertEquals(0, r.errors(), () -> r.rewritten());
  }
}

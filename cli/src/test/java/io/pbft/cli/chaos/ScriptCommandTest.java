package io.pbft.cli.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pbft chaos sim --seed S --script FILE} saves a run; {@code pbft chaos replay FILE} runs it again. */
class ScriptCommandTest {
  private record Outcome(int code, String out, String err) {}

  private static Outcome run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Outcome(code, out.toString(), err.toString());
  }

  @Test
  void aSavedSeedReplaysAndAChangedLineIsCaught(@TempDir Path dir) throws IOException {
    Path script = dir.resolve("seed-3.txt");
    Outcome saved = run("chaos", "sim", "--seed", "3", "--replicas", "4", "--traitors", "0", "--ops", "8",
        "--clients", "2", "--no-nemesis", "--script", script.toString());
    assertEquals(0, saved.code(), saved::toString);
    assertTrue(saved.out().contains("script: " + script), saved.out());
    String text = Files.readString(script, StandardCharsets.UTF_8);
    assertTrue(text.startsWith("# The simulator run of seed 3"), text.substring(0, 200));
    assertTrue(text.contains("\ncluster n=4 clients=2 keys=3 "), "the keys of seed 3");

    Outcome replay = run("chaos", "replay", script.toString());
    assertEquals(0, replay.code(), () -> replay.out().substring(Math.max(0, replay.out().length() - 2000)));
    assertTrue(replay.out().endsWith("# PASS\n"), "ends with the verdict");

    // A golden line that no longer holds: the replay says where, and fails.
    int at = text.indexOf("\nOK\n");
    Files.writeString(script, text.substring(0, at) + "\nNOT OK\n" + text.substring(at + 4), StandardCharsets.UTF_8);
    long line = text.substring(0, at + 1).lines().count() + 1;
    Outcome changed = run("chaos", "replay", script.toString());
    assertEquals(1, changed.code());
    assertTrue(changed.out().contains("# MISMATCH " + script + ":" + line + ": output of `check` differs"),
        () -> changed.out().substring(Math.max(0, changed.out().length() - 600)));
  }

  @Test
  void scriptNeedsOneSeed() {
    Outcome o = run("chaos", "sim", "--seeds", "2", "--script", "x.txt");
    assertEquals(2, o.code(), o::toString);
    assertTrue(o.err().contains("--script needs --seed"), o.err());
  }
}

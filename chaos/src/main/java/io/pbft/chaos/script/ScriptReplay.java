package io.pbft.chaos.script;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Replays a script file and tells what it found: the script with the outputs of this run, the
 * first line that differs from the file, and the checks that failed. With {@code update}, the file
 * is rewritten with the outputs of this run instead of compared.
 */
public final class ScriptReplay {
  private ScriptReplay() {}

  public static ScriptRunner.Result run(Path file, ScriptRunner runner) {
    try {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      return runner.run(ScriptFile.parse(file.toString(), text));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Rewrites {@code file} with the outputs of {@code result} (an update run). */
  public static void update(Path file, ScriptRunner.Result result) {
    try {
      Files.writeString(file, result.rewritten(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Prints the script with this run's outputs, then the verdict; returns whether it passed (the
   * outputs matched, or were written back with {@code update}, and every check passed).
   */
  public static boolean replay(Path file, boolean update, ScriptRunner runner, PrintWriter out) {
    ScriptRunner.Result r = run(file, runner);
    out.print(r.rewritten());
    if (update) {
      update(file, r);
      out.println("# updated " + file);
    } else if (r.mismatch() != null) {
      out.println("# MISMATCH " + r.mismatch().describe());
    }
    r.failedChecks().forEach(at -> out.println("# CHECK FAILED at " + at));
    if (r.errors() > 0) {
      out.println("# " + r.errors() + " commands could not be carried out (see the error: lines)");
    }
    boolean ok = (update || r.mismatch() == null) && r.failedChecks().isEmpty();
    out.println(ok ? "# PASS" : "# FAIL");
    out.flush();
    return ok;
  }

  /** {@code ScriptReplay [--update] FILE...}: replays each file with the paper's cores. */
  public static void main(String[] args) {
    boolean update = false;
    boolean ok = true;
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    for (String a : args) {
      if (a.equals("--update")) {
        update = true;
      } else {
        ok &= replay(Path.of(a), update, ScriptRunner.paper(), out);
      }
    }
    System.exit(ok ? 0 : 1);
  }
}

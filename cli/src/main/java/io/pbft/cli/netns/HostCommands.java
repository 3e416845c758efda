package io.pbft.cli.netns;

import io.pbft.cli.CliException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs {@code ip}, {@code iptables} and the like on this machine, failing with their output. */
final class HostCommands {
  private static final long TIMEOUT_SECONDS = 30;

  private HostCommands() {}

  /** Runs {@code command}, returns its output (stdout and stderr), fails unless it exits 0. */
  static String run(List<String> command) {
    Result r = attempt(command);
    if (r.exit != 0) {
      throw CliException.failed(String.join(" ", command) + " failed (exit " + r.exit + "): " + r.output.trim());
    }
    return r.output;
  }

  /** Runs {@code command} and returns how it ended, without judging. */
  static Result attempt(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, output + " (timed out)");
      }
      return new Result(p.exitValue(), output);
    } catch (IOException e) {
      return new Result(-1, "cannot run " + command.get(0) + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CliException.failed("interrupted while running " + String.join(" ", command));
    }
  }

  record Result(int exit, String output) {
    boolean ok() {
      return exit == 0;
    }
  }
}

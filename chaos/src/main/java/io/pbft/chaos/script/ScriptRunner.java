package io.pbft.chaos.script;

import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.replica.core.ReplicaCore;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a {@link ScriptFile}: each command against one {@link ScriptCluster}, its output compared
 * with the expected block. The result tells the first line that differs (file and line number),
 * which {@code check} commands failed, and the file rewritten with the actual outputs (what an
 * update run writes back).
 *
 * <p>Commands: {@code cluster}, {@code request}, {@code deliver}, {@code drop}, {@code queue},
 * {@code forge}, {@code inject}, {@code tick}, {@code crash}, {@code resume}, {@code restart},
 * {@code status}, {@code replies}, {@code rejections}, {@code check}; each class that implements
 * them documents its own.
 */
public final class ScriptRunner {
  /** The first output line that differs from the expected one (a missing line is the empty string). */
  public record Mismatch(String file, int line, String command, String expected, String actual) {
    public String describe() {
      return file + ":" + line + ": output of `" + command + "` differs\n  expected: " + expected + "\n  actual:   "
          + actual;
    }
  }

  /** What a run found. */
  public record Result(ScriptFile file, List<List<String>> outputs, Mismatch mismatch, List<String> failedChecks,
      int errors) {
    /** The outputs matched and every {@code check} passed. */
    public boolean passed() {
      return mismatch == null && failedChecks.isEmpty();
    }

    /** The script with each expected block replaced by what the run printed. */
    public String rewritten() {
      return file.render(outputs);
    }
  }

  private final SimulationConfig.CoreFactory cores;

  /** A runner whose cores {@code cores} builds (tests plant bugs with it). */
  public ScriptRunner(SimulationConfig.CoreFactory cores) {
    this.cores = cores;
  }

  /** A runner of the paper's cores, as shipped. */
  public static ScriptRunner paper() {
    return new ScriptRunner(ReplicaCore::new);
  }

  public Result run(ScriptFile file) {
    Output out = new Output();
    List<List<String>> outputs = new ArrayList<>();
    List<String> failedChecks = new ArrayList<>();
    Mismatch first = null;
    int errors = 0;
    ScriptCluster cluster = null;
    for (ScriptFile.Block block : file.blocks()) {
      try {
        Command c = Command.parse(block.command());
        if (c.name().equals("cluster")) {
          ScriptCluster.Setup setup = ClusterCommand.parse(c);
          cluster = new ScriptCluster(setup, cores, out);
          ClusterCommand.describe(setup, out);
        } else if (cluster == null) {
          throw new ScriptError("no cluster yet: a script starts with `cluster n=...`");
        } else if (!run(cluster, c)) {
          failedChecks.add(file.name() + ":" + block.line());
        }
      } catch (ScriptError e) {
        out.line("error: " + e.getMessage());
        errors++;
      }
      List<String> actual = out.take();
      outputs.add(actual);
      if (first == null) {
        first = compare(file, block, actual);
      }
    }
    return new Result(file, outputs, first, failedChecks, errors);
  }

  /** Runs one command; false if it was a {@code check} that failed. */
  private static boolean run(ScriptCluster cluster, Command c) {
    switch (c.name()) {
      case "request" -> ReplicaCommands.request(cluster, c);
      case "tick" -> ReplicaCommands.tick(cluster, c);
      case "crash" -> ReplicaCommands.crash(cluster, c);
      case "resume" -> ReplicaCommands.resume(cluster, c);
      case "restart" -> ReplicaCommands.restart(cluster, c);
      case "deliver" -> NetworkCommands.deliver(cluster, c);
      case "drop" -> NetworkCommands.drop(cluster, c);
      case "queue" -> NetworkCommands.queue(cluster);
      case "forge" -> NetworkCommands.forge(cluster, c);
      case "inject" -> NetworkCommands.inject(cluster, c);
      case "status" -> ReportCommands.status(cluster);
      case "replies" -> ReportCommands.replies(cluster, c);
      case "rejections" -> ReportCommands.rejections(cluster, c);
      case "check" -> {
        return ReportCommands.check(cluster);
      }
      default -> throw new ScriptError("unknown command " + c.name());
    }
    return true;
  }

  private static Mismatch compare(ScriptFile file, ScriptFile.Block block, List<String> actual) {
    List<String> expected = block.expected();
    for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
      String e = i < expected.size() ? expected.get(i) : "";
      String a = i < actual.size() ? actual.get(i) : "";
      if (!e.equals(a)) {
        return new Mismatch(file.name(), block.line() + 2 + i, block.command(), e, a);
      }
    }
    return null;
  }
}

package io.pbft.chaos.fuzz;

import io.pbft.chaos.sim.SimulationResult;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;

/** The text a person reads about runs: one failing seed in full, or a batch's summary. */
public final class FuzzReport {
  private FuzzReport() {}

  /** A failing seed: the command that replays it, its scenario, its violations and its trace. */
  public static String failure(FuzzRunner.Outcome o) {
    StringBuilder b = new StringBuilder();
    Scenario s = o.scenario();
    b.append("FAIL seed ").append(s.seed()).append(": ").append(o.firstProblem()).append('\n');
    b.append("  replay:   ").append(s.replayCommand()).append('\n');
    b.append("  scenario: ").append(s.describe()).append('\n');
    if (o.crash() != null) {
      StringWriter trace = new StringWriter();
      o.crash().printStackTrace(new PrintWriter(trace));
      b.append(indent(trace.toString()));
      return b.toString();
    }
    b.append(indent(o.result().report()));
    return b.toString();
  }

  /** One seed, passed or not: scenario, figures, replica end states (and on failure, everything). */
  public static String single(FuzzRunner.Outcome o) {
    if (o.failed()) {
      return failure(o);
    }
    Scenario s = o.scenario();
    SimulationResult r = o.result();
    StringBuilder b = new StringBuilder();
    b.append("ok seed ").append(s.seed()).append('\n');
    b.append("  replay:   ").append(s.replayCommand()).append('\n');
    b.append("  scenario: ").append(s.describe()).append('\n');
    b.append("  ").append(r.summary()).append('\n');
    b.append("  checked: agreement on ").append(r.batchesCompared())
        .append(" executed batches (null requests included), exactly-once, validity of every request, ")
        .append(r.checkpointsCompared()).append(" checkpoint digests, ").append(r.statementsCompared())
        .append(" signed statements for equivocation, linearizability of ").append(r.opsCompleted())
        .append(" operations, liveness after healing").append(r.livenessBoundMs() < 0 ? ""
            : " (bound " + r.livenessBoundMs() + " ms)").append(", convergence of views and states, final state\n");
    b.append("  run fingerprint: ").append(r.fingerprintHex()).append(" (equal for every replay of this seed)\n");
    r.replicas().forEach(x -> b.append("  ").append(x).append('\n'));
    if (!r.verifierRejections().isEmpty()) {
      b.append("  inbound verifier refused: ").append(r.verifierRejections()).append('\n');
    }
    r.byzantineClients().forEach(c -> b.append("  Byzantine ").append(c).append('\n'));
    return b.toString();
  }

  public static String summary(FuzzRunner.Summary s) {
    StringBuilder b = new StringBuilder();
    b.append(String.format("runs:              %d (%d with traitors, %d beyond f), group sizes %s%n", s.runs(),
        s.runsWithTraitors(), s.runsBeyondF(), sizes(s.groupSizes())));
    b.append(String.format("time:              %.1f s, %.1f seeds per minute (%.1f per CPU-minute of simulation)%n",
        s.wallMs() / 1000.0, s.seedsPerMinute(), s.seedsPerCpuMinute()));
    b.append(String.format("simulated:         %d client operations, %.0f ops per second, %.0f virtual seconds%n",
        s.opsCompleted(), s.simulatedOpsPerSecond(), s.virtualMs() / 1000.0));
    b.append(String.format("liveness:          slowest operation after healing took %.1f virtual s; at most %.0f %% "
        + "of its run's bound%n", s.slowestAfterHealMs() / 1000.0, 100 * s.largestShareOfLivenessBound()));
    b.append("behaviours covered: ").append(s.behaviours().size()).append(' ').append(s.behaviours()).append('\n');
    b.append("client behaviours: ").append(s.clientBehaviours().size()).append(' ').append(s.clientBehaviours())
        .append(" in ").append(s.runsWithByzantineClients()).append(" runs with Byzantine clients\n");
    b.append("nemesis covered:   ").append(s.nemesis()).append('\n');
    b.append("workloads:         ").append(s.workloads().stream().map(w -> w.label()).toList()).append('\n');
    b.append("violations:        ").append(s.failures().size());
    if (!s.failures().isEmpty()) {
      b.append(' ').append(s.violationKinds()).append(", seeds ")
          .append(s.failures().stream().limit(20).map(o -> String.valueOf(o.scenario().seed())).toList());
    }
    b.append('\n');
    return b.toString();
  }

  private static String sizes(Map<Integer, Integer> sizes) {
    StringBuilder b = new StringBuilder();
    sizes.forEach((n, c) -> b.append(b.length() == 0 ? "" : ", ").append("n=").append(n).append(": ").append(c));
    return b.toString();
  }

  private static String indent(String text) {
    StringBuilder b = new StringBuilder();
    for (String line : text.split("\n")) {
      b.append("    ").append(line).append('\n');
    }
    return b.toString();
  }
}

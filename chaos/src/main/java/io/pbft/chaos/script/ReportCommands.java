package io.pbft.chaos.script;

import io.pbft.proto.Reply;
import io.pbft.replica.core.ReplicaCore;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;

/** Commands that only look: {@code status}, {@code replies}, {@code rejections}, {@code check}. */
final class ReportCommands {
  private ReportCommands() {}

  /**
   * {@code status}: per replica its view (and whether it is changing views), the last batch it
   * executed, its low watermark h, its log size, its state digest.
   */
  static void status(ScriptCluster cluster) {
    for (ScriptReplica r : cluster.replicas) {
      ReplicaCore c = r.core();
      StringBuilder b = new StringBuilder("r" + r.id());
      b.append(" v=").append(c.view()).append(c.viewChanging() ? " changing" : "")
          .append(c.isPrimary() ? " primary" : "")
          .append(" executed=").append(c.lastExecuted()).append(" h=").append(c.lowWatermark())
          .append(" log=").append(c.logSize())
          .append(" state=").append(Describe.digest(r.execution().stateDigest()));
      if (c.fetchingState()) {
        b.append(" fetching");
      }
      if (r.down()) {
        b.append(" down");
      }
      if (r.traitor()) {
        b.append(" traitor");
      }
      cluster.out.line(b.toString());
    }
  }

  /**
   * {@code replies c=0}: per timestamp, each result and the replicas that sent it; "accepted" once
   * f + 1 replicas sent the same result (what the client waits for, section 4.1).
   */
  static void replies(ScriptCluster cluster, Command c) {
    int client = (int) Command.parseLong("c", c.required("c"));
    TreeMap<Long, TreeMap<Integer, Reply>> all = cluster.repliesTo(client);
    if (all.isEmpty()) {
      cluster.out.line("c" + client + ": no replies");
    }
    all.forEach((t, byReplica) -> {
      Map<String, StringJoiner> byResult = new TreeMap<>();
      byReplica.forEach((r, reply) -> byResult.computeIfAbsent(Describe.result(reply.getResult()),
          k -> new StringJoiner(",")).add("r" + r));
      StringJoiner line = new StringJoiner("; ", "c" + client + ":t" + t + " ", "");
      boolean accepted = false;
      for (Map.Entry<String, StringJoiner> e : byResult.entrySet()) {
        line.add(e.getKey() + " from " + e.getValue());
        accepted |= e.getValue().toString().split(",").length >= cluster.f + 1;
      }
      cluster.out.line(line + (accepted ? " (accepted)" : " (not yet f+1)"));
    });
  }

  /** {@code rejections [r2]}: what each replica's core dropped, and its verifier refused, by reason. */
  static void rejections(ScriptCluster cluster, Command c) {
    List<ScriptReplica> which = cluster.replicas(c.words().isEmpty() ? "*" : c.words().get(0));
    for (ScriptReplica r : which) {
      Map<String, Long> core = r.core().rejections().snapshot();
      Map<String, Long> verifier = cluster.refusedAt(r.id()).snapshot();
      if (core.isEmpty() && verifier.isEmpty()) {
        cluster.out.line("r" + r.id() + ": none");
      }
      core.forEach((label, n) -> cluster.out.line("r" + r.id() + " " + label + ": " + n));
      verifier.forEach((label, n) -> cluster.out.line("r" + r.id() + " (verifier) " + label + ": " + n));
    }
  }

  /**
   * {@code check}: OK, or each agreement violation (two correct replicas executed different batches
   * at one sequence number) and each correct replica whose core threw.
   */
  static boolean check(ScriptCluster cluster) {
    List<String> problems = cluster.problems();
    if (problems.isEmpty()) {
      cluster.out.line("OK");
      return true;
    }
    problems.forEach(cluster.out::line);
    return false;
  }
}

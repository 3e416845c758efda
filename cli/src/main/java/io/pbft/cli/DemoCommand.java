package io.pbft.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pbft.cli.bench.KvWorkloads;
import io.pbft.cli.bench.LatencySummary;
import io.pbft.cli.bench.LoadDriver;
import io.pbft.cli.bench.ReplicatedTarget;
import io.pbft.cli.cluster.ClusterStatus;
import io.pbft.cli.cluster.LocalCluster;
import io.pbft.cli.cluster.ReplicaStatus;
import io.pbft.cli.cluster.StatusReport;
import io.pbft.chaos.traitor.Traitors;
import io.pbft.chaos.traitor.Twins;
import io.pbft.config.Authentication;
import io.pbft.config.ClusterConfig;
import io.pbft.testkit.StatusProbe;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pbft demo}: a self-contained tour. Starts four replica processes, runs a mixed
 * key-value workload through them, and shows that every replica ended in the same state. With
 * {@code --traitor NAME} one of the four runs a traitor behaviour from the chaos catalogue, and
 * the summary shows that the cluster survived it and that the three correct replicas agree.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run a mixed key-value workload on 4 local replica processes and check they agree.",
        "Starts the replicas on free 127.0.0.1 ports, stops them afterwards, and exits 0 only if every",
        "replica ends in the same state and no operation failed.",
        "With --traitor NAME one replica lies (see pbft chaos behaviours): then the correct ones must agree."})
final class DemoCommand implements Callable<Integer> {
  private static final int REPLICAS = 4;
  private static final int KEYS = 300;
  private static final Duration SETTLE = Duration.ofSeconds(10);

  @Spec
  CommandSpec spec;

  @Option(names = "--ops", paramLabel = "N", defaultValue = "20000", description = "Operations in total (default ${DEFAULT-VALUE}).")
  int ops;

  @Option(names = "--clients", paramLabel = "N", defaultValue = "50",
      description = "Concurrent clients sharing the operations (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--json", description = "Print the summary as one JSON object.")
  boolean json;

  @Option(names = "--traitor", paramLabel = "NAME",
      description = {"Run one replica as a traitor with this behaviour (e.g. equivocating-primary, silent, "
          + "lying-replies; several joined with '+'; list: pbft chaos behaviours)."})
  String traitor;

  @Option(names = "--traitor-id", paramLabel = "I",
      description = "Which replica is the traitor (default: where the behaviour does the most harm: 0 for a primary's "
          + "lies, 1 for a new primary's, 3 otherwise).")
  Integer traitorId;

  @Option(names = "--traitor-seed", paramLabel = "SEED", defaultValue = "1",
      description = "Seed of the traitor's random choices (default ${DEFAULT-VALUE}).")
  long traitorSeed;

  @Option(names = "--keep-logs", description = "Keep the demo's temporary directory (each replica's log and GC log, "
      + "keys, cluster file) and print where it is.")
  boolean keepLogs;

  @Override
  public Integer call() throws Exception {
    if (ops < 1) {
      throw CliException.usage("--ops must be at least 1, got " + ops);
    }
    if (clients < 1) {
      throw CliException.usage("--clients must be at least 1, got " + clients);
    }
    int traitorAt = traitorPlace();
    PrintWriter err = spec.commandLine().getErr();
    try (LocalCluster cluster = LocalCluster.create("demo", err)) {
      if (keepLogs) {
        cluster.keepDirectory();
      }
      // The demo's replicas live for seconds: the C1 compiler alone has them compiled at once,
      // where the full tiered JIT keeps two cores busy for most of a minute (docs/PERFORMANCE.md).
      cluster.jvmFlags(List.of("-XX:TieredStopAtLevel=1"));
      ClusterConfig cfg = cluster.generate(REPLICAS, clients);
      cluster.startReplicas(cfg, traitorAt < 0 ? Map.of() : Map.of(traitorAt,
          List.of("--traitor", traitor.strip(), "--traitor-seed", String.valueOf(traitorSeed))));
      cluster.awaitHealthy(StatusProbe.targets(cfg));
      if (traitorAt >= 0) {
        err.printf("replica %d is a TRAITOR (%s); the other three are correct%n", traitorAt, traitor.strip());
      }
      err.printf("running %d operations (put/get/cas/delete over %d keys) with %d clients; authentication: %s%n",
          ops, KEYS, clients, BenchCommand.authenticationLabel(cfg));
      err.flush();
      LoadDriver.Result result;
      List<Integer> ids = IntStream.range(0, clients).boxed().toList();
      try (ReplicatedTarget target = new ReplicatedTarget(cfg, ids, Duration.ofSeconds(30), true)) {
        result = new LoadDriver(LoadDriver.Plan.counted(clients, ops), KvWorkloads.mixed(target, KEYS), err).run();
      }
      // Backups may still be executing the last batches: wait until every replica reports the
      // same last executed sequence number and state digest, or give up after SETTLE.
      err.println("waiting for all " + (traitorAt < 0 ? "" : "correct ") + "replicas to report the same state");
      err.flush();
      ClusterStatus.Snapshot status;
      try (ClusterStatus poller = ClusterStatus.open(cfg)) {
        status = poller.await(s -> correctAgree(s, traitorAt), SETTLE, Duration.ofSeconds(1), () -> { });
      }
      boolean agree = correctAgree(status, traitorAt);
      print(result, status, agree, traitorAt, cfg.authentication());
      err.println("stopping the replicas");
      err.flush();
      if (!agree || result.errors() > 0) {
        throw CliException.failed(!agree ? "the " + (traitorAt < 0 ? "" : "correct ") + "replicas do not agree on the "
            + "final state" : result.errors() + " operations failed (first: " + result.firstError() + ")");
      }
      return 0;
    }
  }

  /** The traitor's replica id, or -1 without --traitor; checks the name and the id. */
  private int traitorPlace() {
    if (traitor == null || traitor.isBlank()) {
      if (traitorId != null) {
        throw CliException.usage("--traitor-id needs --traitor NAME");
      }
      return -1;
    }
    Traitors.Role role;
    try {
      role = Traitors.role(traitor.strip());
    } catch (IllegalArgumentException e) {
      throw CliException.usage("--traitor: " + e.getMessage());
    }
    if (Traitors.parts(traitor.strip()).contains(Twins.NAME)) {
      throw CliException.usage("--traitor: twins runs only in the simulator (pbft chaos sim --behaviour twins)");
    }
    int id = traitorId != null ? traitorId : switch (role) {
      case PRIMARY -> 0;
      case NEXT_PRIMARY -> 1;
      case ANY -> REPLICAS - 1;
    };
    if (id < 0 || id >= REPLICAS) {
      throw CliException.usage("--traitor-id must be between 0 and " + (REPLICAS - 1) + ", got " + id);
    }
    return id;
  }

  /** Every correct replica (all but the traitor, if any) reachable and in the same state. */
  static boolean correctAgree(ClusterStatus.Snapshot s, int traitorAt) {
    List<ReplicaStatus> correct = s.replicas().stream().filter(r -> r.id() != traitorAt).toList();
    if (correct.isEmpty() || !correct.stream().allMatch(ReplicaStatus::reachable)) {
      return false;
    }
    ReplicaStatus first = correct.get(0);
    return correct.stream().allMatch(r -> r.lastExecuted() == first.lastExecuted()
        && r.digestHex().equals(first.digestHex()));
  }

  private void print(LoadDriver.Result r, ClusterStatus.Snapshot status, boolean agree, int traitorAt,
      Authentication authentication)
      throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    LatencySummary latency = LatencySummary.of(r.latencyMicros());
    if (json) {
      ObjectNode o = StatusReport.JSON.createObjectNode();
      o.put("operations", r.operations());
      o.put("errors", r.errors());
      o.put("clients", clients);
      o.put("durationSec", Math.round(r.seconds() * 1000) / 1000.0);
      o.put("throughputOpsPerSec", Math.round(r.throughput() * 10) / 10.0);
      latency.addTo(o);
      ArrayNode replicas = o.putArray("replicas");
      for (ReplicaStatus s : status.replicas()) {
        replicas.add(StatusReport.toJson(s));
      }
      o.put("agree", agree);
      o.put("authentication", authentication.yamlName());
      if (traitorAt >= 0) {
        ObjectNode t = o.putObject("traitor");
        t.put("id", traitorAt);
        t.put("behaviour", traitor.strip());
        o.put("survived", r.errors() == 0);
        o.put("correctReplicasAgree", agree);
      }
      out.println(StatusReport.JSON.writeValueAsString(o));
    } else {
      out.printf("operations: %d by %d clients in %.1f s, %d errors (authentication: %s)%n", r.operations(), clients,
          r.seconds(), r.errors(), authentication.yamlName());
      out.printf("throughput: %.1f ops/s%n", r.throughput());
      out.printf("latency:    %s%n", latency.describe());
      out.println();
      out.printf("%-8s %-6s %-14s %s%n", "REPLICA", "VIEW", "LAST-EXECUTED", "STATE-DIGEST");
      for (ReplicaStatus s : status.replicas()) {
        String mark = s.id() == traitorAt ? "  (traitor: " + traitor.strip() + ")" : "";
        if (s.reachable()) {
          out.printf("%-8d %-6d %-14d %s%s%n", s.id(), s.view(), s.lastExecuted(), s.digestHex(), mark);
        } else {
          out.printf("%-8d unreachable: %s%s%n", s.id(), s.error(), mark);
        }
      }
      if (traitorAt < 0) {
        out.println("replicas agree: " + (agree ? "yes" : "no"));
      } else {
        out.printf("traitor: replica %d (%s)%n", traitorAt, traitor.strip());
        out.println("cluster survived: " + (r.errors() == 0 ? "yes, every operation completed" : "no, "
            + r.errors() + " operations failed"));
        out.println("correct replicas agree: " + (agree ? "yes" : "no"));
      }
    }
    out.flush();
  }
}

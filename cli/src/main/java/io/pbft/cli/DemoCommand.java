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
import io.pbft.config.ClusterConfig;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pbft demo}: a self-contained tour. Starts four replica processes, runs a mixed
 * key-value workload through them, and shows that every replica ended in the same state.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run a mixed key-value workload on 4 local replica processes and check they agree.",
        "Starts the replicas on free 127.0.0.1 ports, stops them afterwards, and exits 0 only if every",
        "replica ends in the same state and no operation failed."})
final class DemoCommand implements Callable<Integer> {
  private static final int REPLICAS = 4;
  private static final int KEYS = 300;
  private static final Duration SETTLE = Duration.ofSeconds(10);

  @Spec
  CommandSpec spec;

  @Option(names = "--ops", paramLabel = "N", defaultValue = "3000", description = "Operations in total (default ${DEFAULT-VALUE}).")
  int ops;

  @Option(names = "--clients", paramLabel = "N", defaultValue = "16",
      description = "Concurrent clients sharing the operations (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--json", description = "Print the summary as one JSON object.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (ops < 1) {
      throw CliException.usage("--ops must be at least 1, got " + ops);
    }
    if (clients < 1) {
      throw CliException.usage("--clients must be at least 1, got " + clients);
    }
    PrintWriter err = spec.commandLine().getErr();
    try (LocalCluster cluster = LocalCluster.create("demo", err)) {
      ClusterConfig cfg = cluster.generate(REPLICAS, clients);
      cluster.startReplicas(cfg);
      cluster.awaitHealthy(ClusterStatus.targets(cfg));
      err.printf("running %d operations (put/get/cas/delete over %d keys) with %d clients%n", ops, KEYS, clients);
      err.flush();
      LoadDriver.Result result;
      List<Integer> ids = IntStream.range(0, clients).boxed().toList();
      try (ReplicatedTarget target = new ReplicatedTarget(cfg, ids, Duration.ofSeconds(30))) {
        result = new LoadDriver(LoadDriver.Plan.counted(clients, ops), KvWorkloads.mixed(target, KEYS), err).run();
      }
      // Backups may still be executing the last batches: wait until every replica reports the
      // same last executed sequence number and state digest, or give up after SETTLE.
      err.println("waiting for all replicas to report the same state");
      err.flush();
      ClusterStatus.Snapshot status;
      try (ClusterStatus poller = ClusterStatus.open(cfg)) {
        status = poller.await(ClusterStatus.Snapshot::allAgree, SETTLE, Duration.ofSeconds(1), () -> { });
      }
      boolean agree = status.allAgree();
      print(result, status, agree);
      err.println("stopping the replicas");
      err.flush();
      if (!agree || result.errors() > 0) {
        throw CliException.failed(!agree ? "the replicas do not agree on the final state"
            : result.errors() + " operations failed (first: " + result.firstError() + ")");
      }
      return 0;
    }
  }

  private void print(LoadDriver.Result r, ClusterStatus.Snapshot status, boolean agree) throws Exception {
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
      out.println(StatusReport.JSON.writeValueAsString(o));
    } else {
      out.printf("operations: %d by %d clients in %.1f s, %d errors%n", r.operations(), clients, r.seconds(), r.errors());
      out.printf("throughput: %.1f ops/s%n", r.throughput());
      out.printf("latency:    %s%n", latency.describe());
      out.println();
      out.printf("%-8s %-6s %-14s %s%n", "REPLICA", "VIEW", "LAST-EXECUTED", "STATE-DIGEST");
      for (ReplicaStatus s : status.replicas()) {
        if (s.reachable()) {
          out.printf("%-8d %-6d %-14d %s%n", s.id(), s.view(), s.lastExecuted(), s.digestHex());
        } else {
          out.printf("%-8d unreachable: %s%n", s.id(), s.error());
        }
      }
      out.println("replicas agree: " + (agree ? "yes" : "no"));
    }
    out.flush();
  }
}

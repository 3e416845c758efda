package io.pbft.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pbft.cli.bench.KvTarget;
import io.pbft.cli.bench.KvWorkloads;
import io.pbft.cli.bench.LatencySummary;
import io.pbft.cli.bench.LoadDriver;
import io.pbft.cli.bench.ReplicatedTarget;
import io.pbft.cli.bench.UnreplicatedServer;
import io.pbft.cli.bench.UnreplicatedTarget;
import io.pbft.cli.cluster.ClusterStatus;
import io.pbft.cli.cluster.FreePorts;
import io.pbft.cli.cluster.LocalCluster;
import io.pbft.cli.cluster.StatusReport;
import io.pbft.config.ClientInfo;
import io.pbft.config.ClusterConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pbft bench}: closed-loop throughput and latency of KV puts, against replica processes
 * it starts, a running cluster (--config), or the unreplicated baseline (--unreplicated).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"Measure throughput and latency of closed-loop key-value clients.",
        "Without --config it starts its own replica processes on free 127.0.0.1 ports and stops them afterwards.",
        "Progress goes to stderr, results to stdout."})
final class BenchCommand implements Callable<Integer> {
  private static final int KEYS = 1000;
  private static final int DEFAULT_REPLICAS = 4;
  private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(30);

  @Spec
  CommandSpec spec;

  @Option(names = "--clients", paramLabel = "N", defaultValue = "50", description = "Closed-loop clients (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--duration", paramLabel = "SECONDS", defaultValue = "30",
      description = "Measured time after the warm-up (default ${DEFAULT-VALUE}).")
  int duration;

  @Option(names = "--warmup", paramLabel = "SECONDS", defaultValue = "10",
      description = "Unmeasured warm-up (default ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--payload", paramLabel = "BYTES", defaultValue = "0", description = "Value size of each put (default ${DEFAULT-VALUE}).")
  int payload;

  @Option(names = "--replicas", paramLabel = "N", description = "Replica processes to start (default " + DEFAULT_REPLICAS + ").")
  Integer replicas;

  @Option(names = "--read-ratio", paramLabel = "R", defaultValue = "0",
      description = "Fraction of operations that are gets instead of puts, 0..1 (default ${DEFAULT-VALUE}).")
  double readRatio;

  @Option(names = "--config", paramLabel = "FILE", description = "Drive this running cluster instead of starting one.")
  Path config;

  @Option(names = "--unreplicated", description = "Baseline: one plain gRPC server with the same store, no agreement, no signatures.")
  boolean unreplicated;

  @Option(names = "--json", description = "Print the result as one JSON object.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    validate();
    PrintWriter err = spec.commandLine().getErr();
    LocalCluster cluster = null;
    KvTarget target = null;
    try {
      int replicaCount;
      if (config != null) {
        ClusterConfig cfg = Configs.load(config);
        checkPayload(cfg);
        target = new ReplicatedTarget(cfg, clientIds(cfg), OPERATION_TIMEOUT);
        replicaCount = cfg.n();
        requireReachable(cfg);
      } else if (unreplicated) {
        cluster = LocalCluster.create("bench", err);
        int port = FreePorts.findConsecutive(1);
        cluster.start("unreplicated-server", UnreplicatedServer.class.getName(), List.of("--port", String.valueOf(port)));
        cluster.awaitHealthy(List.of(new ClusterStatus.Target(0, "127.0.0.1", port)));
        err.printf("started the unreplicated server on 127.0.0.1:%d%n", port);
        target = new UnreplicatedTarget("127.0.0.1", port, clients, OPERATION_TIMEOUT);
        replicaCount = 1;
      } else {
        replicaCount = replicas == null ? DEFAULT_REPLICAS : replicas;
        cluster = LocalCluster.create("bench", err);
        ClusterConfig cfg = cluster.generate(replicaCount, clients);
        checkPayload(cfg);
        cluster.startReplicas(cfg);
        cluster.awaitHealthy(ClusterStatus.targets(cfg));
        target = new ReplicatedTarget(cfg, clientIds(cfg), OPERATION_TIMEOUT);
      }
      String mode = unreplicated ? "unreplicated" : "replicated";
      err.printf("bench: %s, %d %s, %d clients, %d-byte values, read ratio %.2f, warm-up %d s, measuring %d s%n",
          mode, replicaCount, unreplicated ? "server" : "replicas", clients, payload, readRatio, warmup, duration);
      err.flush();
      LoadDriver.Result r = new LoadDriver(
          LoadDriver.Plan.timed(clients, Duration.ofSeconds(warmup), Duration.ofSeconds(duration)),
          KvWorkloads.putGet(target, KEYS, payload, readRatio), err).run();
      print(r, mode, replicaCount);
      if (r.operations() == 0) {
        throw CliException.failed("no operation completed in the measured interval"
            + (r.firstError() == null ? "" : "; first error: " + r.firstError()));
      }
      return 0;
    } finally {
      if (target != null) {
        target.close();
      }
      if (cluster != null) {
        err.println("stopping the processes bench started");
        err.flush();
        cluster.close();
      }
    }
  }

  private void validate() {
    if (clients < 1) {
      throw CliException.usage("--clients must be at least 1, got " + clients);
    }
    if (duration < 1) {
      throw CliException.usage("--duration must be at least 1 second, got " + duration);
    }
    if (warmup < 0) {
      throw CliException.usage("--warmup must not be negative, got " + warmup);
    }
    if (payload < 0) {
      throw CliException.usage("--payload must not be negative, got " + payload);
    }
    if (!(readRatio >= 0 && readRatio <= 1)) {
      throw CliException.usage("--read-ratio must be between 0 and 1, got " + readRatio);
    }
    if (replicas != null && replicas < 1) {
      throw CliException.usage("--replicas must be at least 1, got " + replicas);
    }
    if (config != null && unreplicated) {
      throw CliException.usage("--unreplicated starts its own server; it cannot be combined with --config");
    }
    if (config != null && replicas != null) {
      throw CliException.usage("--replicas cannot be combined with --config (the configuration lists the replicas)");
    }
    if (unreplicated && replicas != null) {
      throw CliException.usage("--replicas does not apply to --unreplicated (it runs one server)");
    }
  }

  /** An operation larger than the cluster accepts would fail every time: say so up front. */
  private void checkPayload(ClusterConfig cfg) {
    int max = cfg.protocol().operationBytesMax() - 64; // room for the key and the encoding
    if (payload > max) {
      throw CliException.usage("--payload " + payload + " exceeds what the cluster accepts (" + max + " bytes)");
    }
  }

  /** The first --clients client identities of the configuration, by id. */
  private List<Integer> clientIds(ClusterConfig cfg) {
    List<Integer> ids = cfg.clients().stream().map(ClientInfo::id).sorted(Comparator.naturalOrder()).toList();
    if (ids.size() < clients) {
      throw CliException.usage("--clients " + clients + " needs " + clients + " client identities, but "
          + (config != null ? config : "the configuration") + " has " + ids.size()
          + " (generate more with 'pbft keygen --clients " + clients + "')");
    }
    return IntStream.range(0, clients).mapToObj(ids::get).toList();
  }

  private void requireReachable(ClusterConfig cfg) {
    try (ClusterStatus status = ClusterStatus.open(cfg)) {
      ClusterStatus.Snapshot s = status.poll(Duration.ofSeconds(2));
      if (s.reachableCount() < 2L * cfg.f() + 1) {
        throw CliException.failed("only " + s.reachableCount() + " of " + cfg.n()
            + " replicas are reachable; the cluster needs 2f+1 = " + (2 * cfg.f() + 1) + " to make progress");
      }
    }
  }

  private void print(LoadDriver.Result r, String mode, int replicaCount) throws JsonProcessingException {
    PrintWriter out = spec.commandLine().getOut();
    LatencySummary latency = LatencySummary.of(r.latencyMicros());
    if (json) {
      ObjectNode o = StatusReport.JSON.createObjectNode();
      o.put("mode", mode);
      o.put("throughputOpsPerSec", Math.round(r.throughput() * 10) / 10.0);
      latency.addTo(o);
      o.put("operations", r.operations());
      o.put("errors", r.errors());
      o.put("clients", clients);
      o.put("replicas", replicaCount);
      o.put("payloadBytes", payload);
      o.put("readRatio", readRatio);
      o.put("durationSec", duration);
      o.put("warmupSec", warmup);
      if (r.firstError() != null) {
        o.put("firstError", r.firstError());
      }
      out.println(StatusReport.JSON.writeValueAsString(o));
    } else {
      out.printf("mode:       %s (%d %s, %d clients, %d-byte values)%n", mode, replicaCount,
          unreplicated ? "server" : "replicas", clients, payload);
      out.printf("throughput: %.1f ops/s (%d operations in %d s after a %d s warm-up)%n", r.throughput(),
          r.operations(), duration, warmup);
      out.printf("latency:    %s%n", latency.describe());
      out.printf("errors:     %d%s%n", r.errors(), r.firstError() == null ? "" : " (first: " + r.firstError() + ")");
    }
    out.flush();
  }
}

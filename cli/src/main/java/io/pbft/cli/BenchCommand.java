package io.pbft.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pbft.client.KvClient;
import io.pbft.cli.bench.CpuUsage;
import io.pbft.cli.bench.Fault;
import io.pbft.cli.bench.VerifiedPuts;
import io.pbft.cli.bench.FaultInjector;
import io.pbft.cli.bench.FaultReport;
import io.pbft.cli.bench.GcLog;
import io.pbft.cli.bench.HeapReport;
import io.pbft.cli.bench.KvTarget;
import io.pbft.cli.bench.KvWorkloads;
import io.pbft.cli.bench.LatencySummary;
import io.pbft.cli.bench.LoadDriver;
import io.pbft.cli.bench.MetricsScraper;
import io.pbft.cli.bench.ReplicatedTarget;
import io.pbft.cli.bench.RequestCapture;
import io.pbft.cli.bench.UnreplicatedServer;
import io.pbft.cli.bench.UnreplicatedTarget;
import io.pbft.cli.cluster.ClusterStatus;
import io.pbft.cli.cluster.DiskUsage;
import io.pbft.cli.cluster.LocalCluster;
import io.pbft.cli.cluster.ReplicaStatus;
import io.pbft.cli.cluster.StatusReport;
import io.pbft.cli.netns.LinkConditions;
import io.pbft.cli.netns.NetnsNetwork;
import io.pbft.config.ClientInfo;
import io.pbft.config.ClusterConfig;
import io.pbft.config.MetricsAddress;
import io.pbft.config.ReplicaInfo;
import io.pbft.testkit.ClusterConfigs;
import io.pbft.testkit.Ports;
import io.pbft.testkit.StatusProbe;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pbft bench}: closed-loop throughput and latency of KV puts, against replica processes
 * it starts, a running cluster (--config), or the unreplicated baseline (--unreplicated). With
 * --fault it injects one fault of the robustness table part way through ({@link Fault}) and
 * reports throughput before and under it, the longest gap, the view changes, and whether any
 * acknowledged put was lost; for processes it started it reports their heap after GC.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"Measure throughput and latency of closed-loop key-value clients.",
        "Without --config it starts its own replica processes on free 127.0.0.1 ports and stops them afterwards.",
        "Progress goes to stderr, results to stdout.",
        "--fault NAME --fault-at S injects a fault S seconds after the warm-up and reports what it cost:",
        "throughput under it relative to before, the longest gap, view changes, errors, lost acknowledged puts."})
final class BenchCommand implements Callable<Integer> {
  private static final int KEYS = 1000;
  /** Keys each client writes under --fault, all read back at the end. */
  private static final int VERIFIED_KEYS_PER_CLIENT = 32;
  private static final int DEFAULT_REPLICAS = 4;
  private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(30);
  /** Every replica listens on this port at its own address when it runs in a namespace (--wan). */
  private static final int WAN_PORT = 7000;
  /** How often --metrics scrapes each replica (a Prometheus server's default is 15 s: this is harsher). */
  private static final Duration SCRAPE_INTERVAL = Duration.ofSeconds(5);

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

  @Option(names = "--replicas", paramLabel = "N", description = "Replica processes to start (default " + DEFAULT_REPLICAS
      + "; " + (DEFAULT_REPLICAS + 1) + " for --fault remove-backup).")
  Integer replicas;

  @Option(names = "--read-ratio", paramLabel = "R", defaultValue = "0",
      description = "Fraction of operations that are gets instead of puts, 0..1 (default ${DEFAULT-VALUE}).")
  double readRatio;

  @Option(names = "--read-mode", paramLabel = "MODE", defaultValue = "read-only",
      description = {"How the gets run: read-only (every replica answers from its state, n - f matching answers,",
          "ordered when they do not agree; KvClient.get) or ordered (through the three phases like a put).",
          "Default ${DEFAULT-VALUE}."})
  String readMode;

  @Option(names = "--config", paramLabel = "FILE", description = "Drive this running cluster instead of starting one.")
  Path config;

  @Option(names = "--unreplicated", description = "Baseline: one plain gRPC server with the same store, no agreement, no signatures.")
  boolean unreplicated;

  @Option(names = "--durable", description = {"Start the replicas with --data-dir (a write-ahead log and a RocksDB store",
      "per replica under bench's temporary directory): every operation is on disk before it is acknowledged."})
  boolean durable;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = {"Change one value of the generated cluster.yaml (repeatable): authentication=signatures,",
          "protocol.pipelineDepthMax=2, transport.verifyThreads=1, ... (see docs/CONFIGURATION.md)."})
  List<String> overrides = new ArrayList<>();

  @Option(names = "--json", description = "Print the result as one JSON object (it always includes the heap report).")
  boolean json;

  @Option(names = "--fault", paramLabel = "KIND",
      description = {"Fault to inject part way through: kill-primary, pause-primary, slow-primary, equivocating-primary,",
          "slow-backup, stall-all, flood-client, equivocating-client, max-timestamp-client, replaying-client,",
          "partial-authenticator-client, session-exhaustion or garbage-flood (see docs/ROBUSTNESS.md).",
          "The clients then write keys of their own, and bench reads them back to check that nothing acknowledged was lost."})
  String fault;

  @Option(names = "--fault-at", paramLabel = "SECONDS",
      description = "When to inject the fault, in seconds after the warm-up (required with --fault).")
  Double faultAt;

  @Option(names = "--send-to-primary", description = {"Clients send each request to the presumed primary alone",
      "(plain PBFT) instead of to every replica at once; retransmissions go to all either way."})
  boolean sendToPrimary;

  @Option(names = "--keep-logs", description = {"Keep bench's temporary directory (each process's log and GC log, keys,",
      "cluster.yaml) when it ends, instead of deleting it; its path is printed."})
  boolean keepLogs;

  @Option(names = "--heap-report", description = {"Print each started process's heap after GC over the run, and its",
      "live set: bench forces a full GC (jcmd GC.run) at the end of the warm-up and at the end."})
  boolean heapReport;

  @Option(names = "--wan", paramLabel = "DELAY",
      description = {"Run each replica in a network namespace of its own, every link (replica to replica, client",
          "to replica) holding each packet DELAY one way in the kernel (e.g. 25ms: 50 ms round trips).",
          "Needs root, iproute2, iptables, gcc and libnetfilter_queue (see README: Real networks)."})
  String wan;

  @Option(names = "--wan-jitter", paramLabel = "JITTER",
      description = "With --wan: each packet waits up to JITTER longer, at random (reorders packets; default 0).")
  String wanJitter;

  @Option(names = "--wan-loss", paramLabel = "PERCENT",
      description = "With --wan: each packet is dropped with this probability at each crossing (default 0).")
  Double wanLoss;

  @Option(names = "--metrics", description = {"Start the replicas with their Prometheus endpoints on (free ports, printed)",
      "and scrape each every 5 s while measuring, as a Prometheus server would: what metrics cost."})
  boolean metrics;

  @Option(names = "--heap-interval", paramLabel = "SECONDS",
      description = "Interval of the heap report (default: a tenth of the run, at least 5 s).")
  Integer heapInterval;

  @Override
  public Integer call() throws Exception {
    validate();
    PrintWriter err = spec.commandLine().getErr();
    Fault kind = fault == null ? null : Fault.parse(fault);
    LocalCluster cluster = null;
    ClusterConfig clusterConfig = null;
    KvTarget target = null;
    FaultInjector injector = null;
    RequestCapture capture = null;
    NetnsNetwork netns = null;
    MetricsScraper scraper = null;
    try {
      int replicaCount;
      if (config != null) {
        ClusterConfig cfg = Configs.load(config);
        clusterConfig = cfg;
        checkPayload(cfg);
        target = new ReplicatedTarget(cfg, clientIds(cfg), OPERATION_TIMEOUT, !sendToPrimary).readMode(readModeOption());
        replicaCount = cfg.n();
        requireReachable(cfg);
      } else if (unreplicated) {
        cluster = LocalCluster.create("bench", err);
        if (keepLogs) {
          cluster.keepDirectory();
        }
        int port = Ports.consecutive(1);
        cluster.start("unreplicated-server", UnreplicatedServer.class.getName(), List.of("--port", String.valueOf(port)));
        cluster.awaitHealthy(List.of(new StatusProbe.Target(0, "127.0.0.1", port)));
        err.printf("started the unreplicated server on 127.0.0.1:%d%n", port);
        target = new UnreplicatedTarget("127.0.0.1", port, clients, OPERATION_TIMEOUT);
        replicaCount = 1;
      } else {
        // A removal from four replicas would leave three, which tolerate no fault: by default that
        // fault starts five, so the group keeps f = 1 after it.
        replicaCount = replicas != null ? replicas : kind == Fault.REMOVE_BACKUP ? DEFAULT_REPLICAS + 1 : DEFAULT_REPLICAS;
        cluster = LocalCluster.create("bench", err);
        if (keepLogs) {
          cluster.keepDirectory();
        }
        // a flooding client is one more configured client, beyond those bench measures
        ClusterConfig cfg = cluster.generate(replicaCount, clients + (kind != null && kind.extraClient() ? 1 : 0));
        if (!overrides.isEmpty()) {
          cfg = cluster.rewrite(cfg.withOverrides(overrides));
        }
        if (wan != null) {
          netns = NetnsNetwork.create(replicaCount, wanConditions());
          err.printf("network: %s%n", netns);
          cluster.replicaPrefix(netns::enter);
          // each replica has an address of its own, so they can all listen on one port
          // (and certificates naming those addresses, which the replicas check when they dial each other)
          cfg = cluster.rewrite(cluster.reissueTls(ClusterConfigs.withAddresses(cfg, netns::host, i -> WAN_PORT)));
        }
        if (metrics) {
          ClusterConfig before = cfg;
          int[] ports = Ports.free(replicaCount);
          // in namespaces, each replica's metrics at its own address; on this machine, on loopback
          cfg = cluster.rewrite(cfg.withMetrics(i -> new MetricsAddress(
              wan != null ? before.replica(i).host() : MetricsAddress.LOOPBACK, ports[i])));
        }
        clusterConfig = cfg;
        checkPayload(cfg);
        if (kind != null) {
          injector = new FaultInjector(kind, cluster, cfg, err);
          cfg = injector.configure(cfg); // the administration keys a change of the group needs
          clusterConfig = cfg;
        }
        if (durable) {
          cluster.startDurableReplicas(cfg);
        } else {
          cluster.startReplicas(cfg, injector == null ? Map.of() : injector.replicaArgs());
        }
        cluster.awaitHealthy(StatusProbe.targets(cfg));
        if (injector != null && injector.captureFile() != null) {
          capture = RequestCapture.open(injector.captureFile()); // the replaying client's tap
        }
        if (injector != null) {
          injector.prepare(); // a Byzantine client's or an outsider's process starts now and waits to be armed
        }
        target = new ReplicatedTarget(cfg, clientIds(cfg), OPERATION_TIMEOUT, !sendToPrimary, capture)
            .readMode(readModeOption());
      }
      String mode = unreplicated ? "unreplicated" : "replicated";
      err.printf("bench: %s%s, %d %s, %d clients, %d-byte values, read ratio %.2f%s, warm-up %d s, measuring %d s%s%s%n",
          mode, durable ? " (durable)" : "", replicaCount, unreplicated ? "server" : "replicas", clients, payload, readRatio,
          readRatio > 0 && !unreplicated ? " (" + readModeOption().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + ")" : "",
          warmup, duration,
          kind == null ? "" : String.format(", %s at %.1f s after the warm-up", kind.option(), faultAt),
          clusterConfig == null ? "" : ", authentication: " + authenticationLabel(clusterConfig)
              + ", TLS " + (clusterConfig.tls().enabled() ? "on" : "off")
              + (overrides.isEmpty() ? "" : ", " + String.join(", ", overrides)));
      if (metrics && clusterConfig != null) {
        List<URI> endpoints = new ArrayList<>();
        for (ReplicaInfo r : clusterConfig.replicas()) {
          endpoints.add(URI.create("http://" + r.metrics() + "/metrics"));
        }
        err.printf("metrics: %s .. %s, scraped every %d s%n", endpoints.get(0), endpoints.get(endpoints.size() - 1),
            SCRAPE_INTERVAL.toSeconds());
        scraper = MetricsScraper.start(endpoints, SCRAPE_INTERVAL);
      }
      err.flush();
      Report report = measure(target, cluster, clusterConfig, injector, err);
      if (scraper != null) {
        scraper.close();
        err.printf("metrics: %s%n", scraper.describe());
      }
      print(report, mode, clusterConfig, replicaCount, durable ? dataDirBytes(cluster, replicaCount) : null,
          target instanceof ReplicatedTarget rt
              ? new long[] {rt.readOnlyAnswered(), rt.readOnlyFallbacks(), rt.tentativeAccepted()} : null);
      LoadDriver.Result r = report.load();
      if (report.verified() != null && report.verified().lost() > 0) {
        throw CliException.failed(report.verified().lost() + " acknowledged puts lost: "
            + report.verified().examples());
      }
      if (r.operations() == 0) {
        throw CliException.failed("no operation completed in the measured interval"
            + (r.firstError() == null ? "" : "; first error: " + r.firstError()));
      }
      return 0;
    } finally {
      if (scraper != null) {
        scraper.close();
      }
      if (target != null) {
        target.close();
      }
      if (capture != null) {
        capture.close();
      }
      if (cluster != null) {
        err.println("stopping the processes bench started");
        err.flush();
        cluster.close();
      }
      if (netns != null) {
        netns.close(); // after the processes in it: removes the namespaces, their links and rules
      }
    }
  }

  /** --read-mode as the client's ReadMode. */
  private KvClient.ReadMode readModeOption() {
    return switch (readMode.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "read-only", "readonly" -> KvClient.ReadMode.READ_ONLY;
      case "ordered" -> KvClient.ReadMode.ORDERED;
      default -> throw CliException.usage("--read-mode must be read-only or ordered, got " + readMode);
    };
  }

  /** What --wan, --wan-jitter and --wan-loss ask of every link. */
  private LinkConditions wanConditions() {
    return new LinkConditions(LinkConditions.parseDuration(wan),
        wanJitter == null ? Duration.ZERO : LinkConditions.parseDuration(wanJitter),
        wanLoss == null ? 0 : wanLoss / 100);
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
    readModeOption(); // fails with the usage message for an unknown mode
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
    if (fault != null && Fault.parse(fault) == null) {
      throw CliException.usage("--fault must be one of " + Fault.names() + ", got " + fault);
    }
    if (fault != null && (config != null || unreplicated)) {
      throw CliException.usage("--fault needs replica processes that bench starts itself (no --config, no --unreplicated)");
    }
    if (fault != null && faultAt == null) {
      throw CliException.usage("--fault needs --fault-at SECONDS (when, after the warm-up)");
    }
    if (metrics && (config != null || unreplicated)) {
      throw CliException.usage("--metrics needs replica processes that bench starts itself (no --config, no "
          + "--unreplicated)");
    }
    if (faultAt != null && fault == null) {
      throw CliException.usage("--fault-at needs --fault");
    }
    if (faultAt != null && !(faultAt >= 0 && faultAt < duration)) {
      throw CliException.usage("--fault-at must lie within the measured interval, 0 <= SECONDS < --duration "
          + duration + ", got " + faultAt);
    }
    if (durable && (config != null || unreplicated)) {
      throw CliException.usage("--durable applies to replica processes that bench starts itself (no --config, "
          + "no --unreplicated)");
    }
    if (wan != null && (config != null || unreplicated)) {
      throw CliException.usage("--wan puts replica processes that bench starts itself into namespaces (no --config, "
          + "no --unreplicated)");
    }
    if ((wanJitter != null || wanLoss != null) && wan == null) {
      throw CliException.usage("--wan-jitter and --wan-loss need --wan DELAY (0ms for none)");
    }
    if (wan != null) {
      try {
        wanConditions();
      } catch (IllegalArgumentException e) {
        throw CliException.usage("--wan, --wan-jitter, --wan-loss: " + e.getMessage()
            + " (loss is a percentage below 100)");
      }
      String why = NetnsNetwork.unavailable(wanConditions());
      if (why != null) {
        throw CliException.failed("--wan: " + why);
      }
    }
    if (heapInterval != null && heapInterval < 1) {
      throw CliException.usage("--heap-interval must be at least 1 second, got " + heapInterval);
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

  private static String describeViews(ClusterStatus.Snapshot s) {
    List<String> parts = new ArrayList<>();
    for (ReplicaStatus r : s.replicas()) {
      parts.add("replica " + r.id() + ": " + (r.reachable() ? "view " + r.view() + ", executed " + r.lastExecuted()
          : "unreachable"));
    }
    return String.join("; ", parts);
  }

  private void requireReachable(ClusterConfig cfg) {
    try (ClusterStatus status = ClusterStatus.open(cfg)) {
      ClusterStatus.Snapshot s = status.poll(Duration.ofSeconds(2));
      if (s.reachableCount() < cfg.quorum()) {
        throw CliException.failed("only " + s.reachableCount() + " of " + cfg.n()
            + " replicas are reachable; the cluster needs a quorum of " + cfg.quorum() + " to make progress");
      }
    }
  }

  /** What a run produced: the load's figures, the fault's effect, the cluster's end state, the heap. */
  private record Report(LoadDriver.Result load, FaultReport fault, VerifiedPuts.Verdict verified,
      ClusterStatus.Snapshot end, HeapReport heap, CpuUsage.Usage cpu) {}

  /** Runs the load (injecting the fault, if any, when due), then collects the end status and heap. */
  private Report measure(KvTarget target, LocalCluster cluster, ClusterConfig cfg, FaultInjector injector,
      PrintWriter err) throws Exception {
    Fault kind = injector == null ? null : Fault.parse(fault);
    // Under a fault, every client writes keys of its own so that the run can be checked for lost
    // acknowledged puts afterwards.
    VerifiedPuts verifiedPuts = kind == null ? null : new VerifiedPuts(target, VERIFIED_KEYS_PER_CLIENT, payload, readRatio);
    LoadDriver driver = new LoadDriver(
        LoadDriver.Plan.timed(clients, Duration.ofSeconds(warmup), Duration.ofSeconds(duration)),
        verifiedPuts != null ? verifiedPuts.step() : KvWorkloads.putGet(target, KEYS, payload, readRatio), err);
    if (kind != null) {
      driver.schedule(Duration.ofMillis(Math.round((warmup + faultAt) * 1000)), "fault: " + kind.option(),
          injector::inject);
    }
    if (heapReport && cluster != null) {
      // Young collections leave dead objects in the old generation; only a full one shows the live
      // set. One now and one at the end tell whether it grew.
      driver.schedule(Duration.ofSeconds(warmup), "forced full GC (heap report)", cluster::forceFullGc);
    }
    // CPU from the end of the warm-up to the end of the measured interval, before the heap
    // report's forced collection and the read-back.
    Supplier<Map<String, Long>> processes = cluster == null ? Map::of : cluster::cpuNanos;
    AtomicReference<CpuUsage.Sample> cpuFrom = new AtomicReference<>();
    driver.schedule(Duration.ofSeconds(warmup), "CPU sample", () -> cpuFrom.set(CpuUsage.sample(processes)));
    long startEpochMs = System.currentTimeMillis();
    LoadDriver.Result r = driver.run();
    CpuUsage.Usage cpu = cpuFrom.get() == null ? null : CpuUsage.between(cpuFrom.get(), CpuUsage.sample(processes));
    if (heapReport && cluster != null) {
      cluster.forceFullGc();
    }
    long endEpochMs = System.currentTimeMillis();
    VerifiedPuts.Verdict verdict = null;
    if (verifiedPuts != null) {
      err.println("reading back every key the clients wrote");
      err.flush();
      verdict = verifiedPuts.verify();
    }
    // Asked while a silenced primary is still stopped: it shows as unreachable, the others' view is the news.
    ClusterStatus.Snapshot end = cfg == null ? null : endStatus(cfg);
    FaultReport faultReport = null;
    if (injector != null && r.actionsAtMs().get(0) >= 0 && injector.viewBefore() >= 0) {
      faultReport = FaultReport.of(kind, injector.replica(), r, r.actionsAtMs().get(0), injector.viewBefore(),
          end == null ? -1 : endView(end), injector.attackerSent()).withChangeTookMs(injector.changeTookMs());
    }
    HeapReport heap = cluster == null ? null : heap(cluster, startEpochMs, endEpochMs);
    return new Report(r, faultReport, verdict, end, heap, cpu);
  }

  /** One status round after the load: the view each replica ended in (a killed or paused one is unreachable). */
  private static ClusterStatus.Snapshot endStatus(ClusterConfig cfg) {
    // where the group's chain of changes places each replica (a moved one at its new address)
    return ClusterStatus.pollFollowing(cfg, Duration.ofSeconds(2));
  }

  /** The highest view any reachable replica is in, or -1 if none answered. */
  private static long endView(ClusterStatus.Snapshot s) {
    return s.replicas().stream().filter(ReplicaStatus::reachable).mapToLong(ReplicaStatus::view).max().orElse(-1);
  }

  private HeapReport heap(LocalCluster cluster, long fromEpochMs, long toEpochMs) {
    long total = toEpochMs - fromEpochMs;
    long intervalMs = heapInterval != null ? heapInterval * 1000L
        : Math.max(5_000, (total / 10 + 4_999) / 5_000 * 5_000);
    Map<String, List<GcLog.Pause>> pauses = new LinkedHashMap<>();
    cluster.gcLogs().forEach((name, file) -> pauses.put(name, GcLog.read(file)));
    return HeapReport.of(pauses, fromEpochMs, toEpochMs, intervalMs);
  }

  /**
   * Bytes in each replica's data directory (its log and its state) after the run, each file once
   * however many hard links it has (RocksDB checkpoints share their files with the live store);
   * -1 where the directory could not be read.
   */
  private static long[] dataDirBytes(LocalCluster cluster, int replicaCount) {
    long[] bytes = new long[replicaCount];
    for (int i = 0; i < replicaCount; i++) {
      try {
        bytes[i] = DiskUsage.bytes(cluster.dataDir(i));
      } catch (IOException | UnsupportedOperationException e) {
        bytes[i] = -1;
      }
    }
    return bytes;
  }

  /** Whose CPU besides the clients' the figure counts. */
  private String cpuOwners() {
    return unreplicated ? "server" : "replicas";
  }

  /** The request authentication, and under signatures how the votes are authenticated. */
  static String authenticationLabel(ClusterConfig cfg) {
    String mode = cfg.authentication().yamlName();
    return cfg.authentication() == io.pbft.config.Authentication.MACS ? mode
        : mode + (cfg.peerMacs() ? " (votes with MACs)" : " (votes signed)");
  }

  /**
   * @param dataDirBytes bytes in each replica's data directory, or null for replicas in memory
   * @param clientCounts the clients' read-only answers, read-only fallbacks and operations accepted
   *     on tentative replies; null without replicas
   */
  private void print(Report report, String mode, ClusterConfig cfg, int replicaCount, long[] dataDirBytes,
      long[] clientCounts) throws JsonProcessingException {
    boolean reads = clientCounts != null && readRatio > 0;
    String auth = cfg == null ? null : authenticationLabel(cfg);
    PrintWriter out = spec.commandLine().getOut();
    LoadDriver.Result r = report.load();
    FaultReport faultReport = report.fault();
    ClusterStatus.Snapshot end = report.end();
    HeapReport heap = report.heap();
    LatencySummary latency = LatencySummary.of(r.latencyMicros());
    if (json) {
      ObjectNode o = StatusReport.JSON.createObjectNode();
      o.put("mode", mode);
      if (auth != null) {
        o.put("authentication", cfg.authentication().yamlName());
        o.put("votes", cfg.peerMacs() ? "macs" : "signatures");
        o.put("tls", cfg.tls().enabled());
      }
      o.put("durable", durable);
      boolean tentative = cfg != null && cfg.protocol().tentativeExecution();
      o.put("tentativeExecution", tentative);
      if (tentative && clientCounts != null) {
        o.put("tentativeAccepted", clientCounts[2]); // ordered operations settled on tentative replies
      }
      if (wan != null) {
        LinkConditions links = wanConditions();
        ObjectNode w = o.putObject("wan");
        w.put("delayMs", links.delay().toNanos() / 1e6);
        w.put("jitterMs", links.jitter().toNanos() / 1e6);
        w.put("lossPercent", links.loss() * 100);
      }
      o.put("throughputOpsPerSec", Math.round(r.throughput() * 10) / 10.0);
      latency.addTo(o);
      o.put("operations", r.operations());
      o.put("errors", r.errors());
      o.put("clients", clients);
      o.put("replicas", replicaCount);
      o.put("payloadBytes", payload);
      o.put("readRatio", readRatio);
      if (reads) {
        o.put("readMode", readMode);
        o.put("readOnlyAnswered", clientCounts[0]);
        o.put("readOnlyFallbacks", clientCounts[1]);
      }
      o.put("durationSec", duration);
      o.put("warmupSec", warmup);
      if (r.firstError() != null) {
        o.put("firstError", r.firstError());
      }
      if (report.cpu() != null) {
        report.cpu().addTo(o, r.throughput(), cpuOwners());
      }
      if (dataDirBytes != null) {
        ArrayNode array = o.putArray("dataDirBytes");
        for (long b : dataDirBytes) {
          array.add(b);
        }
      }
      if (faultReport != null) {
        faultReport.addTo(o);
      }
      VerifiedPuts.Verdict v = report.verified();
      if (v != null) {
        ObjectNode acks = o.putObject("acknowledged");
        acks.put("puts", v.acknowledged());
        acks.put("keysChecked", v.keysChecked());
        acks.put("lost", v.lost());
      }
      if (end != null && !unreplicated) {
        o.put("endView", endView(end));
        o.set("endStatus", StatusReport.toJson(end));
      }
      if (heap != null) {
        o.set("heap", heap.toJson(StatusReport.JSON));
      }
      out.println(StatusReport.JSON.writeValueAsString(o));
    } else {
      out.printf("mode:       %s (%d %s%s, %d clients, %d-byte values%s)%n", mode, replicaCount,
          unreplicated ? "server" : "replicas", durable ? " with data directories" : "", clients, payload,
          auth == null ? "" : ", authentication: " + auth + ", TLS " + (cfg.tls().enabled() ? "on" : "off"));
      if (wan != null) {
        out.printf("network:    network namespaces, every link %s%n", wanConditions());
      }
      out.printf("throughput: %.1f ops/s (%d operations in %d s after a %d s warm-up)%n", r.throughput(),
          r.operations(), duration, warmup);
      out.printf("latency:    %s%n", latency.describe());
      out.printf("errors:     %d%s%n", r.errors(), r.firstError() == null ? "" : " (first: " + r.firstError() + ")");
      if (reads) {
        out.printf("reads:      %s; %d answered read-only, %d fell back to ordering (warm-up included)%n",
            readModeOption() == KvClient.ReadMode.READ_ONLY ? "read-only" : "ordered", clientCounts[0],
            clientCounts[1]);
      }
      if (cfg != null && cfg.protocol().tentativeExecution() && clientCounts != null) {
        out.printf("tentative:  %d ordered operations accepted on a quorum of tentative replies (warm-up included)%n",
            clientCounts[2]);
      }
      if (report.cpu() != null) {
        out.printf("cpu:        %s%n", report.cpu().describe(r.throughput(), cpuOwners()));
      }
      if (dataDirBytes != null) {
        out.printf("disk:       %s bytes in the replicas' data directories (log and state)%n",
            Arrays.toString(dataDirBytes));
      }
      if (faultReport != null) {
        faultReport.print(out);
      }
      VerifiedPuts.Verdict v = report.verified();
      if (v != null) {
        out.printf("acked:      %d puts acknowledged; %d keys read back, %d acknowledged puts lost%s%n", v.acknowledged(),
            v.keysChecked(), v.lost(), v.examples().isEmpty() ? "" : " " + v.examples());
      }
      if (end != null && !unreplicated) {
        out.printf("end view:   %d (%s)%n", endView(end), describeViews(end));
      }
      if (heap != null && heapReport) {
        heap.printTable(out);
      }
    }
    out.flush();
  }
}

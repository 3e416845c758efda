package io.pbft.cli.durability;

import io.pbft.cli.bench.KvWorkloads;
import io.pbft.cli.bench.LatencySummary;
import io.pbft.cli.bench.LoadDriver;
import io.pbft.cli.bench.ReplicatedTarget;
import io.pbft.cli.cluster.DiskUsage;
import io.pbft.cli.cluster.LocalCluster;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.StatusProbe;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Measurements for docs/DURABILITY.md, not tests: they run only with {@code -Dpbft.figures=true}
 * and print their results (to stderr and to {@code target/durability-figures.txt}).
 *
 * <pre>
 * mvn -o -pl cli test -Dtest='io.pbft.cli.durability.DurabilityFigures#throughput' -Dpbft.figures=true
 * mvn -o -pl cli test -Dtest='io.pbft.cli.durability.DurabilityFigures#restart' -Dpbft.figures=true -Dpbft.figures.ops=200000
 * </pre>
 *
 * <p>Throughput and latency: the same closed loop as {@code pbft bench} (its load driver and
 * workload: puts of empty values to 1000 keys, default protocol settings), with the replicas in
 * memory and with {@code --data-dir}, alternating, several runs each.
 *
 * <p>Restart: a log of {@code pbft.figures.ops} operations is built, with the default checkpoint
 * interval or (with {@code -Dpbft.figures.checkpoints=none}) with checkpoints so rare that none
 * happens (so nothing is compacted away and all of it is replayed), the group is killed,
 * and one replica is restarted alone from its data directory several times; its own log lines
 * give the phases (reading the log, rebuilding the core, replaying batches, listening).
 */
@EnabledIfSystemProperty(named = "pbft.figures", matches = "true")
class DurabilityFigures {
  private static final int CLIENTS = Integer.getInteger("pbft.figures.clients", 50);
  private static final int RUNS = Integer.getInteger("pbft.figures.runs", 3);
  private static final int WARMUP = Integer.getInteger("pbft.figures.warmup", 10);
  private static final int DURATION = Integer.getInteger("pbft.figures.duration", 30);
  private static final long OPS = Long.getLong("pbft.figures.ops", 200_000);
  private static final List<String> MODES = List.of(System.getProperty("pbft.figures.modes", "memory,durable").split(","));
  private static final int KEYS = Integer.getInteger("pbft.figures.keys", 1000);
  private static final int RESTARTS = Integer.getInteger("pbft.figures.restarts", 3);
  private static final Path OUT = Path.of(System.getProperty("pbft.figures.out", "target/durability-figures.txt"));
  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

  private record Run(String mode, double throughput, LatencySummary latency, long errors, String load) {}

  /**
   * The same outside Maven: {@code java -cp CLASSPATH -Dpbft.figures.runs=5 ... DurabilityFigures
   * throughput|restart}, e.g. from a private copy of the classpath that concurrent builds in the
   * same tree cannot change under the replica processes.
   */
  public static void main(String[] args) throws Exception {
    for (String what : args) {
      switch (what) {
        case "throughput" -> new DurabilityFigures().throughput();
        case "restart" -> new DurabilityFigures().restart();
        default -> throw new IllegalArgumentException("throughput or restart, not " + what);
      }
    }
  }

  @Test
  void throughput() throws Exception {
    List<Run> runs = new ArrayList<>();
    for (int r = 0; r < RUNS; r++) {
      for (String mode : MODES) {
        Run run = measure(mode);
        runs.add(run);
        report(String.format("run %d %-8s %8.1f ops/s  %s  errors %d  load %s", r + 1, run.mode, run.throughput,
            run.latency.describe(), run.errors, run.load));
      }
    }
    for (String mode : MODES) {
      List<Run> of = runs.stream().filter(x -> x.mode.equals(mode)).toList();
      report(String.format("median %-8s %8.1f ops/s, p50 %.2f ms, p99 %.2f ms (%d runs of %d s after %d s warm-up, "
          + "%d clients)", mode, median(of.stream().mapToDouble(Run::throughput).toArray()),
          median(of.stream().mapToDouble(x -> x.latency.p50()).toArray()),
          median(of.stream().mapToDouble(x -> x.latency.p99()).toArray()), of.size(), DURATION, WARMUP, CLIENTS));
    }
  }

  /**
   * {@code memory}: replicas without a data directory; {@code durable}: with one; {@code
   * durable-kN}: with one, a checkpoint every N batches and a window of 4N.
   */
  private Run measure(String mode) throws Exception {
    try (LocalCluster cluster = LocalCluster.create("figures", new PrintWriter(System.err, true))) {
      ClusterConfig config = cluster.generate(4, CLIENTS);
      boolean durable = mode.startsWith("durable");
      if (mode.startsWith("durable-k")) {
        int k = Integer.parseInt(mode.substring("durable-k".length()));
        config = config.withProtocol(config.protocol().toBuilder().checkpointInterval(k).windowSize(4 * k).build());
        config.write(cluster.dir().resolve("cluster.yaml"));
      }
      if (durable) {
        cluster.startDurableReplicas(config);
      } else {
        cluster.startReplicas(config);
      }
      cluster.awaitHealthy(StatusProbe.targets(config));
      String before = loadAverage();
      try (ReplicatedTarget target = new ReplicatedTarget(config, IntStream.range(0, CLIENTS).boxed().toList(),
          Duration.ofSeconds(30), true)) {
        LoadDriver.Result r = new LoadDriver(LoadDriver.Plan.timed(CLIENTS, Duration.ofSeconds(WARMUP),
            Duration.ofSeconds(DURATION)), KvWorkloads.putGet(target, 1000, 0, 0), new PrintWriter(System.err, true))
            .run();
        String load = before + " -> " + loadAverage();
        if (r.errors() > 0) {
          keepLogs(cluster, config, mode);
        }
        if (durable) {
          StatusResponse s1 = statusOf(config, 1);
          Path data = cluster.dataDir(1);
          report(String.format("  %s: replica 1 executed %d batches; on disk: wal %d bytes, state %d bytes", mode,
              s1 == null ? -1 : s1.getLastExecuted(), DiskUsage.bytes(data.resolve("wal")), DiskUsage.bytes(data.resolve("state"))));
        }
        return new Run(mode, r.throughput(), LatencySummary.of(r.latencyMicros()), r.errors(), load);
      }
    }
  }

  @Test
  void restart() throws Exception {
    // -Dpbft.figures.checkpoints=none: no checkpoint within the run, nothing is compacted, the whole
    // log is replayed at a restart (the worst case; the replicas then need -Dpbft.cluster.heapMb=4096
    // or so, for their in-memory log grows as well). Default: the protocol's defaults, so a restart
    // loads the last checkpoint and replays what follows it. (The window must be at least twice the
    // checkpoint interval.)
    boolean none = "none".equals(System.getProperty("pbft.figures.checkpoints", "default"));
    UnaryOperator<ProtocolSettings> rare =
        p -> none ? p.toBuilder().checkpointInterval(1_000_000).windowSize(2_000_000).build() : p;
    try (LocalCluster cluster = LocalCluster.create("figures-restart", new PrintWriter(System.err, true))) {
      ClusterConfig generated = cluster.generate(4, CLIENTS);
      ClusterConfig config = generated.withProtocol(rare.apply(generated.protocol()));
      config.write(cluster.dir().resolve("cluster.yaml"));
      cluster.startDurableReplicas(config);
      cluster.awaitHealthy(StatusProbe.targets(config));
      String loadBefore = loadAverage();
      long start = System.nanoTime();
      LoadDriver.Result r;
      try (ReplicatedTarget target = new ReplicatedTarget(config, IntStream.range(0, CLIENTS).boxed().toList(),
          Duration.ofSeconds(60), true)) {
        r = new LoadDriver(LoadDriver.Plan.counted(CLIENTS, OPS), KvWorkloads.putGet(target, KEYS, 0, 0),
            new PrintWriter(System.err, true)).run();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      StatusResponse s0 = statusOf(config, 0);
      report(String.format("log built: %d operations (%d errors) in %.0f s (%.0f ops/s), %d batches, load %s -> %s",
          r.operations(), r.errors(), seconds, r.operations() / seconds, s0 == null ? -1 : s0.getLastExecuted(),
          loadBefore, loadAverage()));
      for (int i = 0; i < config.n(); i++) {
        cluster.kill(i);
      }
      long batches = s0 == null ? -1 : s0.getLastExecuted();
      Path data = cluster.dataDir(1);
      report(String.format("disk of replica 1 after %d operations (%d keys): wal %d bytes, state %d bytes (%s)",
          r.operations(), KEYS, DiskUsage.bytes(data.resolve("wal")), DiskUsage.bytes(data.resolve("state")), data));
      java.util.Map<String, long[]> byKind = new java.util.TreeMap<>();
      for (io.pbft.proto.WalRecord rec : SignedLedger.readLog(data.resolve("wal"))) {
        String kind = rec.getEntryCase().name();
        if (rec.hasSent()) {
          kind += " " + io.pbft.proto.ReplicaMessage.parseFrom(rec.getSent().getPayload()).getBodyCase().name();
        }
        long[] v = byKind.computeIfAbsent(kind, k -> new long[2]);
        v[0]++;
        v[1] += rec.getSerializedSize() + 8;
      }
      StringBuilder kinds = new StringBuilder();
      byKind.forEach((k, v) -> kinds.append(String.format("%s%s %d records %d bytes", kinds.length() == 0 ? "" : "; ",
          k, v[0], v[1])));
      report("wal of replica 1 by record kind: " + kinds);
      report("heap after GC while building, replica 1: " + heapAfterGc(cluster.gcLogs().get("replica 1")));
      for (int k = 0; k < RESTARTS; k++) {
        long t0 = System.currentTimeMillis();
        cluster.startReplica(config, 1, data);
        cluster.awaitHealthy(List.of(new StatusProbe.Target(1, "127.0.0.1", config.replica(1).port())));
        long up = System.currentTimeMillis() - t0;
        String log = Files.readString(cluster.log(1), StandardCharsets.UTF_8);
        cluster.kill(1);
        report(String.format("restart %d of replica 1 (%d operations, %d batches in its log): answering after %d ms; %s;"
            + " max heap after GC %s; load %s", k + 1, r.operations(), batches, up, phases(log, t0),
            heapAfterGc(cluster.gcLogs().get("replica 1 run " + (k + 2))), loadAverage()));
      }
      // The same without a log: what a start costs anyway (JVM, RocksDB, keys).
      Path empty = cluster.dir().resolve("empty-data");
      for (int k = 0; k < RESTARTS; k++) {
        long t0 = System.currentTimeMillis();
        cluster.startReplica(config, 2, empty.resolve("run-" + k));
        cluster.awaitHealthy(List.of(new StatusProbe.Target(2, "127.0.0.1", config.replica(2).port())));
        long up = System.currentTimeMillis() - t0;
        String log = Files.readString(cluster.log(2), StandardCharsets.UTF_8);
        cluster.kill(2);
        report(String.format("start %d of replica 2 with an empty data directory: answering after %d ms; %s; load %s",
            k + 1, up, phases(log, t0), loadAverage()));
      }
    }
  }

  /** A run with failed operations: keeps the replicas' logs and what their status says, for study. */
  private static void keepLogs(LocalCluster cluster, ClusterConfig config, String mode) throws IOException {
    Path keep = Files.createTempDirectory("pbft-figures-failed-" + mode + "-");
    try (Stream<Path> files = Files.list(cluster.dir())) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".log")).toList()) {
        Files.copy(f, keep.resolve(f.getFileName()));
      }
    }
    StringBuilder status = new StringBuilder();
    for (int i = 0; i < config.n(); i++) {
      status.append("replica ").append(i).append(": ").append(statusOf(config, i)).append("\n");
    }
    Files.writeString(keep.resolve("status.txt"), status);
    report("  " + mode + ": operations failed; replica logs and status kept in " + keep);
  }

  private static StatusResponse statusOf(ClusterConfig config, int id) {
    try (StatusProbe probe = StatusProbe.open(config)) {
      return probe.ask(id, java.time.Duration.ofSeconds(5)).status(); // null if it does not answer
    }
  }

  private static final Pattern LINE = Pattern.compile("(?m)^(\\d\\d:\\d\\d:\\d\\d\\.\\d\\d\\d) .*?(%s)");

  /** Milliseconds from the process start to the log lines that mark the phases of a start. */
  private static String phases(String log, long startMillis) {
    LocalTime start = LocalTime.ofInstant(java.time.Instant.ofEpochMilli(startMillis), java.time.ZoneId.systemDefault());
    StringBuilder b = new StringBuilder();
    for (String[] phase : new String[][] {{"key-value state in .* recovered", "state opened"},
        {"data directory .*log records", "log read"}, {"recovered view", "core rebuilt"},
        {"listening on", "listening (replay done)"}}) {
      Matcher m = Pattern.compile(String.format(LINE.pattern(), phase[0])).matcher(log);
      if (m.find()) {
        long ms = Duration.between(start, LocalTime.parse(m.group(1), CLOCK)).toMillis();
        b.append(b.length() == 0 ? "" : ", ").append(phase[1]).append(" at ").append(ms).append(" ms");
      }
    }
    Matcher records = Pattern.compile("application checkpoint (\\d+), (\\d+) log records").matcher(log);
    if (records.find()) {
      b.append(" [").append(records.group(2)).append(" records]");
    }
    Matcher replay = Pattern.compile("(\\d+) batches to replay").matcher(log);
    if (replay.find()) {
      b.append(" [").append(replay.group(1)).append(" batches replayed]");
    }
    return b.toString();
  }

  private static final Pattern GC_AFTER = Pattern.compile("->(\\d+)M\\(");

  /** The largest heap occupancy after a collection in a -Xlog:gc file, e.g. "412M". */
  private static String heapAfterGc(Path gcLog) {
    if (gcLog == null || !Files.exists(gcLog)) {
      return "?";
    }
    try {
      Matcher m = GC_AFTER.matcher(Files.readString(gcLog, StandardCharsets.UTF_8));
      long max = -1;
      while (m.find()) {
        max = Math.max(max, Long.parseLong(m.group(1)));
      }
      return max < 0 ? "(no collection)" : max + "M";
    } catch (IOException e) {
      return "?";
    }
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + "/" + f[1] + "/" + f[2];
    } catch (IOException e) {
      return "?";
    }
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    java.util.Arrays.sort(v);
    return v.length == 0 ? 0 : v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static void report(String line) throws IOException {
    System.err.println("FIGURE " + line);
    Files.createDirectories(OUT.toAbsolutePath().getParent());
    Files.writeString(OUT, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }
}

package io.pbft.cli.hygiene;

import io.pbft.chaos.outsider.Outsider;
import io.pbft.cli.cluster.LocalCluster;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.testkit.StatusProbe;
import io.pbft.testkit.Statuses;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The measurements from the outside, not tests: they run only with {@code
 * -Dpbft.figures=true} and print figures (to stderr and to {@code target/hygiene-figures.txt}).
 * Each starts a real 4-replica cluster of processes ({@link LocalCluster}, default settings),
 * attacks it as an outsider without keys ({@link Outsider}), then times a real client's put.
 *
 * <pre>
 * mvn -o -q -pl cli -am test -Dtest='io.pbft.cli.hygiene.OutsiderFigures#streams' -Dpbft.figures=true -Dsurefire.failIfNoSpecifiedTests=false
 * ... #sockets, #slowloris, #unknownFields; replicas without a heap bound (as the launcher used to
 * start them): -Dpbft.cluster.jvmFlags=-Xmx6g
 * </pre>
 */
@EnabledIfSystemProperty(named = "pbft.figures", matches = "true")
class OutsiderFigures {
  private static final int STREAMS = Integer.getInteger("pbft.figures.streams", 4200);
  private static final int SOCKETS = Integer.getInteger("pbft.figures.sockets", 2000);
  private static final int SLOW = Integer.getInteger("pbft.figures.slowloris", 500);
  private static final int FLOOD_STREAMS = Integer.getInteger("pbft.figures.floodStreams", 4);
  private static final int FLOOD_BYTES = Integer.getInteger("pbft.figures.floodBytes", 15 << 20);
  private static final int FLOOD_SECONDS = Integer.getInteger("pbft.figures.floodSeconds", 60);
  /** How long the figures wait after an attack before they check what the replicas closed. */
  private static final int LATER_SECONDS = Integer.getInteger("pbft.figures.laterSeconds", 15);
  private static final Path OUT = Path.of(System.getProperty("pbft.figures.out", "target/hygiene-figures.txt"));
  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

  /**
   * The same outside Maven: {@code java -cp CLASSPATH -Dpbft.figures=true ... OutsiderFigures
   * streams sockets slowloris unknownFields}, e.g. from a private copy of the classpath that builds
   * in the same tree cannot change under the replica processes.
   */
  public static void main(String[] args) throws Exception {
    OutsiderFigures f = new OutsiderFigures();
    for (String what : args) {
      switch (what) {
        case "streams" -> f.streams();
        case "sockets" -> f.sockets();
        case "slowloris" -> f.slowloris();
        case "unknownFields" -> f.unknownFields();
        default -> throw new IllegalArgumentException("streams, sockets, slowloris or unknownFields, not " + what);
      }
    }
  }

  /** Handshake-less client streams on replicas 0, 1 and 2 (f + 1 = 2 answers need two of them). */
  @Test
  void streams() throws Exception {
    if (Boolean.getBoolean("pbft.figures.attackerProcess")) {
      streamsFromAnotherProcess();
      return;
    }
    run("streams", (cluster, config, outsider) -> {
      List<Outsider.Streams> all = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        all.add(outsider.handshakeless("127.0.0.1", config.replica(r).port(), STREAMS, 100));
      }
      Thread.sleep(3000);
      report("  %d handshake-less streams opened on each of replicas 0-2; still open after 3 s: %s", STREAMS,
          all.stream().map(s -> Integer.toString(s.open())).toList());
      put(config, 0, "during");
      Thread.sleep(LATER_SECONDS * 1000L);
      report("  still open %d s later: %s", LATER_SECONDS, all.stream().map(s -> Integer.toString(s.open())).toList());
      put(config, 1, "later");
      statuses(config);
    });
  }

  /**
   * As {@link #streams}, the attacker in a process of its own ({@code
   * -Dpbft.figures.attackerProcess=true}): the client's time is then not spent on the attacker's
   * network threads.
   */
  private void streamsFromAnotherProcess() throws Exception {
    run("streams (attacker in its own process)", (cluster, config, outsider) -> {
      String ports = config.replica(0).port() + "," + config.replica(1).port() + "," + config.replica(2).port();
      Process attacker = cluster.start("outsider", Outsider.class.getName(),
          List.of("streams", "127.0.0.1", ports, Integer.toString(STREAMS), "100"));
      try {
        Thread.sleep(5000);
        report("  %d handshake-less streams opened on each of replicas 0-2 by another process; its view after 5 s: %s",
            STREAMS, lastLine(cluster.dir().resolve("outsider.log")));
        put(config, 0, "during");
        Thread.sleep(LATER_SECONDS * 1000L);
        report("  %d s later: %s", LATER_SECONDS, lastLine(cluster.dir().resolve("outsider.log")));
        put(config, 1, "later");
        statuses(config);
      } finally {
        attacker.destroyForcibly().waitFor();
      }
    });
  }

  private static String lastLine(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    return lines.isEmpty() ? "(nothing yet)" : lines.get(lines.size() - 1);
  }

  /** TCP connections that never send a byte, on replicas 0, 1 and 2. */
  @Test
  void sockets() throws Exception {
    run("sockets", (cluster, config, outsider) -> {
      List<List<Socket>> all = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        all.add(outsider.idleSockets("127.0.0.1", config.replica(r).port(), SOCKETS));
      }
      Thread.sleep(3000);
      report("  %d idle sockets connected to each of replicas 0-2: %s; still open after 3 s: %s", SOCKETS,
          all.stream().map(l -> Integer.toString(l.size())).toList(),
          all.stream().map(l -> Integer.toString(Outsider.stillOpen(l))).toList());
      put(config, 0, "during");
      Thread.sleep(LATER_SECONDS * 1000L);
      report("  still open %d s later: %s", LATER_SECONDS,
          all.stream().map(l -> Integer.toString(Outsider.stillOpen(l))).toList());
      put(config, 1, "later");
      statuses(config);
    });
  }

  /** HTTP/2 connections whose first HEADERS frame arrives one byte every 2 s, on replicas 0-2. */
  @Test
  void slowloris() throws Exception {
    run("slowloris", (cluster, config, outsider) -> {
      List<List<Socket>> all = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        all.add(outsider.slowloris("127.0.0.1", config.replica(r).port(), SLOW, 2000));
      }
      Thread.sleep(3000);
      report("  %d slowloris connections on each of replicas 0-2; still open after 3 s: %s", SLOW,
          all.stream().map(l -> Integer.toString(Outsider.stillOpen(l))).toList());
      put(config, 0, "during");
      Thread.sleep(LATER_SECONDS * 1000L);
      report("  still open %d s later: %s", LATER_SECONDS,
          all.stream().map(l -> Integer.toString(Outsider.stillOpen(l))).toList());
      Thread.sleep(60_000);
      report("  still open %d s later: %s", LATER_SECONDS + 60,
          all.stream().map(l -> Integer.toString(Outsider.stillOpen(l))).toList());
      put(config, 1, "later");
      statuses(config);
    });
  }

  /** Peer streams into replica 1 carrying 15 MB of unknown fields each, as fast as they go. */
  @Test
  void unknownFields() throws Exception {
    run("unknown-fields", (cluster, config, outsider) -> {
      long pid = cluster.pid(1);
      HeapProbe probe = HeapProbe.start(pid);
      report("  replica 1 (pid %d) before the flood: heap used %d MiB, RSS %d MiB", pid, probe.lastUsedMb(),
          HeapProbe.rssMb(pid));
      Outsider.Flood flood = outsider.flood("127.0.0.1", config.replica(1).port(), FLOOD_STREAMS,
          Outsider.unknownFields(FLOOD_BYTES));
      Thread.sleep(FLOOD_SECONDS * 500L);
      put(config, 0, "during");
      Thread.sleep(FLOOD_SECONDS * 500L);
      long rss = HeapProbe.rssMb(pid);
      probe.stop();
      report("  %d streams sent %d messages of %d MiB in %d s (%d streams ended by the replica); replica 1 alive: %s",
          FLOOD_STREAMS, flood.sent.get(), FLOOD_BYTES >> 20, FLOOD_SECONDS, flood.streamsEnded.get(),
          cluster.process(1).isAlive());
      report("  replica 1 heap used: max %d MiB, last %d MiB (max heap %s); RSS at the end %d MiB", probe.maxUsedMb(),
          probe.lastUsedMb(), probe.capacity(), rss);
      outsider.close();
      put(config, 1, "after");
      statuses(config);
    });
  }

  // ------------------------------------------------------------------------------------------

  private interface Attack {
    void run(LocalCluster cluster, ClusterConfig config, Outsider outsider) throws Exception;
  }

  private void run(String name, Attack attack) throws Exception {
    String flags = System.getProperty("pbft.cluster.jvmFlags", "");
    report("%s: %s, replicas' extra JVM flags '%s'", name, LocalTime.now().format(CLOCK), flags);
    try (LocalCluster cluster = LocalCluster.create("hygiene", new PrintWriter(System.err, true));
        Outsider outsider = new Outsider()) {
      // plaintext, as when these figures were first taken: the outsider's raw bytes reach the HTTP/2
      // checks instead of ending at the TLS handshake
      ClusterConfig config = cluster.rewrite(cluster.generate(4, 4).withTls(io.pbft.config.TlsConfig.DISABLED));
      cluster.startReplicas(config);
      cluster.awaitHealthy(StatusProbe.targets(config));
      put(config, 3, "before");
      attack.run(cluster, config, outsider);
      for (int r = 0; r < config.n(); r++) {
        List<String> lines = Files.readAllLines(cluster.log(r), StandardCharsets.UTF_8);
        report("  replica %d log: %d lines, %d of them stack frames ('\\tat ')", r, lines.size(),
            lines.stream().filter(l -> l.startsWith("\tat ")).count());
      }
    }
  }

  /** A new client's put, timed: the session handshakes with every replica are part of it. */
  private static void put(ClusterConfig config, int clientId, String when) {
    long start = System.nanoTime();
    String outcome;
    try (KvClient kv = KvClient.owning(PbftClient.newBuilder().config(config).clientId(clientId)
        .operationTimeout(Duration.ofSeconds(30)).build())) {
      kv.put("hygiene/" + when, when);
      outcome = "ok";
    } catch (RuntimeException e) {
      outcome = "FAILED (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")";
    }
    report("  client %d put %s the attack: %s after %d ms", clientId, when, outcome,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
  }

  /** Each replica's status with its non-zero counters (dropped, rejected, garbage, sessions), from its Status RPC. */
  private static void statuses(ClusterConfig config) {
    try (StatusProbe probe = StatusProbe.open(config)) {
      for (StatusProbe.Answer a : probe.pollAll(Duration.ofSeconds(5))) {
        if (a.reachable()) {
          report("  replica %d: %s", a.target().id(), Statuses.line(a.status()));
        } else {
          report("  replica %d: no status (%s)", a.target().id(), a.error());
        }
      }
    }
  }

  static synchronized void report(String format, Object... args) {
    String line = String.format(format, args);
    System.err.println(line);
    try {
      Files.createDirectories(OUT.toAbsolutePath().getParent());
      Files.writeString(OUT, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      System.err.println("cannot write " + OUT + ": " + e);
    }
  }

  /** Samples a process's used heap with {@code jstat -gc} every half second. */
  static final class HeapProbe {
    private final long pid;
    private final AtomicLong maxKb = new AtomicLong();
    private final AtomicLong lastKb = new AtomicLong();
    private volatile String capacity = "?";
    private volatile boolean stopped;
    private final Thread thread;

    private HeapProbe(long pid) {
      this.pid = pid;
      this.thread = new Thread(this::loop, "heap-probe-" + pid);
      this.thread.setDaemon(true);
    }

    static HeapProbe start(long pid) throws InterruptedException {
      HeapProbe p = new HeapProbe(pid);
      p.sample();
      p.thread.start();
      return p;
    }

    private void loop() {
      while (!stopped) {
        sample();
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    private void sample() {
      Path jstat = Path.of(System.getProperty("java.home"), "bin", "jstat");
      try {
        Process p = new ProcessBuilder(jstat.toString(), "-gc", Long.toString(pid)).redirectErrorStream(true).start();
        List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        p.waitFor(10, TimeUnit.SECONDS);
        if (lines.size() < 2) {
          return;
        }
        String[] head = lines.get(0).trim().split("\\s+");
        String[] vals = lines.get(1).trim().split("\\s+");
        double used = 0;
        double cap = 0;
        for (int i = 0; i < head.length && i < vals.length; i++) {
          switch (head[i]) {
            case "S0U", "S1U", "EU", "OU" -> used += Double.parseDouble(vals[i]);
            case "S0C", "S1C", "EC", "OC" -> cap += Double.parseDouble(vals[i]);
            default -> { }
          }
        }
        long kb = (long) used;
        lastKb.set(kb);
        maxKb.accumulateAndGet(kb, Math::max);
        capacity = (long) (cap / 1024) + " MiB committed";
      } catch (IOException | RuntimeException e) {
        // the process is gone
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    long maxUsedMb() {
      return maxKb.get() / 1024;
    }

    long lastUsedMb() {
      return lastKb.get() / 1024;
    }

    String capacity() {
      return capacity;
    }

    void stop() {
      stopped = true;
      thread.interrupt();
    }

    static long rssMb(long pid) {
      try {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
          if (line.startsWith("VmRSS:")) {
            return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
          }
        }
      } catch (IOException | RuntimeException e) {
        // gone
      }
      return -1;
    }
  }
}

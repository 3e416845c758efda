package io.pbft.cli.cluster;

import io.pbft.cli.CliException;
import io.pbft.cli.Logging;
import io.pbft.cli.Main;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.LocalClusterSettings;
import io.pbft.testkit.Directories;
import io.pbft.testkit.Ports;
import io.pbft.testkit.StatusProbe;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.stream.Stream;

/**
 * Processes started on this machine for demo and bench: replicas (or the unreplicated baseline
 * server) as separate JVMs on free 127.0.0.1 ports, with keys and logs in a temporary directory.
 * {@link #close} stops every process it started and deletes the directory, and a shutdown hook
 * does the same on Ctrl-C, so nothing outlives the command.
 *
 * <p>For fault injection a replica can be killed (SIGKILL: a crash, no shutdown hook runs) or
 * paused (SIGSTOP: the process keeps its sockets but does nothing, so to its peers it falls
 * silent). Paused processes are continued before they are stopped. Every process logs its
 * garbage collections to DIR/NAME-gc.log, which bench reads for its heap report.
 *
 * <p>The heap of the processes and the start and stop timeouts are {@link LocalClusterSettings},
 * read from this JVM's system properties ({@code -Dpbft.cluster.heapMb=2048}).
 */
public final class LocalCluster implements AutoCloseable {
  /** Replica JVMs: throughput collector (pauses matter less than CPU on 2 cores); the heap is a setting. */
  /**
   * MetaspaceSize: class loading at start would otherwise cross the default 20 MB threshold and
   * force a full collection of a few hundred ms just as the group starts, which with a short
   * view-change timeout looks like a failed primary.
   */
  private static final List<String> JVM_FLAGS =
      List.of("-XX:+UseParallelGC", "-XX:+ExitOnOutOfMemoryError", "-XX:MetaspaceSize=128m");

  private final Path dir;
  private final LocalClusterSettings settings;
  private final PrintWriter progress;
  private final List<Started> started = new ArrayList<>();
  private final Map<Integer, Started> replicas = new HashMap<>();
  private final Set<Started> killed = new HashSet<>();
  private final Set<Started> paused = new HashSet<>();
  /** Processes started per replica id by {@link #startReplica}. */
  private final Map<Integer, Integer> runs = new HashMap<>();
  private final Thread hook = new Thread(this::close, "pbft-local-cluster-cleanup");
  private boolean closed;
  /** Leave the directory (logs, keys, data) in place when stopping. */
  private volatile boolean keepDirectory;

  private record Started(String name, Process process, Path log, Path gcLog) {}

  private LocalCluster(Path dir, LocalClusterSettings settings, PrintWriter progress) {
    this.dir = dir;
    this.settings = settings;
    this.progress = progress;
  }

  /**
   * A new, empty cluster directory under the system temp dir; progress lines go to {@code progress}.
   *
   * @throws io.pbft.config.ConfigException if a {@code pbft.cluster.*} system property is not a
   *     valid {@link LocalClusterSettings} value
   */
  public static LocalCluster create(String purpose, PrintWriter progress) {
    LocalClusterSettings settings = LocalClusterSettings.fromSystemProperties();
    try {
      LocalCluster c = new LocalCluster(Files.createTempDirectory("pbft-" + purpose + "-"), settings, progress);
      Runtime.getRuntime().addShutdownHook(c.hook);
      return c;
    } catch (IOException e) {
      throw CliException.failed("cannot create a temporary directory: " + e.getMessage());
    }
  }

  public Path dir() {
    return dir;
  }

  /** Leave the directory, with every process's log, in place when the cluster stops. */
  public void keepDirectory() {
    keepDirectory = true;
  }

  /**
   * Keys and cluster.yaml for {@code replicas} replicas on free ports and {@code clients} clients,
   * TLS on (a CA and certificates in {@code tls/}).
   */
  public ClusterConfig generate(int replicas, int clients) {
    int basePort = Ports.consecutive(replicas);
    return tracked(ClusterSetup.generate(dir, replicas, clients, "127.0.0.1", basePort, -1, new SecureRandom()));
  }

  /** TLS of the status calls {@link #awaitHealthy} makes: the generated cluster's operator's, if any. */
  private volatile io.grpc.netty.shaded.io.netty.handler.ssl.SslContext statusTls;

  private ClusterConfig tracked(ClusterConfig config) {
    statusTls = io.pbft.client.ClientTls.adminContext(config);
    return config;
  }

  /**
   * New certificates for {@code config}'s replicas from the cluster CA in {@code tls/} (after
   * their addresses moved: the certificates name them), written in place; returns the config.
   */
  public ClusterConfig reissueTls(ClusterConfig config) {
    if (!config.tls().enabled()) {
      return config;
    }
    io.pbft.crypto.tls.CertificateAuthority ca = io.pbft.crypto.tls.CertificateAuthority.load(
        dir.resolve(io.pbft.config.TlsConfig.CA_CERT_FILE), dir.resolve(io.pbft.config.TlsConfig.CA_KEY_FILE),
        new SecureRandom());
    return ClusterSetup.issueTls(dir, config, ca, false, ClusterSetup.CERTIFICATE_VALIDITY);
  }

  /** Replaces the generated {@code cluster.yaml} with {@code config} (settings changed); returns it. */
  public ClusterConfig rewrite(ClusterConfig config) {
    tracked(config);
    config.write(dir.resolve("cluster.yaml"));
    return config;
  }

  /** Starts one {@code pbft replica} process per replica of {@code config} (written by {@link #generate}). */
  public void startReplicas(ClusterConfig config) {
    startReplicas(config, Map.of());
  }

  /**
   * As {@link #startReplicas(ClusterConfig)}, replica i with {@code extraArgs.get(i)} appended to
   * its command line (e.g. {@code --traitor NAME} for a traitor among them).
   */
  public void startReplicas(ClusterConfig config, Map<Integer, List<String>> extraArgs) {
    Path yaml = dir.resolve("cluster.yaml");
    for (int i = 0; i < config.n(); i++) {
      List<String> args = new ArrayList<>(List.of("replica", "--config", yaml.toString(), "--id", String.valueOf(i)));
      args.addAll(extraArgs.getOrDefault(i, List.of()));
      if (Logging.explicitLevel() != null) {
        args.add("--log-level");
        args.add(Logging.explicitLevel());
      }
      Started s = launch("replica " + i, replicaPrefix.apply(i), Main.class.getName(), args);
      synchronized (this) {
        replicas.put(i, s);
      }
    }
    progress.printf("started %d replica processes on %s..%s (logs in %s)%n", config.n(),
        config.replica(0).address(), config.replica(config.n() - 1).address(), dir);
    progress.flush();
  }

  private List<String> extraJvmFlags = List.of();
  private volatile IntFunction<List<String>> replicaPrefix = id -> List.of();

  /**
   * A command that every replica process started from now on runs under, before its {@code java}
   * (e.g. {@code ip netns exec NAME}, which enters a network namespace and then executes the rest
   * in place, so that the process, its pid and its signals stay the replica's own).
   */
  public void replicaPrefix(IntFunction<List<String>> prefix) {
    replicaPrefix = prefix;
  }

  /**
   * JVM flags for the processes started from now on, before {@code -Dpbft.cluster.jvmFlags}
   * (which wins).
   */
  public synchronized void jvmFlags(List<String> flags) {
    extraJvmFlags = List.copyOf(flags);
  }

  /** Starts {@code mainClass} in a new JVM with this JVM's classpath; output goes to DIR/NAME.log. */
  public Process start(String name, String mainClass, List<String> args) {
    return launch(name, List.of(), mainClass, args).process;
  }

  private synchronized Started launch(String name, List<String> prefix, String mainClass, List<String> args) {
    if (closed) {
      throw new IllegalStateException("cluster already stopped");
    }
    Path log = dir.resolve(name.replace(' ', '-') + ".log");
    Path gcLog = dir.resolve(name.replace(' ', '-') + "-gc.log");
    List<String> command = new ArrayList<>(prefix);
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx" + settings.heapMb() + "m");
    command.addAll(JVM_FLAGS);
    command.addAll(extraJvmFlags);
    // e.g. -Dpbft.cluster.jvmFlags=-Xmx4g for measurements that keep a long log in memory:
    // later flags win over the ones above.
    String extra = System.getProperty("pbft.cluster.jvmFlags", "").trim();
    if (!extra.isEmpty()) {
      command.addAll(List.of(extra.split("\\s+")));
    }
    // Collections with the wall-clock time they happened: bench lines them up with its run.
    command.add("-Xlog:gc:file=" + gcLog + ":timemillis");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(mainClass);
    command.addAll(args);
    try {
      Process p = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
      Started s = new Started(name, p, log, gcLog);
      started.add(s);
      return s;
    } catch (IOException e) {
      throw CliException.failed("cannot start " + name + ": " + e.getMessage());
    }
  }

  /** Waits until every target answers its Status RPC; fails if a process exits meanwhile. */
  public void awaitHealthy(List<StatusProbe.Target> targets) throws InterruptedException {
    awaitHealthy(targets, Duration.ofMillis(settings.startTimeoutMs()));
  }

  /** As {@link #awaitHealthy(List)}, waiting up to {@code timeout} (a loaded machine starts JVMs slowly). */
  public void awaitHealthy(List<StatusProbe.Target> targets, Duration timeout) throws InterruptedException {
    try (ClusterStatus status = ClusterStatus.open(targets, statusTls)) {
      ClusterStatus.Snapshot s = status.await(ClusterStatus.Snapshot::allReachable, timeout,
          Duration.ofSeconds(1), this::checkAlive);
      if (!s.allReachable()) {
        StringBuilder why = new StringBuilder();
        s.replicas().stream().filter(r -> !r.reachable())
            .forEach(r -> why.append("; ").append(r.id()).append(" at ").append(r.address()).append(": ").append(r.error()));
        throw CliException.failed("processes not reachable after " + timeout.toMillis() + " ms" + why);
      }
    }
  }

  /** Throws if a started process has exited (other than by {@link #kill}), quoting the end of its log. */
  public synchronized void checkAlive() {
    for (Started s : started) {
      if (!s.process.isAlive() && !killed.contains(s)) {
        throw CliException.failed(s.name + " exited with code " + s.process.exitValue() + "; end of its log:\n"
            + tail(s.log, 15));
      }
    }
  }

  /** The operating-system process id of replica {@code id}. */
  public synchronized long pid(int id) {
    return replica(id).process.pid();
  }

  /**
   * Replica {@code id}'s process is to stop by itself (it was removed from the group, and exits 0
   * once it has helped the others through the handover): its exit is not a failure.
   */
  public synchronized void expectExit(int id) {
    killed.add(replica(id));
  }

  /** Kills replica {@code id} with SIGKILL, as a crash would, and waits until it is gone. */
  public void kill(int id) throws InterruptedException {
    Started s;
    synchronized (this) {
      s = replica(id);
      killed.add(s);
      paused.remove(s);
    }
    s.process.destroyForcibly(); // SIGKILL on Unix: no shutdown hook, no goodbye to the peers
    s.process.waitFor();
  }

  /**
   * Stops replica {@code id} gracefully (SIGTERM: its shutdown hook closes it) and waits until it
   * is gone, or kills it after pbft.cluster.stopGraceMs (default 5 s). A paused replica is continued first, or it could not act.
   */
  public void stop(int id) throws InterruptedException {
    Started s;
    synchronized (this) {
      s = replica(id);
      killed.add(s); // exits on purpose
      if (paused.remove(s)) {
        signal(s, "CONT");
      }
    }
    s.process.destroy();
    if (!s.process.waitFor(settings.stopGraceMs(), TimeUnit.MILLISECONDS)) {
      s.process.destroyForcibly().waitFor();
    }
  }

  /**
   * Pauses replica {@code id} with SIGSTOP: it keeps its connections open but neither reads nor
   * sends, which to the others is a primary that fell silent. {@link #close} continues it.
   */
  public synchronized void pause(int id) {
    Started s = replica(id);
    signal(s, "STOP");
    paused.add(s);
  }

  /** Continues a replica paused by {@link #pause} (SIGCONT). */
  public synchronized void resume(int id) {
    Started s = replica(id);
    if (paused.remove(s)) {
      signal(s, "CONT");
    }
  }

  // ---------------------------------------------------------------- durable replicas

  /** Where replica {@code id} keeps its state when started durable: DIR/data/replica-ID. */
  public Path dataDir(int id) {
    return dir.resolve("data").resolve("replica-" + id);
  }

  /**
   * Starts one {@code pbft replica --data-dir} process per replica of {@code config} (written by
   * {@link #generate}), each with its own {@link #dataDir}.
   */
  public void startDurableReplicas(ClusterConfig config) {
    for (int i = 0; i < config.n(); i++) {
      startReplica(config, i, dataDir(i));
    }
    progress.printf("started %d durable replica processes on %s..%s (logs and data in %s)%n", config.n(),
        config.replica(0).address(), config.replica(config.n() - 1).address(), dir);
    progress.flush();
  }

  /**
   * Starts replica {@code id} of {@code config} as a process of its own with {@code --data-dir
   * dataDir} (null: in memory), listening on its configured port. Used again after {@link #kill}
   * it restarts the replica, which then recovers from what its data directory holds; its
   * output goes to a new log each time ({@link #log}). Fails if the replica is still running.
   */
  public synchronized Process startReplica(ClusterConfig config, int id, Path dataDir) {
    config.replica(id); // fails for an id the configuration does not have
    return startReplica(dir.resolve("cluster.yaml"), id, dataDir);
  }

  /**
   * As {@link #startReplica(ClusterConfig, int, Path)}, with the configuration file {@code
   * configFile} (e.g. one of its own, in which its peers are reached through proxies).
   */
  public synchronized Process startReplica(Path configFile, int id, Path dataDir) {
    return startReplica(configFile, id, dataDir, List.of());
  }

  /**
   * As above, with {@code extraArgs} for {@code pbft replica}. With {@code --join} among them the
   * replica's current process may still run: the new one is the machine the replica moves to, and
   * the old one stops by itself once the move takes effect (not a failure).
   */
  public synchronized Process startReplica(Path configFile, int id, Path dataDir, List<String> extraArgs) {
    Started before = replicas.get(id);
    if (before != null && before.process.isAlive() && !extraArgs.contains("--join")) {
      throw new IllegalStateException("replica " + id + " is still running (pid " + before.process.pid() + ")");
    }
    List<String> args = new ArrayList<>(List.of("replica", "--config", configFile.toString(),
        "--id", String.valueOf(id)));
    args.addAll(extraArgs);
    if (dataDir != null) {
      args.add("--data-dir");
      args.add(dataDir.toString());
    }
    if (Logging.explicitLevel() != null) {
      args.add("--log-level");
      args.add(Logging.explicitLevel());
    }
    // The first start of a replica (here or by startReplicas) is run 1.
    int run = runs.merge(id, before == null ? 1 : 2, (counted, one) -> counted + 1);
    Started s = launch(run == 1 ? "replica " + id : "replica " + id + " run " + run, replicaPrefix.apply(id),
        Main.class.getName(), args);
    if (before != null) {
      killed.add(before); // exited on purpose (or by itself before the restart): not a failure now
    }
    replicas.put(id, s);
    return s.process;
  }

  /** The output of the latest process of replica {@code id}. */
  public synchronized Path log(int id) {
    return replica(id).log;
  }

  /** The process of the latest start of replica {@code id}. */
  public synchronized Process process(int id) {
    return replica(id).process;
  }

  /**
   * Makes every running, unpaused process collect its whole heap now ({@code jcmd PID GC.run}), so
   * that its collector log records the live set, which young collections alone never show.
   */
  public void forceFullGc() {
    List<Started> running;
    synchronized (this) {
      running = started.stream().filter(s -> s.process.isAlive() && !paused.contains(s)).toList();
    }
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    for (Started s : running) {
      try {
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(s.process.pid()), "GC.run")
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (IOException e) {
        progress.printf("cannot run %s for %s: %s%n", jcmd, s.name, e.getMessage());
        progress.flush();
        return; // no jcmd in this Java installation: the report goes without
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** The collector log of each process started so far, by process name, in start order. */
  public synchronized Map<String, Path> gcLogs() {
    Map<String, Path> logs = new LinkedHashMap<>();
    started.forEach(s -> logs.put(s.name, s.gcLog));
    return logs;
  }

  /**
   * CPU time (user and system) each started process that is still alive has used so far, by its
   * name, in nanoseconds; a process whose time the system does not report is left out.
   */
  public synchronized Map<String, Long> cpuNanos() {
    Map<String, Long> cpu = new LinkedHashMap<>();
    for (Started s : started) {
      if (s.process.isAlive()) {
        s.process.info().totalCpuDuration().ifPresent(d -> cpu.put(s.name, d.toNanos()));
      }
    }
    return cpu;
  }

  private Started replica(int id) {
    Started s = replicas.get(id);
    if (s == null) {
      throw new IllegalArgumentException("no replica " + id + " was started here");
    }
    return s;
  }

  /** ProcessHandle has no way to send SIGSTOP or SIGCONT: kill(1) does it. */
  private static void signal(Started s, String signal) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(s.process.pid()))
          .redirectErrorStream(true).start();
      String output = new String(kill.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
      if (kill.waitFor() != 0) {
        throw CliException.failed("kill -" + signal + " " + s.process.pid() + " (" + s.name + ") failed: " + output);
      }
    } catch (IOException e) {
      throw CliException.failed("cannot run kill -" + signal + " for " + s.name + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CliException.failed("interrupted while signalling " + s.name);
    }
  }

  private static String tail(Path log, int lines) {
    try (Stream<String> all = Files.lines(log)) {
      List<String> l = all.toList();
      return String.join("\n", l.subList(Math.max(0, l.size() - lines), l.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(cannot read " + log + ": " + e.getMessage() + ")";
    }
  }

  /**
   * Stops every process (paused ones are continued first; SIGTERM, then SIGKILL after
   * {@code pbft.cluster.stopGraceMs}) and deletes the directory. Idempotent.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (Thread.currentThread() != hook) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running or about to; close() is idempotent
      }
    }
    for (Started s : List.copyOf(paused)) {
      try {
        signal(s, "CONT"); // a stopped process would not act on SIGTERM
      } catch (CliException e) {
        s.process.destroyForcibly();
      }
    }
    paused.clear();
    started.forEach(s -> s.process.destroy());
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(settings.stopGraceMs());
    for (Started s : started) {
      try {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !s.process.waitFor(left, TimeUnit.NANOSECONDS)) {
          s.process.destroyForcibly().waitFor(2, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        s.process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    if (keepDirectory) {
      progress.printf("kept the logs and keys in %s%n", dir);
      progress.flush();
    } else {
      Directories.deleteRecursively(dir);
    }
  }

}

package io.pbft.cli.cluster;

import io.pbft.cli.CliException;
import io.pbft.cli.Logging;
import io.pbft.cli.Main;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Processes started on this machine for demo and bench: replicas (or the unreplicated baseline
 * server) as separate JVMs on free 127.0.0.1 ports, with keys and logs in a temporary directory.
 * {@link #close} stops every process it started and deletes the directory, and a shutdown hook
 * does the same on Ctrl-C, so nothing outlives the command.
 */
public final class LocalCluster implements AutoCloseable {
  /** Replica JVMs: bounded heap, throughput collector (pauses matter less than CPU on 2 cores). */
  private static final List<String> JVM_FLAGS = List.of("-Xmx1g", "-XX:+UseParallelGC", "-XX:+ExitOnOutOfMemoryError");
  private static final Duration STOP_GRACE = Duration.ofSeconds(5);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final Path dir;
  private final PrintWriter progress;
  private final List<Started> started = new ArrayList<>();
  private final Thread hook = new Thread(this::close, "pbft-local-cluster-cleanup");
  private boolean closed;

  private record Started(String name, Process process, Path log) {}

  private LocalCluster(Path dir, PrintWriter progress) {
    this.dir = dir;
    this.progress = progress;
  }

  /** A new, empty cluster directory under the system temp dir; progress lines go to {@code progress}. */
  public static LocalCluster create(String purpose, PrintWriter progress) {
    try {
      LocalCluster c = new LocalCluster(Files.createTempDirectory("pbft-" + purpose + "-"), progress);
      Runtime.getRuntime().addShutdownHook(c.hook);
      return c;
    } catch (IOException e) {
      throw CliException.failed("cannot create a temporary directory: " + e.getMessage());
    }
  }

  public Path dir() {
    return dir;
  }

  /** Keys and cluster.yaml for {@code replicas} replicas on free ports and {@code clients} clients. */
  public ClusterConfig generate(int replicas, int clients) {
    int basePort = FreePorts.findConsecutive(replicas);
    return ClusterSetup.generate(dir, replicas, clients, "127.0.0.1", basePort, -1, new SecureRandom());
  }

  /** Starts one {@code pbft replica} process per replica of {@code config} (written by {@link #generate}). */
  public void startReplicas(ClusterConfig config) {
    Path yaml = dir.resolve("cluster.yaml");
    for (int i = 0; i < config.n(); i++) {
      List<String> args = new ArrayList<>(List.of("replica", "--config", yaml.toString(), "--id", String.valueOf(i)));
      if (Logging.explicitLevel() != null) {
        args.add("--log-level");
        args.add(Logging.explicitLevel());
      }
      start("replica " + i, Main.class.getName(), args);
    }
    progress.printf("started %d replica processes on %s..%s (logs in %s)%n", config.n(),
        config.replica(0).address(), config.replica(config.n() - 1).address(), dir);
    progress.flush();
  }

  /** Starts {@code mainClass} in a new JVM with this JVM's classpath; output goes to DIR/NAME.log. */
  public synchronized Process start(String name, String mainClass, List<String> args) {
    if (closed) {
      throw new IllegalStateException("cluster already stopped");
    }
    Path log = dir.resolve(name.replace(' ', '-') + ".log");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(JVM_FLAGS);
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
      started.add(new Started(name, p, log));
      return p;
    } catch (IOException e) {
      throw CliException.failed("cannot start " + name + ": " + e.getMessage());
    }
  }

  /** Waits until every target answers its Status RPC; fails if a process exits meanwhile. */
  public void awaitHealthy(List<ClusterStatus.Target> targets) throws InterruptedException {
    try (ClusterStatus status = ClusterStatus.open(targets)) {
      ClusterStatus.Snapshot s = status.await(ClusterStatus.Snapshot::allReachable, START_TIMEOUT,
          Duration.ofSeconds(1), this::checkAlive);
      if (!s.allReachable()) {
        StringBuilder why = new StringBuilder();
        s.replicas().stream().filter(r -> !r.reachable())
            .forEach(r -> why.append("; ").append(r.id()).append(" at ").append(r.address()).append(": ").append(r.error()));
        throw CliException.failed("processes not reachable after " + START_TIMEOUT.toSeconds() + " s" + why);
      }
    }
  }

  /** Throws if a started process has exited, quoting the end of its log. */
  public synchronized void checkAlive() {
    for (Started s : started) {
      if (!s.process.isAlive()) {
        throw CliException.failed(s.name + " exited with code " + s.process.exitValue() + "; end of its log:\n"
            + tail(s.log, 15));
      }
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

  /** Stops every process (SIGTERM, then SIGKILL after 5 s) and deletes the directory. Idempotent. */
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
    started.forEach(s -> s.process.destroy());
    long deadline = System.nanoTime() + STOP_GRACE.toNanos();
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
    deleteRecursively(dir);
  }

  private static void deleteRecursively(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException ignored) {
          // best effort: a leftover file in the temp dir is harmless
        }
      });
    } catch (IOException | UncheckedIOException ignored) {
      // already gone
    }
  }
}

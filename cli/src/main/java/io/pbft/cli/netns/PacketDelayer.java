package io.pbft.cli.netns;

import io.pbft.cli.CliException;
import io.pbft.testkit.Directories;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code pbft-delay} (a small C program, source in this package's resources) holding the packets
 * of one netfilter queue for a delay plus jitter before it lets them go on. It stands in for
 * {@code tc netem}, which kernels built without {@code sch_netem} (firecracker's, for one) lack:
 * iptables {@code -j NFQUEUE} hands each packet's verdict to it, and the packet waits in the
 * kernel until the verdict comes. Compiled once per JVM with gcc against libnetfilter_queue.
 */
final class PacketDelayer implements AutoCloseable {
  private static final String SOURCE = "pbft-delay.c";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);
  private static Path binary;

  private final Process process;
  private final Path log;

  private PacketDelayer(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** Why the delayer cannot be built here, or null if gcc and libnetfilter_queue's header are present. */
  static String unavailable() {
    if (!HostCommands.attempt(List.of("gcc", "--version")).ok()) {
      return "gcc is not installed (Debian: apt-get install gcc libnetfilter-queue-dev)";
    }
    if (!Files.exists(Path.of("/usr/include/libnetfilter_queue/libnetfilter_queue.h"))) {
      return "libnetfilter_queue's header is missing (Debian: apt-get install libnetfilter-queue-dev)";
    }
    return null;
  }

  /** The compiled program, built on first use into a directory deleted when the JVM exits. */
  static synchronized Path binary() {
    if (binary != null) {
      return binary;
    }
    String why = unavailable();
    if (why != null) {
      throw CliException.failed("cannot build the packet delayer: " + why);
    }
    try {
      Path dir = Files.createTempDirectory("pbft-delay-");
      Runtime.getRuntime().addShutdownHook(new Thread(() -> Directories.deleteRecursively(dir)));
      Path source = dir.resolve(SOURCE);
      try (InputStream in = PacketDelayer.class.getResourceAsStream(SOURCE)) {
        if (in == null) {
          throw CliException.failed("the packet delayer's source " + SOURCE + " is not on the classpath");
        }
        Files.copy(in, source, StandardCopyOption.REPLACE_EXISTING);
      }
      Path out = dir.resolve("pbft-delay");
      HostCommands.run(List.of("gcc", "-O2", "-Wall", "-o", out.toString(), source.toString(), "-lnetfilter_queue"));
      binary = out;
      return out;
    } catch (IOException e) {
      throw CliException.failed("cannot build the packet delayer: " + e.getMessage());
    }
  }

  /**
   * Starts a delayer on netfilter queue {@code queue} of namespace {@code namespace} and returns
   * once it is bound to the queue (packets sent to the queue before then would be dropped).
   */
  static PacketDelayer start(String namespace, int queue, Duration delay, Duration jitter, Path log) {
    List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", namespace, binary().toString(),
        String.valueOf(queue), String.valueOf(delay.toNanos() / 1000), String.valueOf(jitter.toNanos() / 1000)));
    Process p;
    try {
      p = new ProcessBuilder(command).redirectError(log.toFile()).start();
    } catch (IOException e) {
      throw CliException.failed("cannot start the packet delayer: " + e.getMessage());
    }
    PacketDelayer d = new PacketDelayer(p, log);
    CompletableFuture<String> firstLine = CompletableFuture.supplyAsync(() -> {
      try {
        return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
      } catch (IOException e) {
        return null;
      }
    });
    try {
      String line = firstLine.get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      if (!"ready".equals(line)) {
        d.close();
        throw CliException.failed("the packet delayer did not start: " + d.logText());
      }
      return d;
    } catch (TimeoutException | ExecutionException e) {
      d.close();
      throw CliException.failed("the packet delayer did not report ready within " + READY_TIMEOUT.toSeconds()
          + " s: " + d.logText());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      d.close();
      throw CliException.failed("interrupted while starting the packet delayer");
    }
  }

  /** Whether it still runs (if it died, the queue's packets are dropped: the network is cut). */
  boolean alive() {
    return process.isAlive();
  }

  String logText() {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8).trim() : "";
    } catch (IOException e) {
      return "(cannot read " + log + ")";
    }
  }

  /** SIGTERM, then SIGKILL after a second; the packets it still holds are dropped. */
  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(1, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(2, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}

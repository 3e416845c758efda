package io.pbft.cli.bench;

import io.pbft.chaos.outsider.Outsider;
import io.pbft.cli.cluster.ClusterStatus;
import io.pbft.cli.cluster.LocalCluster;
import io.pbft.cli.cluster.ReplicaStatus;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Injects one {@link Fault} when it is due: it asks the replicas for their view (the primary of
 * view v is replica v mod n) and then kills, pauses, arms a traitor, or starts an attacker process.
 * Traitor faults need the replicas started with {@link #replicaArgs} so that the traitor lies only
 * once armed; the view at injection is kept to count the view changes the fault caused.
 */
public final class FaultInjector {
  /** How long {@link Fault#STALL_ALL} keeps every replica stopped. */
  public static final Duration STALL = Duration.ofSeconds(2);

  private final Fault fault;
  private final LocalCluster cluster;
  private final ClusterConfig config;
  private final PrintWriter progress;
  private volatile int replica = -1;
  private volatile long viewBefore = -1;
  private Process attacker;

  public FaultInjector(Fault fault, LocalCluster cluster, ClusterConfig config, PrintWriter progress) {
    this.fault = fault;
    this.cluster = cluster;
    this.config = config;
    this.progress = progress;
  }

  /** The file whose creation arms a traitor fault's behaviour or a Byzantine client. */
  /** The outsider's arguments; with TLS on it speaks TLS too (no certificate), or it would not get past the handshake. */
  private List<String> outsiderArgs(String... args) {
    List<String> all = new java.util.ArrayList<>(List.of(args));
    if (config.tls().enabled()) {
      all.add("--tls-ca");
      all.add(config.resolve(config.tls().caCertFile()).toString());
    }
    return all;
  }

  private Path trigger() {
    return cluster.dir().resolve("fault-armed");
  }

  /** Extra command-line arguments per replica for this fault (a traitor waiting to be armed). */
  public Map<Integer, List<String>> replicaArgs() {
    if (fault.traitor() == null) {
      return Map.of();
    }
    return Map.of(fault.traitorReplica(),
        List.of("--traitor", fault.traitor(), "--traitor-armed-by", trigger().toString()));
  }

  /**
   * Where bench's own clients append every request they send ({@link RequestCapture}), for the
   * replaying client to replay; null for every other fault (nothing is captured then).
   */
  public Path captureFile() {
    return fault.client() == FloodingClient.Kind.REPLAY ? cluster.dir().resolve("requests-sent.bin") : null;
  }

  /**
   * Starts what the fault needs ahead of time: a Byzantine client's process, which then waits for
   * the trigger file. Started when the fault is due, its JVM took 5 s and more on a loaded machine
   * to send anything, so a short run often never saw the attack. Call once the replicas are up
   * (and, for the replayer, once the capture file exists).
   */
  public void prepare() {
    if (fault.client() == null || attacker != null) {
      return;
    }
    List<String> args = new ArrayList<>(List.of(cluster.dir().resolve("cluster.yaml").toString(),
        Integer.toString(attackerClient()), fault.client().option()));
    if (captureFile() != null) {
      args.add(captureFile().toString());
    }
    args.addAll(List.of(FloodingClient.ARMED_BY, trigger().toString()));
    attacker = cluster.start(attackerName(), FloodingClient.class.getName(), args);
  }

  private int attackerClient() {
    return config.clients().stream().mapToInt(c -> c.id()).max().orElseThrow();
  }

  private String attackerName() {
    return fault.client().option() + "-client";
  }

  private Path attackerLog() {
    return cluster.dir().resolve(attackerName() + ".log");
  }

  /**
   * Requests the Byzantine client had sent by its last report (it reports every second), or -1 for
   * faults without one or if it reported nothing: that the attack happened at all.
   */
  public long attackerRequestsSent() {
    if (fault.client() == null || !Files.exists(attackerLog())) {
      return -1;
    }
    try {
      long sent = -1;
      Matcher m = SENT.matcher(Files.readString(attackerLog()));
      while (m.find()) {
        sent = Long.parseLong(m.group(1));
      }
      return sent;
    } catch (IOException e) {
      return -1;
    }
  }

  private static final Pattern SENT = Pattern.compile(": (\\d+) requests sent");

  /** The replica the fault hit (-1 for all of them or an outsider's attack), or -1 before it did. */
  public int replica() {
    return replica;
  }

  /** The highest view when the fault was injected, or -1 before it was. */
  public long viewBefore() {
    return viewBefore;
  }

  public void inject() {
    long view = currentView();
    viewBefore = view;
    int primary = (int) (view % config.n());
    String ports = config.replicas().stream().map(r -> Integer.toString(r.port())).collect(Collectors.joining(","));
    try {
      switch (fault) {
        case KILL_PRIMARY -> {
          long pid = cluster.pid(primary);
          cluster.kill(primary);
          replica = primary;
          report("killed (SIGKILL) replica %d (pid %d), the primary of view %d", primary, pid, view);
        }
        case PAUSE_PRIMARY -> {
          long pid = cluster.pid(primary);
          cluster.pause(primary);
          replica = primary;
          report("paused (SIGSTOP) replica %d (pid %d), the primary of view %d", primary, pid, view);
        }
        case SLOW_PRIMARY, EQUIVOCATING_PRIMARY, SLOW_BACKUP -> {
          Files.createFile(trigger());
          replica = fault.traitorReplica();
          report("armed traitor '%s' in replica %d (the primary of view %d is replica %d)", fault.traitor(),
              replica, view, primary);
        }
        case STALL_ALL -> {
          for (ReplicaInfo r : config.replicas()) {
            cluster.pause(r.id());
          }
          report("stopped (SIGSTOP) every replica for %d ms", STALL.toMillis());
          Thread.sleep(STALL.toMillis());
          for (ReplicaInfo r : config.replicas()) {
            cluster.resume(r.id());
          }
          report("continued (SIGCONT) every replica");
        }
        case FLOOD_CLIENT, EQUIVOCATING_CLIENT, MAX_TIMESTAMP_CLIENT, REPLAYING_CLIENT, PARTIAL_AUTHENTICATOR_CLIENT -> {
          if (attacker == null) {
            prepare(); // not started with the replicas: start it now, armed at once
          }
          Files.createFile(trigger());
          replica = -1;
          report("armed %s client %d (a process of its own since the start; see %s)", fault.client().option(),
              attackerClient(), attackerLog().getFileName());
        }
        case SESSION_EXHAUSTION -> {
          cluster.start("outsider", Outsider.class.getName(), outsiderArgs("streams", "127.0.0.1", ports, "5000", "100"));
          report("started an outsider holding 5,000 handshake-less client streams per replica (see outsider.log)");
        }
        case GARBAGE_FLOOD -> {
          cluster.start("outsider", Outsider.class.getName(), outsiderArgs("garbage", "127.0.0.1", ports, "4"));
          report("started an outsider sending garbage on 4 connections per replica (see outsider.log)");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A line of progress, stamped with the wall-clock time so that it can be matched with the replicas' logs. */
  private void report(String format, Object... args) {
    progress.printf("       %s %s%n", java.time.LocalTime.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS),
        String.format(format, args));
    progress.flush();
  }

  /** The highest view a replica reports; view 0 if none answers in time (its primary is replica 0). */
  private long currentView() {
    try (ClusterStatus status = ClusterStatus.open(config)) {
      ClusterStatus.Snapshot s = status.poll(Duration.ofSeconds(1));
      return s.replicas().stream().filter(ReplicaStatus::reachable).mapToLong(ReplicaStatus::view).max().orElse(0);
    }
  }
}

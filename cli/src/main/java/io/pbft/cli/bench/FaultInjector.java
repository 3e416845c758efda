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
  private ClusterConfig config;
  /** The administrator's key ({@link Fault#changesGroup}); null for every other fault. */
  private io.pbft.crypto.Ed25519Keys administrator;
  /** Milliseconds from submitting the change to every replica running its epoch; -1 until then. */
  private volatile long changeTookMs = -1;
  private final PrintWriter progress;
  private volatile int replica = -1;
  private volatile long viewBefore = -1;
  private Process attacker;

  /** Handshake-less streams the session-exhaustion outsider opens at each replica. */
  static final int OUTSIDER_STREAMS = 5000;
  /** Connections per replica the garbage-flood outsider sends random bytes on. */
  static final int OUTSIDER_GARBAGE_CONNECTIONS = 4;

  public FaultInjector(Fault fault, LocalCluster cluster, ClusterConfig config, PrintWriter progress) {
    this.fault = fault;
    this.cluster = cluster;
    this.config = config;
    this.progress = progress;
  }

  /**
   * The configuration the replicas start with: for a change of the group ({@link Fault#changesGroup}), with an
   * administration key (kept here) that may change the group, written to the cluster's directory;
   * otherwise {@code cfg} as it is.
   */
  public ClusterConfig configure(ClusterConfig cfg) {
    if (!fault.changesGroup()) {
      return cfg;
    }
    administrator = io.pbft.crypto.Ed25519Keys.generate(new java.security.SecureRandom());
    config = cluster.rewrite(cfg.withAdministration(new io.pbft.config.Administration(
        List.of(new io.pbft.config.AdministrationKey(administrator.publicKey())), 1)));
    return config;
  }

  /** How long the change took to take effect everywhere ({@link Fault#changesGroup}), -1 if it did not. */
  public long changeTookMs() {
    return changeTookMs;
  }

  /**
   * Rotates replica {@code id}'s key: its next key where {@code pbft keygen --replacing} puts it,
   * the signed command submitted as the extra client, then the replicas' status polled until every
   * one runs the new epoch. In a thread of its own, so that the load goes on meanwhile.
   */
  private void rotateKey(int id) {
    io.pbft.crypto.Ed25519Keys next = nextKeyOf(id);
    io.pbft.config.Membership epoch0 = io.pbft.config.Membership.initial(config);
    change(epoch0.nextRotatingKey(id, next.publicKey(), null), "bench: rotate the primary's key",
        "replica " + id + " signs with its new key");
  }

  /** Replica {@code id}'s next key, written where {@code pbft keygen --replacing} puts it. */
  private io.pbft.crypto.Ed25519Keys nextKeyOf(int id) {
    io.pbft.crypto.Ed25519Keys next = io.pbft.crypto.Ed25519Keys.generate(new java.security.SecureRandom());
    io.pbft.config.KeyFiles.write(io.pbft.config.ClusterSetup.replacementKeyFile(cluster.dir(), id), next);
    return next;
  }

  /** The replica {@link Fault#MOVE_BACKUP} moves: a backup of view 0. */
  static final int MOVED_REPLICA = 1;

  /** The membership the move makes, once the new machine is started ({@link Fault#MOVE_BACKUP}). */
  private io.pbft.config.Membership moving;

  /**
   * Starts replica {@code id}'s new machine before the load, as an operator starts it before
   * submitting the move: its next key, and a process on a free port started with {@code pbft
   * replica --join} (durable if the replicas are, on a data directory of its own), which waits until
   * the group's epoch names it. Its JVM then starts on an idle machine, not in the middle of the run.
   */
  private void startNewMachine(int id) {
    io.pbft.crypto.Ed25519Keys next = nextKeyOf(id);
    String host = config.replica(id).host();
    int port = io.pbft.testkit.Ports.free();
    Path data = Files.exists(cluster.dataDir(id)) ? cluster.dir().resolve("data-moved-" + id) : null;
    cluster.startReplica(cluster.dir().resolve("cluster.yaml"), id, data, List.of("--join"));
    moving = io.pbft.config.Membership.initial(config).nextReplacing(id, host, port, next.publicKey(), null);
    report("started replica %d's new machine at %s:%d (pbft replica --join%s); it waits for the move", id, host, port,
        data == null ? "" : ", data directory " + data.getFileName());
  }

  /**
   * Starts the replica {@link Fault#ADD_REPLICA} adds before the load, as an operator starts it
   * before submitting the change: keys (and with TLS on a certificate from the cluster's CA) where
   * {@code pbft keygen --add-to} writes them, and a process on a free port started with {@code
   * pbft replica --join} (durable if the replicas are), which waits until the group's epoch names it.
   */
  private void startAddedMachine() {
    int id = config.n();
    String host = config.replica(0).host();
    int port = io.pbft.testkit.Ports.free();
    io.pbft.crypto.tls.CertificateAuthority ca = null;
    if (config.tls().enabled()) {
      ca = io.pbft.crypto.tls.CertificateAuthority.load(cluster.dir().resolve(io.pbft.config.TlsConfig.CA_CERT_FILE),
          cluster.dir().resolve(io.pbft.config.TlsConfig.CA_KEY_FILE), new java.security.SecureRandom());
    }
    ReplicaInfo added = io.pbft.config.ClusterSetup.addReplica(cluster.dir(), config, id, host, port, ca,
        io.pbft.config.ClusterSetup.CERTIFICATE_VALIDITY, new java.security.SecureRandom());
    Path data = Files.exists(cluster.dataDir(0)) ? cluster.dir().resolve("data-added-" + id) : null;
    cluster.startReplica(cluster.dir().resolve("cluster.yaml"), id, data, List.of("--join"));
    moving = io.pbft.config.Membership.initial(config).nextAdding(
        new io.pbft.config.Member(id, host, port, added.publicKey(), null));
    report("started replica %d at %s:%d (pbft replica --join%s); it waits to be added", id, host, port,
        data == null ? "" : ", data directory " + data.getFileName());
  }

  /** Submits the addition of the replica started before the load. */
  private void addReplica() {
    if (moving == null) {
      startAddedMachine(); // not prepared with the replicas: start it now
    }
    int id = config.n();
    change(moving, "bench: add a replica", "replica " + id + " runs with the group's state");
  }

  /**
   * Submits the removal of replica {@code id}; its process steps down at the handover and exits,
   * which is expected. With n = 3f + 1 the change lowers f too (n - 1 members tolerate one fault less).
   */
  private void removeReplica(int id) {
    io.pbft.config.Membership epoch0 = io.pbft.config.Membership.initial(config);
    io.pbft.config.MembershipChange change = epoch0.change().remove(id);
    if (epoch0.n() - 1 < 3 * epoch0.f() + 1) {
      change.faults((epoch0.n() - 2) / 3);
    }
    cluster.expectExit(id);
    change(change.build(), "bench: remove a backup", "replica " + id + " is no longer a member");
  }

  /** Submits the move of replica {@code id} to the new machine started before the load. */
  private void moveReplica(int id) {
    if (moving == null) {
      startNewMachine(id); // not prepared with the replicas: start it now
    }
    io.pbft.config.Member to = moving.member(id);
    change(moving, "bench: move a backup", "replica " + id + " runs at " + to.address() + " with the group's state");
  }

  /**
   * Submits the change to {@code next} as the extra client, then polls the new epoch's members at
   * the addresses it names until every one runs it ({@code done} says what that means). In a
   * thread of its own, so that the load goes on meanwhile.
   */
  private void change(io.pbft.config.Membership next, String reason, String done) {
    io.pbft.config.Membership epoch0 = io.pbft.config.Membership.initial(config);
    io.pbft.proto.Reconfiguration command = io.pbft.crypto.ReconfigurationSigning.signed(
        io.pbft.config.Reconfigurations.command(epoch0, next, reason), administrator);
    List<io.pbft.testkit.StatusProbe.Target> targets = next.members().stream()
        .map(m -> new io.pbft.testkit.StatusProbe.Target(m.id(), m.host(), m.port())).toList();
    Thread t = new Thread(() -> {
      long start = System.nanoTime();
      int client = attackerClient();
      try (io.pbft.client.PbftClient c = io.pbft.client.PbftClient.newBuilder().config(config).clientId(client)
          .operationTimeout(Duration.ofSeconds(60))
          .clientCertificate(config.tls().enabled() && config.tlsFilesPresent(config.tls().clientFiles(client)))
          .build()) {
        String verdict = c.submitReconfiguration(command).get(90, java.util.concurrent.TimeUnit.SECONDS);
        report("verdict after %d ms: %s", (System.nanoTime() - start) / 1_000_000, verdict);
        if (!verdict.startsWith(io.pbft.replica.execution.Epochs.ACCEPTED)) {
          return;
        }
        try (ClusterStatus status = ClusterStatus.open(targets, io.pbft.client.ClientTls.adminContext(config))) {
          ClusterStatus.Snapshot s = status.await(snap -> snap.allReachable()
                  && snap.replicas().stream().allMatch(r -> r.status().getEpoch() >= 1),
              Duration.ofSeconds(120), Duration.ofSeconds(1), () -> { });
          if (s.allReachable() && s.replicas().stream().allMatch(r -> r.status().getEpoch() >= 1)) {
            changeTookMs = (System.nanoTime() - start) / 1_000_000;
            report("every replica runs epoch 1 (%s), %d ms after submitting", done, changeTookMs);
          } else {
            report("epoch 1 not reported by every replica within 120 s of submitting");
          }
        }
      } catch (Exception e) {
        report("the change failed: %s", e);
      }
    }, "bench-change");
    t.setDaemon(true);
    t.start();
  }

  /** The file whose creation arms a traitor fault's behaviour or a Byzantine client. */
  /**
   * The outsider's arguments for this fault, armed by the trigger file; with TLS on it speaks TLS
   * too (no certificate), or it would not get past the handshake.
   */
  private List<String> outsiderArgs() {
    String ports = config.replicas().stream().map(r -> Integer.toString(r.port())).collect(Collectors.joining(","));
    List<String> all = new ArrayList<>(fault == Fault.SESSION_EXHAUSTION
        ? List.of("streams", "127.0.0.1", ports, Integer.toString(OUTSIDER_STREAMS), "100")
        : List.of("garbage", "127.0.0.1", ports, Integer.toString(OUTSIDER_GARBAGE_CONNECTIONS)));
    all.add(Outsider.ARMED_BY);
    all.add(trigger().toString());
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
   * Starts what the fault needs ahead of time: a Byzantine client's or an outsider's process, which
   * then waits for the trigger file. Started when the fault is due, its JVM took 5 s and more on a
   * loaded machine to send anything, so a short run often never saw the attack (or, worse, saw it
   * only in its last seconds). Call once the replicas are up
   * (and, for the replayer, once the capture file exists).
   */
  public void prepare() {
    if (attacker != null || moving != null) {
      return;
    }
    if (fault == Fault.MOVE_BACKUP) {
      startNewMachine(MOVED_REPLICA);
      return;
    }
    if (fault == Fault.ADD_REPLICA) {
      startAddedMachine();
      return;
    }
    if (fault.outsider() != null) {
attacker = cluster.start("outsider", Outsider.class.getName(), outsiderArgs());
      return;
    }
    if (fault.client() == null) {
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
    return fault.outsider() != null ? "outsider" : fault.client().option() + "-client";
  }

  private Path attackerLog() {
    return cluster.dir().resolve(attackerName() + ".log");
  }

  /**
   * What the fault's attacker had sent by its last report (it reports every second): requests of a
   * Byzantine client, streams the session-exhausting outsider opened (all replicas together), or
   * garbage bytes of the garbage-flooding one; -1 for faults without an attacker or if it reported
   * nothing. That the attack happened at all, and in time.
   */
  public long attackerSent() {
    if (fault.attackerSentKey() == null || !Files.exists(attackerLog())) {
      return -1;
    }
    try {
      String log = Files.readString(attackerLog());
      long sent = -1;
      if (fault.client() != null) {
        Matcher m = SENT.matcher(log);
        while (m.find()) {
          sent = Long.parseLong(m.group(1));
        }
        return sent;
      }
      Matcher m = (fault == Fault.SESSION_EXHAUSTION ? OPENED : GARBAGE_SENT).matcher(log);
      while (m.find()) {
        sent = 0;
        for (String n : m.group(1).split(",")) {
          sent += Long.parseLong(n.trim());
        }
      }
      return sent;
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  private static final Pattern SENT = Pattern.compile(": (\\d+) requests sent");
  private static final Pattern OPENED = Pattern.compile("opened: \\[([\\d, ]+)\\]");
  private static final Pattern GARBAGE_SENT = Pattern.compile("garbage bytes sent: \\[([\\d, ]+)\\]");

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
        case ROTATE_PRIMARY_KEY -> {
          replica = primary;
          report("submitting the rotation of replica %d's key (the primary of view %d)", primary, view);
          rotateKey(primary);
        }
        case MOVE_BACKUP -> {
          replica = MOVED_REPLICA;
          report("moving replica %d (%s in view %d) to its new machine", replica,
              replica == primary ? "the primary" : "a backup", view);
          moveReplica(replica);
        }
        case ADD_REPLICA -> {
          replica = -1;
          report("adding replica %d (view %d)", config.n(), view);
          addReplica();
        }
        case REMOVE_BACKUP -> {
          replica = MOVED_REPLICA;
          report("removing replica %d (%s in view %d)", replica, replica == primary ? "the primary" : "a backup", view);
          removeReplica(replica);
        }
        case SESSION_EXHAUSTION, GARBAGE_FLOOD -> {
          if (attacker == null) {
            prepare(); // not started with the replicas: start it now, armed at once
          }
          Files.createFile(trigger());
          replica = -1;
          report(fault == Fault.SESSION_EXHAUSTION
              ? "armed the outsider: it opens %,d handshake-less client streams per replica and holds them (see outsider.log)"
              : "armed the outsider: it sends garbage on %d connections per replica (see outsider.log)",
              fault == Fault.SESSION_EXHAUSTION ? OUTSIDER_STREAMS : OUTSIDER_GARBAGE_CONNECTIONS);
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

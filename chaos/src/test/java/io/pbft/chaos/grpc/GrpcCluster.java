package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pbft.client.ClusterChannels;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.ReplicaInfo;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.app.kv.KvStateMachine;
import io.pbft.replica.runtime.ReplicaServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Real {@link ReplicaServer}s running the key-value store on free 127.0.0.1 ports inside the test
 * JVM, and clients multiplexed over one shared {@link ClusterChannels}. Replicas can be stopped
 * (a crash, as far as the others can tell) and restarted with an empty state. {@link #close}
 * stops everything it started, so a test that fails half way leaves no replica behind.
 */
final class GrpcCluster implements AutoCloseable {
  /** How long the helpers wait for the cluster to reach a state before failing the test. */
  static final Duration SETTLE = Duration.ofSeconds(60);

  private final ClusterConfig config;
  private final ReplicaServer[] replicas;
  private final List<AutoCloseable> clients = new ArrayList<>();
  private ClusterChannels channels;

  private GrpcCluster(ClusterConfig config) {
    this.config = config;
    this.replicas = new ReplicaServer[config.n()];
  }

  /**
   * Generates keys for {@code n} replicas and {@code clientCount} clients under {@code dir}, lets
   * {@code tune} adjust the configuration (protocol and transport settings), and starts every
   * replica.
   */
  static GrpcCluster start(Path dir, int n, int clientCount, UnaryOperator<ClusterConfig> tune) throws IOException {
    ClusterConfig generated = ClusterSetup.generate(dir, n, clientCount, "127.0.0.1", freePort(), -1,
        new SecureRandom());
    // Every replica gets a port of its own choosing: consecutive ports may be taken on a shared machine.
    List<ReplicaInfo> withPorts = new ArrayList<>();
    for (ReplicaInfo r : generated.replicas()) {
      withPorts.add(new ReplicaInfo(r.id(), r.host(), freePort(), r.publicKey(), r.keyFile()));
    }
    ClusterConfig config = tune.apply(new ClusterConfig(withPorts, generated.clients(), generated.f(),
        generated.protocol(), generated.transport(), generated.baseDir()));
    GrpcCluster cluster = new GrpcCluster(config);
    try {
      for (int i = 0; i < n; i++) {
        cluster.replicas[i] = ReplicaServer.start(config, i, new KvStateMachine());
      }
    } catch (IOException | RuntimeException e) {
      cluster.close();
      throw e;
    }
    return cluster;
  }

  static GrpcCluster start(Path dir, int n, int clientCount) throws IOException {
    return start(dir, n, clientCount, UnaryOperator.identity());
  }

  ClusterConfig config() {
    return config;
  }

  int n() {
    return config.n();
  }

  ReplicaServer replica(int id) {
    return replicas[id];
  }

  /** The shared channels every client of this cluster uses (opened on first use). */
  synchronized ClusterChannels channels() {
    if (channels == null) {
      channels = ClusterChannels.open(config);
    }
    return channels;
  }

  /** A key-value client for identity {@code clientId}; closed by {@link #close}. */
  KvClient kv(int clientId, Duration operationTimeout) {
    PbftClient client = PbftClient.newBuilder().config(config).clientId(clientId).channels(channels())
        .operationTimeout(operationTimeout).build();
    KvClient kv = KvClient.owning(client);
    synchronized (this) {
      clients.add(kv);
    }
    return kv;
  }

  KvClient kv(int clientId) {
    return kv(clientId, Duration.ofSeconds(60));
  }

  /** Stops replica {@code id} the way a crash looks to the others: its streams and port go away. */
  void stop(int id) {
    ReplicaServer r = replicas[id];
    replicas[id] = null;
    if (r != null) {
      r.close();
    }
  }

  /**
   * Starts replica {@code id} again, same key and port, with an empty store: it has lost its
   * state and must fetch it from the others.
   */
  ReplicaServer restartEmpty(int id) throws IOException, InterruptedException {
    return restartWith(id, () -> ReplicaServer.start(config, id, new KvStateMachine()));
  }

  /** Starts replica {@code id} (stopped) as {@code starter} makes it, e.g. with a data directory. */
  interface Starter {
    ReplicaServer start() throws IOException;
  }

  ReplicaServer restartWith(int id, Starter starter) throws IOException, InterruptedException {
    if (replicas[id] != null) {
      throw new IllegalStateException("replica " + id + " is running");
    }
    // The port was just released; connections from the old incarnation may still hold it for a
    // moment, so retry the bind briefly rather than fail.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        replicas[id] = starter.start();
        return replicas[id];
      } catch (IOException e) {
        if (System.nanoTime() - deadline > 0) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }

  /** The status of a running replica, as its Status RPC would report it. */
  StatusResponse status(int id) {
    ReplicaServer r = replicas[id];
    if (r == null) {
      throw new IllegalStateException("replica " + id + " is stopped");
    }
    try {
      return r.status().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("status of replica " + id + ": " + e, e);
    }
  }

  List<StatusResponse> statuses(Collection<Integer> ids) {
    List<StatusResponse> all = new ArrayList<>();
    for (int id : ids) {
      all.add(status(id));
    }
    return all;
  }

  List<Integer> running() {
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < replicas.length; i++) {
      if (replicas[i] != null) {
        ids.add(i);
      }
    }
    return ids;
  }

  /**
   * Waits until the running replicas have executed the same sequence number and hold the same
   * state digest, then asserts it (so a timeout fails with the differing values).
   */
  List<StatusResponse> assertRunningReplicasAgree() {
    List<Integer> ids = running();
    List<StatusResponse> all = waitFor(() -> statuses(ids), GrpcCluster::agree, SETTLE);
    for (StatusResponse s : all) {
      assertEquals(all.get(0).getLastExecuted(), s.getLastExecuted(),
          () -> "last executed of replica " + s.getReplicaId() + "; " + describe(all));
      assertArrayEquals(all.get(0).getStateDigest().toByteArray(), s.getStateDigest().toByteArray(),
          () -> "state digest of replica " + s.getReplicaId() + "; " + describe(all));
    }
    return all;
  }

  /**
   * Runs single puts through {@code kv} until the running replicas agree; returns how many it
   * took (none when they agree within moments). A replica that lagged behind under load drops
   * messages above its window; heartbeats let it catch up once the load stops, and each further
   * operation brings the next checkpoint closer, so this ends the wait for it either way.
   */
  int settle(KvClient kv) {
    int limit = 3 * config.protocol().checkpointInterval();
    for (int i = 0; i < limit; i++) {
      // First give heartbeats (one per view-change timeout) time to bring a laggard along.
      Duration wait = i == 0 ? Duration.ofMillis(3L * config.protocol().viewChangeTimeoutMs() + 500)
          : Duration.ofMillis(500);
      List<StatusResponse> now = waitFor(() -> statuses(running()), GrpcCluster::agree, wait);
      if (agree(now)) {
        return i;
      }
      kv.put("settle/" + i, Integer.toString(i));
    }
    return limit;
  }

  /** Views, positions and non-zero counters of each replica, for failure messages. */
  static String describe(List<StatusResponse> all) {
    StringBuilder b = new StringBuilder();
    for (StatusResponse s : all) {
      b.append("\n  replica ").append(s.getReplicaId()).append(": view ").append(s.getView())
          .append(", last executed ").append(s.getLastExecuted()).append(", low watermark ").append(s.getLowWatermark());
      b.append(s.getViewChanging() ? " (changing)" : "").append(", view changes started ")
          .append(s.getViewChangesStarted()).append(", state transfers ").append(s.getStateTransfers())
          .append(", executed requests ").append(s.getExecutedRequests());
      if (!s.getRejectedMap().isEmpty()) {
        b.append(", rejected ").append(new TreeMap<>(s.getRejectedMap()));
      }
      if (!s.getDropped().getByReasonMap().isEmpty()) {
        b.append(", dropped ").append(new TreeMap<>(s.getDropped().getByReasonMap()));
      }
    }
    return b.toString();
  }

  static boolean agree(List<StatusResponse> all) {
    StatusResponse first = all.get(0);
    return all.stream().allMatch(s -> s.getLastExecuted() == first.getLastExecuted()
        && s.getStateDigest().equals(first.getStateDigest()));
  }

  /** Polls {@code probe} until {@code done} holds or {@code limit} passes; returns the last value. */
  static <T> T waitFor(Supplier<T> probe, Predicate<T> done, Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    T value = probe.get();
    while (!done.test(value) && System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
      value = probe.get();
    }
    return value;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Clients first (they fail what is outstanding), then channels, then every running replica. */
  @Override
  public void close() {
    List<AutoCloseable> open;
    synchronized (this) {
      open = new ArrayList<>(clients);
      clients.clear();
    }
    for (AutoCloseable c : open) {
      try {
        c.close();
      } catch (Exception ignored) {
        // closing the rest matters more
      }
    }
    synchronized (this) {
      if (channels != null) {
        channels.close();
        channels = null;
      }
    }
    for (int i = 0; i < replicas.length; i++) {
      stop(i);
    }
  }
}

package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pbft.client.ClusterChannels;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.app.kv.KvStateMachine;
import io.pbft.replica.app.kv.RocksKvStateMachine;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.runtime.ReplicaServer;
import io.pbft.testkit.Cluster;
import io.pbft.testkit.ClusterConfigs;
import io.pbft.testkit.KvStore;
import io.pbft.testkit.Polling;
import io.pbft.testkit.Ports;
import io.pbft.testkit.ProxyNetwork;
import io.pbft.testkit.Statuses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * Real {@link ReplicaServer}s running the key-value store on free 127.0.0.1 ports inside the test
 * JVM, and clients multiplexed over one shared {@link ClusterChannels}. {@link #close} stops
 * everything it started, so a test that fails half way leaves no replica behind.
 *
 * <p>As a {@link Cluster}: with {@link Builder#durable} every replica keeps its state in a data
 * directory under the cluster's folder (a write-ahead log and RocksDB), so that {@link #restart}
 * brings it back with its state; with {@link Builder#faultyNetwork} replicas and clients reach
 * each other through a {@link ProxyNetwork}, which {@link #isolate} and {@link #pause} use (a
 * replica in this JVM cannot be frozen, so pausing holds every connection to and from it).
 * {@link #kill} and {@link #stop} both close the replica: the nearest an in-JVM replica has to a
 * crash is that its peer streams close at once and nothing more leaves it.
 */
final class GrpcCluster implements Cluster {
  /** How long the helpers wait for the cluster to reach a state before failing the test. */
  static final Duration SETTLE = Duration.ofSeconds(60);

  /** How a cluster is made; {@link #build} makes it unstarted, {@link #start} started. */
  static final class Builder {
    private final Path dir;
    private int replicas = 4;
    private int clients = 8;
    private UnaryOperator<ClusterConfig> tune = UnaryOperator.identity();
    private boolean durable;
    private boolean faultyNetwork;

    private Builder(Path dir) {
      this.dir = dir;
    }

    Builder replicas(int n) {
      replicas = n;
      return this;
    }

    Builder clients(int count) {
      clients = count;
      return this;
    }

    /** Adjusts the configuration (protocol and transport settings). */
    Builder tune(UnaryOperator<ClusterConfig> t) {
      tune = t;
      return this;
    }

    /** Every replica keeps its state in DIR/data/replica-I (RocksDB and a write-ahead log). */
    Builder durable() {
      durable = true;
      return this;
    }

    /** Every connection goes through a proxy, so that replicas can be isolated and paused. */
    Builder faultyNetwork() {
      faultyNetwork = true;
      return this;
    }

    GrpcCluster build() {
      return new GrpcCluster(this);
    }

    GrpcCluster start() throws IOException {
      GrpcCluster c = build();
      try {
        c.startReplicas();
      } catch (IOException | RuntimeException e) {
        c.close();
        throw e;
      }
      return c;
    }
  }

  private final Builder options;
  private ClusterConfig config;
  private ClusterConfig clientConfig;
  private ProxyNetwork proxies;
  private ReplicaServer[] replicas;
  private final List<AutoCloseable> clients = new ArrayList<>();
  private final Map<Integer, KvStore> stores = new TreeMap<>();
  private ClusterChannels channels;

  private GrpcCluster(Builder options) {
    this.options = options;
  }

  static Builder builder(Path dir) {
    return new Builder(dir);
  }

  /**
   * Generates keys for {@code n} replicas and {@code clientCount} clients under {@code dir}, lets
   * {@code tune} adjust the configuration (protocol and transport settings), and starts every
   * replica (in memory, without proxies).
   */
  static GrpcCluster start(Path dir, int n, int clientCount, UnaryOperator<ClusterConfig> tune) throws IOException {
    return builder(dir).replicas(n).clients(clientCount).tune(tune).start();
  }

  static GrpcCluster start(Path dir, int n, int clientCount) throws IOException {
    return start(dir, n, clientCount, UnaryOperator.identity());
  }

  private void startReplicas() throws IOException {
    int n = options.replicas;
    // Plaintext: the hygiene tests here reach the replicas as plaintext outsiders (TLS is covered by the
    // replica module's TlsTransportTest and the process clusters, whose generated configurations have it on).
    ClusterConfig generated = ClusterSetup.generateWithoutTls(options.dir, n, options.clients, "127.0.0.1", Ports.free(), -1,
        new SecureRandom());
    // Every replica gets a port of its own: consecutive ports may be taken on a shared machine.
    int[] ports = Ports.free(n);
    config = options.tune.apply(ClusterConfigs.onLoopback(generated, ports));
    if (options.faultyNetwork) {
      proxies = ProxyNetwork.start(ports);
      clientConfig = proxies.clientView(config);
    } else {
      clientConfig = config;
    }
    replicas = new ReplicaServer[n];
    for (int i = 0; i < n; i++) {
      replicas[i] = launch(i);
    }
  }

  /** The configuration replica {@code id} runs with: behind proxies, its peers at their proxies. */
  private ClusterConfig view(int id) {
    return proxies == null ? config : proxies.replicaView(config, id);
  }

  private ReplicaServer launch(int id) throws IOException {
    ClusterConfig view = view(id);
    if (options.durable) {
      return ReplicaServer.startDurable(view, id, view.replicaKeys(id), Behaviour.HONEST, null, dataDir(id),
          RocksKvStateMachine::open);
    }
    return ReplicaServer.start(view, id, new KvStateMachine());
  }

  /** Where a durable replica keeps its state. */
  Path dataDir(int id) {
    return options.dir.resolve("data").resolve("replica-" + id);
  }

  /** The configuration with every replica at its real address (replicas behind proxies see their own views). */
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
      channels = ClusterChannels.open(clientConfig);
    }
    return channels;
  }

  /** A key-value client for identity {@code clientId}; closed by {@link #close}. */
  KvClient kvClient(int clientId, Duration operationTimeout) {
    PbftClient client = PbftClient.newBuilder().config(clientConfig).clientId(clientId).channels(channels())
        .operationTimeout(operationTimeout).build();
    KvClient kv = KvClient.owning(client);
    synchronized (this) {
      clients.add(kv);
    }
    return kv;
  }

  KvClient kvClient(int clientId) {
    return kvClient(clientId, Duration.ofSeconds(60));
  }

  /**
   * Starts replica {@code id} again, same key and port, with an empty store: it has lost its
   * state and must fetch it from the others.
   */
  ReplicaServer restartEmpty(int id) throws IOException, InterruptedException {
    return restartWith(id, () -> ReplicaServer.start(view(id), id, new KvStateMachine()));
  }

  /**
   * Starts the machine replica {@code id} was moved to (in memory, with key {@code keys}), joining
   * the epoch {@code joining} names; the process it replaces stays running (it stops by itself once
   * it sees the move) and is closed with the cluster. Returns the process replaced.
   */
  ReplicaServer moveTo(int id, io.pbft.crypto.Ed25519Keys keys, ReplicaServer.Joining joining) throws IOException {
    if (proxies != null) {
      throw new IllegalStateException("moves are not supported behind proxies");
    }
    ReplicaServer old = replicas[id];
    replicas[id] = ReplicaServer.start(config, id, keys, new KvStateMachine(), Behaviour.HONEST, null, joining);
    if (old != null) {
      replaced.add(old);
    }
    return old;
  }

  /**
   * Starts replica {@code id}, which cluster.yaml does not list, as a member being added to the
   * group (in memory, with key {@code keys}), joining the epoch {@code joining} names; it listens
   * where that epoch puts it.
   */
  ReplicaServer add(int id, io.pbft.crypto.Ed25519Keys keys, ReplicaServer.Joining joining) throws IOException {
    if (proxies != null) {
      throw new IllegalStateException("additions are not supported behind proxies");
    }
    if (id >= replicas.length) {
      replicas = java.util.Arrays.copyOf(replicas, id + 1);
    }
    if (replicas[id] != null) {
      throw new IllegalStateException("replica " + id + " is running");
    }
    replicas[id] = ReplicaServer.start(config, id, keys, new KvStateMachine(), Behaviour.HONEST, null, joining);
    return replicas[id];
  }

  /**
   * Replica {@code id} no longer counts as running here (it was removed from the group and stops
   * by itself); it is closed with the cluster.
   */
  ReplicaServer retire(int id) {
    ReplicaServer r = replicas[id];
    replicas[id] = null;
    if (r != null) {
      replaced.add(r);
    }
    return r;
  }

  /** Processes replaced by {@link #moveTo}: closed with the cluster. */
  private final List<ReplicaServer> replaced = new ArrayList<>();

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
    List<StatusResponse> all = Polling.until(() -> statuses(ids), Statuses::agree, SETTLE);
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
      List<StatusResponse> now = Polling.until(() -> statuses(running()), Statuses::agree, wait);
      if (Statuses.agree(now)) {
        return i;
      }
      kv.put("settle/" + i, Integer.toString(i));
    }
    return limit;
  }

  /** Views, positions and non-zero counters of each replica, for failure messages. */
  static String describe(List<StatusResponse> all) {
    return Statuses.describe(all.stream().map(StatusResponse::getReplicaId).toList(), all);
  }

  // ---------------------------------------------------------------- Cluster

  @Override
  public GrpcCluster start() {
    if (replicas == null) {
      try {
        startReplicas();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start the cluster", e);
      }
    }
    return this;
  }

  @Override
  public int size() {
    return options.replicas;
  }

  /** Closes replica {@code id}: its streams and port go away, its data directory stays. */
  @Override
  public void stop(int id) {
    ReplicaServer r = replicas[id];
    replicas[id] = null;
    if (r != null) {
      r.close();
    }
  }

  /** As {@link #stop}: see the class comment. */
  @Override
  public void kill(int id) {
    stop(id);
  }

  @Override
  public void pause(int id) {
    network().pause(id);
  }

  @Override
  public void resume(int id) {
    network().resume(id);
  }

  @Override
  public void isolate(int id) {
    network().isolate(id);
  }

  @Override
  public void heal() {
    network().heal();
  }

  @Override
  public void restart(int id) {
    if (!options.durable) {
      throw new IllegalStateException("replicas keep no durable state to restart from: build the cluster durable()");
    }
    stop(id);
    try {
      restartWith(id, () -> launch(id));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot restart replica " + id, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** With durable replicas: their state lives in data directories, which a replacement starts without. */
  @Override
  public boolean replacesMachines() {
    return options.durable;
  }

  /** Stops replica {@code id}'s server, deletes its data directory, and starts a new server on an empty one. */
  @Override
  public void replaceWithEmptyState(int id) {
    if (!options.durable) {
      throw new UnsupportedOperationException("replicas keep their state in memory only: build the cluster durable()");
    }
    stop(id);
    io.pbft.testkit.Directories.deleteRecursively(dataDir(id));
    restart(id);
  }

  @Override
  public synchronized KvStore kv(int clientId) {
    return stores.computeIfAbsent(clientId, c -> KvStore.of(kvClient(c)));
  }

  /** The status of a running replica, as its Status RPC would report it (even while it is paused or isolated). */
  @Override
  public StatusResponse status(int id) {
    ReplicaServer r = replicas[id];
    if (r == null) {
      throw new IllegalStateException("replica " + id + " is stopped");
    }
    try {
      return r.status().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("status of replica " + id + ": " + e, e);
    }
  }

  @Override
  public void await(String what, BooleanSupplier condition, Duration timeout) {
    Polling.await(what, condition, timeout);
  }

  private ProxyNetwork network() {
    if (proxies == null) {
      throw new IllegalStateException("no proxies between the replicas: build the cluster with faultyNetwork()");
    }
    return proxies;
  }

  /** Clients first (they fail what is outstanding), then channels, then every running replica. */
  @Override
  public void close() {
    List<AutoCloseable> open;
    synchronized (this) {
      open = new ArrayList<>(clients);
      clients.clear();
      stores.clear();
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
    if (proxies != null) {
      for (int i = 0; i < options.replicas; i++) {
        proxies.resume(i); // nothing stays held while the replicas shut down
      }
    }
    if (replicas != null) {
      for (int i = 0; i < replicas.length; i++) {
        stop(i);
      }
    }
    replaced.forEach(ReplicaServer::close);
    if (proxies != null) {
      proxies.close();
    }
  }
}

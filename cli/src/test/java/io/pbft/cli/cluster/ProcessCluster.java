package io.pbft.cli.cluster;

import io.pbft.client.ClusterChannels;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.cli.netns.LinkConditions;
import io.pbft.cli.netns.NetnsNetwork;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.MetricsAddress;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Cluster;
import io.pbft.testkit.ClusterConfigs;
import io.pbft.testkit.Directories;
import io.pbft.testkit.KvStore;
import io.pbft.testkit.Polling;
import io.pbft.testkit.Ports;
import io.pbft.testkit.ProxyNetwork;
import io.pbft.testkit.StatusProbe;
import io.pbft.testkit.Statuses;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

/**
 * Four durable replica processes ({@code pbft replica --data-dir}) on 127.0.0.1, started through
 * {@link LocalCluster} so that every process is stopped and the folder (keys, configurations, logs,
 * data) deleted on {@link #close}, whatever happened. The processes run this JVM's classpath.
 *
 * <p>As a {@link Cluster}: {@link #stop} is SIGTERM, {@link #kill} SIGKILL, {@link #pause} and
 * {@link #resume} SIGSTOP and SIGCONT, and {@link #restart} starts a new process on the same data
 * directory. {@link #isolate} needs {@link #withFaultyNetwork}: every replica then runs with a
 * configuration file of its own in which its peers are reached through a {@link ProxyNetwork}, as
 * clients reach the replicas; status probes dial the replicas directly. With {@link
 * #inNamespaces} every replica instead runs in a network namespace of its own at its own address
 * ({@link NetnsNetwork}, root needed; {@code io.pbft.cli.netns.NetnsCluster} is that cluster):
 * {@link #isolate} then drops its packets in the kernel, and links can be slow or lossy.
 */
public final class ProcessCluster implements Cluster {
  /** Checkpoints every 16 batches, a window of 64, a backup suspects the primary after 500 ms. */
  public static final UnaryOperator<ProtocolSettings> SMALL =
      p -> p.withCheckpointInterval(16).withWindowSize(64).withViewChangeTimeoutMs(500);
  private static final int N = 4;
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);
  /** How long replica processes may take to answer after a start (JVM, RocksDB, recovery) on a loaded machine. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  private static final int NAMESPACE_PORT = 7000;

  private final String purpose;
  private final int clients;
  private final UnaryOperator<ProtocolSettings> protocol;
  private boolean faultyNetwork;
  private boolean metrics;
  /** Null: every replica on 127.0.0.1. */
  private LinkConditions namespaces;
  private NetnsNetwork netns;
  private Duration operationTimeout = Duration.ofSeconds(30);
  /** The administration section written into cluster.yaml (none by default). */
  private io.pbft.config.Administration administration = io.pbft.config.Administration.NONE;

  private LocalCluster local;
  private ClusterConfig config;
  private ClusterConfig clientConfig;
  private ProxyNetwork proxies;
  private StatusProbe probe;
  private ClusterChannels channels;
  private final Map<Integer, KvStore> stores = new TreeMap<>();
  private final List<KvClient> handedOut = new ArrayList<>();

  private ProcessCluster(String purpose, int clients, UnaryOperator<ProtocolSettings> protocol) {
    this.purpose = purpose;
    this.clients = clients;
    this.protocol = protocol;
  }

  /** An unstarted cluster of four replicas and {@code clients} client identities, {@code protocol} applied to the defaults. */
  public static ProcessCluster create(String purpose, int clients, UnaryOperator<ProtocolSettings> protocol) {
    return new ProcessCluster(purpose, clients, protocol);
  }

  /** {@link #create} and {@link #start}: returns once every replica answers the status RPC. */
  public static ProcessCluster start(String purpose, int clients, UnaryOperator<ProtocolSettings> protocol) {
    return create(purpose, clients, protocol).start();
  }

  /** The group may be changed by {@code a}'s keys (cluster.yaml's administration section). */
  public ProcessCluster withAdministration(io.pbft.config.Administration a) {
    administration = a;
    return this;
  }

  /** Replicas and clients reach each other through proxies, so that replicas can be isolated. */
  public ProcessCluster withFaultyNetwork() {
    faultyNetwork = true;
    return this;
  }

  /**
   * Every replica serves Prometheus metrics: on a free 127.0.0.1 port, or in namespaces at its own
   * address ({@link #metricsAddress}).
   */
  public ProcessCluster withMetrics() {
    metrics = true;
    return this;
  }

  /** Where replica {@code id} serves its metrics (after {@link #start}, with {@link #withMetrics}). */
  public MetricsAddress metricsAddress(int id) {
    MetricsAddress m = config.replica(id).metrics();
    if (m == null) {
      throw new IllegalStateException("no metrics endpoints: create the cluster withMetrics()");
    }
    return m;
  }

  /**
   * Every replica in a network namespace of its own, at its own address, behind links with {@code
   * conditions}; clients and probes reach them from this JVM's namespace through the same links.
   */
  public ProcessCluster inNamespaces(LinkConditions conditions) {
    namespaces = conditions;
    return this;
  }

  /** The namespaces' network (after {@link #start}; null without {@link #inNamespaces}). */
  public NetnsNetwork netns() {
    return netns;
  }

  /** The operation timeout of the clients {@link #kv} hands out (default 30 s). */
  public ProcessCluster withOperationTimeout(Duration timeout) {
    operationTimeout = timeout;
    return this;
  }

  @Override
  public ProcessCluster start() {
    if (local != null) {
      return this;
    }
    local = LocalCluster.create(purpose, new PrintWriter(System.err, true));
    try {
      ClusterConfig generated = ClusterSetup.generate(local.dir(), N, clients, "127.0.0.1", Ports.free(), -1,
          new SecureRandom());
      int[] ports = null;
      if (namespaces != null) {
        // each replica has an address of its own, so they can all listen on one port
        netns = NetnsNetwork.create(N, namespaces);
        local.replicaPrefix(netns::enter);
        config = ClusterConfigs.withAddresses(generated, netns::host, i -> NAMESPACE_PORT);
      } else {
        ports = Ports.free(N);
        config = ClusterConfigs.onLoopback(generated, ports);
      }
      config = config.withProtocol(protocol.apply(generated.protocol())).withAdministration(administration);
      if (metrics) {
        int[] taken = ports == null ? new int[0] : ports;
        int[] metricsPorts;
        do {
          metricsPorts = Ports.free(N); // the replicas' ports are free too until they start: not those
        } while (IntStream.of(metricsPorts).anyMatch(p -> IntStream.of(taken).anyMatch(q -> q == p)));
        int[] chosen = metricsPorts;
        ClusterConfig placed = config;
        config = config.withMetrics(i -> new MetricsAddress(netns != null ? placed.replica(i).host() : "127.0.0.1",
            chosen[i]));
      }
      // in namespaces the replicas have addresses of their own, which their certificates must name;
      // rewritten through the local cluster, whose status checks then present the operator's certificate
      config = local.rewrite(netns != null ? local.reissueTls(config) : config);
      clientConfig = config;
      if (faultyNetwork && netns == null) {
        proxies = ProxyNetwork.start(ports);
        for (int i = 0; i < N; i++) {
          proxies.replicaView(config, i).write(configFile(i));
        }
        clientConfig = proxies.clientView(config);
        clientConfig.write(local.dir().resolve("clients.yaml"));
      }
      probe = StatusProbe.open(config);
      for (int i = 0; i < N; i++) {
        local.startReplica(configFile(i), i, dataDir(i));
      }
      awaitUp(IntStream.range(0, N).toArray());
      return this;
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  /**
   * Starts the machine replica {@code id} moves to: a new process, {@code pbft replica --config
   * configFile --join} on an empty data directory of its own, which waits until the group's epoch
   * names it and then
   * listens at {@code host:port}. From now on {@link #status} and {@link #awaitUp} ask replica
   * {@code id} there. The process it replaces stops by itself once the move takes effect.
   */
  public void launchMoved(int id, String host, int port, Path configFile) {
    if (proxies != null || netns != null) {
      throw new IllegalStateException("moves are run on plain loopback clusters only");
    }
    Path data = local.dir().resolve("data-moved-" + id);
    local.startReplica(configFile, id, data, List.of("--join"));
    moved.put(id, new StatusProbe.Target(id, host, port));
    reopenProbe();
  }

  /**
   * Starts replica {@code id}, which cluster.yaml does not list, as a member being added to the
   * group: {@code pbft replica --config cluster.yaml --id ID --join} on an empty data directory of
   * its own, with the key {@code pbft keygen --add-to} wrote; it waits until the group's epoch names
   * it, then listens at {@code host:port}. From now on {@link #statuses} include it.
   */
  public void launchAdded(int id, String host, int port) {
    if (id < N) {
      throw new IllegalArgumentException("replica " + id + " is in cluster.yaml");
    }
    launchMoved(id, host, port, local.dir().resolve("cluster.yaml"));
  }

  /**
   * Replica {@code id} was removed from the group: its process stops by itself (not a failure),
   * and {@link #statuses} leave it out from now on.
   */
  public void removed(int id) {
    local.expectExit(id);
    gone.add(id);
    reopenProbe();
  }

  private void reopenProbe() {
    StatusProbe before = probe;
    probe = StatusProbe.open(targets(), io.pbft.client.ClientTls.adminContext(config));
    before.close();
  }

  /** Replicas started elsewhere by {@link #launchMoved} or added by {@link #launchAdded}, by id. */
  private final java.util.Map<Integer, StatusProbe.Target> moved = new java.util.TreeMap<>();
  /** Replicas removed from the group ({@link #removed}). */
  private final java.util.Set<Integer> gone = new java.util.TreeSet<>();

  /**
   * Where each replica is asked for its status, in id order: its configured address, or where it
   * moved; replicas added since included, removed ones left out.
   */
  private List<StatusProbe.Target> targets() {
    java.util.TreeMap<Integer, StatusProbe.Target> all = new java.util.TreeMap<>();
    for (int i = 0; i < N; i++) {
      all.put(i, new StatusProbe.Target(i, config.replica(i).host(), config.replica(i).port()));
    }
    all.putAll(moved);
    gone.forEach(all::remove);
    return new ArrayList<>(all.values());
  }

  /** The configuration replica {@code id} runs with. */
  private Path configFile(int id) {
    return proxies == null ? local.dir().resolve("cluster.yaml") : local.dir().resolve("replica-" + id + ".yaml");
  }

  /** The configuration with every replica at its real address. */
  public ClusterConfig config() {
    return config;
  }

  /** The configuration clients use (through the proxies, with {@link #withFaultyNetwork}). */
  public ClusterConfig clientConfig() {
    return clientConfig;
  }

  public Path dataDir(int id) {
    return local.dataDir(id);
  }

  /** The output of replica {@code id}'s latest process. */
  public String log(int id) {
    try {
      return Files.readString(local.log(id), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Throws if a replica process exited by itself (not by stop or kill), quoting the end of its log. */
  public void checkAlive() {
    local.checkAlive();
  }

  /** Waits until each of {@code ids} answers the status RPC (fails if any process died by itself). */
  public void awaitUp(int... ids) {
    List<StatusProbe.Target> targets = new ArrayList<>();
    for (int id : ids) {
      targets.add(targets().stream().filter(t -> t.id() == id).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("replica " + id + " was removed")));
    }
    try {
      local.awaitHealthy(targets, START_TIMEOUT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** SIGKILL to every replica at once (no replica outlives another by more than the signals' gap). */
  public void killAll() {
    List<Process> processes = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      processes.add(local.process(i));
    }
    processes.forEach(Process::destroyForcibly);
    for (int i = 0; i < N; i++) {
      kill(i); // marks it killed on purpose; already dead or dying
    }
  }

  /** Every replica's status, null for one that does not answer. */
  public List<StatusResponse> statuses() {
    List<StatusResponse> all = new ArrayList<>();
    for (StatusProbe.Target t : targets()) {
      all.add(tryStatus(t.id()).orElse(null));
    }
    return all;
  }

  /** The ids {@link #statuses} reports on, in its order. */
  public List<Integer> statusIds() {
    return targets().stream().map(StatusProbe.Target::id).toList();
  }

  /** One line per replica (ids 0..3), "unreachable" for a null status. */
  public static String describe(List<StatusResponse> statuses) {
    return Statuses.describe(IntStream.range(0, statuses.size()).boxed().toList(), statuses);
  }

  // ---------------------------------------------------------------- Cluster

  @Override
  public int size() {
    return N;
  }

  @Override
  public void stop(int id) {
    try {
      local.stop(id);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  @Override
  public void kill(int id) {
    try {
      local.kill(id);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  @Override
  public void pause(int id) {
    local.pause(id);
  }

  @Override
  public void resume(int id) {
    local.resume(id);
  }

  @Override
  public void isolate(int id) {
    if (netns != null) {
      netns.isolate(id);
    } else {
      network().isolate(id);
    }
  }

  @Override
  public void heal() {
    if (netns != null) {
      netns.heal();
    } else {
      network().heal();
    }
  }

  @Override
  public void restart(int id) {
    launch(id);
    awaitUp(id);
  }

  @Override
  public boolean replacesMachines() {
    return true;
  }

  /** Kills replica {@code id}'s process, deletes its data directory, and starts a new process on an empty one. */
  @Override
  public void replaceWithEmptyState(int id) {
    if (local.process(id).isAlive()) {
      kill(id);
    }
    Path data = dataDir(id);
    Directories.deleteRecursively(data);
    try {
      Files.createDirectories(data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    restart(id);
  }

  /**
   * Starts a new process for replica {@code id} on its data directory (stopping a running one
   * gracefully first) and returns at once, so that a test can watch the others go on while it
   * starts; {@link #awaitUp} waits for it.
   */
  public void launch(int id) {
    if (local.process(id).isAlive()) {
      stop(id);
    }
    local.startReplica(configFile(id), id, dataDir(id));
  }

  /** Starts a process for every replica in {@code ids} at once, then waits until each answers. */
  @Override
  public void restartAll(Collection<Integer> ids) {
    for (int id : ids) {
      launch(id);
    }
    awaitUp(ids.stream().mapToInt(Integer::intValue).toArray());
  }

  @Override
  public synchronized KvStore kv(int clientId) {
    return stores.computeIfAbsent(clientId, c -> KvStore.of(kvClient(c)));
  }

  /** A key-value client with identity {@code clientId} on channels shared by this cluster's clients; closed with it. */
  public synchronized KvClient kvClient(int clientId) {
    if (channels == null) {
      channels = ClusterChannels.open(clientConfig);
    }
    KvClient kv = KvClient.owning(PbftClient.newBuilder().channels(channels).clientId(clientId)
        .operationTimeout(operationTimeout).build());
    handedOut.add(kv);
    return kv;
  }

  /** Over the Status RPC at the replica's own address (a replica cut off by the proxies still answers). */
  @Override
  public StatusResponse status(int id) {
    return probe.status(id, PROBE_TIMEOUT);
  }

  /** Waits in wall time, failing at once (with the end of its log) if a replica process died by itself. */
  @Override
  public void await(String what, BooleanSupplier condition, Duration timeout) {
    Polling.await(what, () -> {
      local.checkAlive();
      if (netns != null) {
        netns.checkAlive();
      }
      return condition.getAsBoolean();
    }, timeout);
  }

  private ProxyNetwork network() {
    if (proxies == null) {
      throw new IllegalStateException("no proxies between the replicas: create the cluster withFaultyNetwork()");
    }
    return proxies;
  }

  @Override
  public void close() {
    synchronized (this) {
      handedOut.forEach(KvClient::close);
      handedOut.clear();
      stores.clear();
      if (channels != null) {
        channels.close();
        channels = null;
      }
    }
    if (probe != null) {
      probe.close();
    }
    if (local != null) {
      local.close(); // continues paused processes, stops every one, deletes the folder
    }
    if (proxies != null) {
      proxies.close();
    }
    if (netns != null) {
      netns.close(); // after the processes: it kills whatever is left inside, then removes the namespaces
    }
  }
}

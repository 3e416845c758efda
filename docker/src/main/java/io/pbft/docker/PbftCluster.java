package io.pbft.docker;

import io.pbft.client.ClusterChannels;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.TransportSettings;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Cluster;
import io.pbft.testkit.KvStore;
import io.pbft.testkit.Polling;
import io.pbft.testkit.Statuses;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PBFT cluster of replica containers (image {@value #DEFAULT_IMAGE}, built by
 * {@code docker/build-image.sh}) on a network of its own, for tests and experiments:
 *
 * <pre>{@code
 * try (PbftCluster cluster = new PbftCluster(4).withTraitor(3, "equivocating-primary").start();
 *      KvClient kv = cluster.kvClient(0)) {
 *   kv.put("colour", "blue");
 *   cluster.pause(1);
 *   ...
 * }
 * }</pre>
 *
 * <p>{@link #start} writes keys and configurations into a temporary folder ({@link ClusterFiles}:
 * replica i is {@code replicaI:}{@value #REPLICA_PORT} inside, 127.0.0.1 and a port published for
 * it, kept across restarts, on the host) and starts every container ({@link ReplicaContainers}),
 * returning once each replica's gRPC health service answers SERVING. Replicas keep their state in
 * their container's data volume unless {@link #withInMemoryState} is given. It is a {@link
 * Cluster}, with that interface's vocabulary for faults ({@link ContainerFaults}); the names of
 * earlier versions ({@code start(id)}, {@code unpause}, {@code disconnect}, {@code reconnect})
 * remain as deprecated aliases. {@link #close} removes containers, volumes, network and keys, also
 * after a failed start. Drive one cluster from one thread (the clients it hands out are
 * thread-safe).
 */
public final class PbftCluster implements Cluster {
  public static final String DEFAULT_IMAGE = "pbft:local";
  /** The port every replica listens on inside its container. */
  public static final int REPLICA_PORT = 7000;
  /** The non-root user the image runs as: key files copied in are owned by it. */
  public static final int CONTAINER_UID = 10001;
  /** Label on every container this class starts (value: the cluster's id), for clean-up scripts. */
  public static final String LABEL = "io.pbft.docker.cluster";

  private static final Logger log = LoggerFactory.getLogger(PbftCluster.class);

  private final ClusterOptions options;
  private final String clusterId = UUID.randomUUID().toString().substring(0, 8);
  private ClusterFiles files;
  private ReplicaContainers containers;
  private ContainerFaults faults;
  private ContainerStatus statuses;
  private ClusterClients clients;
  private boolean started;
  private boolean closed;

  /** A cluster of {@code n} replicas (f is the most n allows: n = 4 tolerates 1). */
  public PbftCluster(int n) {
    this.options = new ClusterOptions(n);
  }

  // ---------------------------------------------------------------- configuration

  /** Replica {@code id} runs as a traitor: a behaviour name of the chaos catalogue ({@code pbft replica --traitor}). */
  public PbftCluster withTraitor(int id, String behaviour) {
    return configure(o -> o.traitor(id, behaviour));
  }

  /** The image to run (default {@value #DEFAULT_IMAGE}, or the system property {@code pbft.image}). */
  public PbftCluster withImage(String image) {
    return configure(o -> o.image = image);
  }

  /** How many client identities the configuration lists (default 16). */
  public PbftCluster withClients(int count) {
    return configure(o -> o.clients(count));
  }

  /** Adjusts the protocol settings written to the configuration, e.g. {@code p -> p.withCheckpointInterval(16)}. */
  public PbftCluster withProtocol(UnaryOperator<ProtocolSettings> change) {
    return configure(o -> o.protocol = change);
  }

  /** Adjusts the transport settings written to the configuration. */
  public PbftCluster withTransport(UnaryOperator<TransportSettings> change) {
    return configure(o -> o.transport = change);
  }

  /** How long {@link #start} and {@link #restart} wait for replicas to become healthy (default 120 s). */
  public PbftCluster withStartupTimeout(Duration timeout) {
    return configure(o -> o.startupTimeout = timeout);
  }

  /** The operation timeout of the clients {@link #client}, {@link #kvClient} and {@link #kv} build (default 30 s). */
  public PbftCluster withOperationTimeout(Duration timeout) {
    options.operationTimeout = timeout;
    return this;
  }

  /** The replicas' log level (PBFT_LOG_LEVEL; default INFO). */
  public PbftCluster withLogLevel(String level) {
    return configure(o -> o.logLevel = level);
  }

  /** Replicas keep their state in memory (PBFT_DATA_DIR empty) instead of in their data volume. */
  public PbftCluster withInMemoryState() {
    return configure(o -> o.inMemory = true);
  }

  /**
   * Administration keys in the configuration, so that the group can be changed at run time
   * ({@link #startAddedReplica}, {@link #startMovedReplica}, {@link #prepareKeyRotation},
   * docs/RECONFIGURATION.md).
   */
  public PbftCluster withAdministration(io.pbft.config.Administration administration) {
    return configure(o -> o.administration = administration);
  }

  /** Replaces the image's JVM flags (PBFT_JAVA_OPTS). */
  public PbftCluster withJavaOpts(String opts) {
    return configure(o -> o.javaOpts = opts);
  }

  private PbftCluster configure(java.util.function.Consumer<ClusterOptions> change) {
    beforeStart();
    change.accept(options);
    return this;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Creates keys, configuration and network and starts every replica, returning once all of
   * them are healthy. On failure everything made so far is removed before the exception leaves.
   */
  @Override
  public PbftCluster start() {
    beforeStart();
    started = true;
    try {
      long t0 = System.nanoTime();
      files = ClusterFiles.generate(options);
      containers = new ReplicaContainers(options, clusterId, files);
      faults = new ContainerFaults(containers);
      statuses = new ContainerStatus(files);
      clients = new ClusterClients(files.hostConfig(), options);
      containers.startAll();
      log.info("pbft cluster {}: {} replicas healthy in {} ms (image {}, traitors {}, host ports {})", clusterId,
          options.n, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), options.image, options.traitors,
          Arrays.toString(files.hostPorts()));
    } catch (RuntimeException | Error e) {
      try {
        close();
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    return this;
  }

  /** Removes the containers (with their volumes), the network and the keys; safe to call more than once. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    // clients first (they fail what is outstanding), the key folder last, whatever failed before
    RuntimeException failure = null;
    List<AutoCloseable> parts = new ArrayList<>(followingClients);
    parts.add(following);
    parts.addAll(java.util.Arrays.asList(clients, statuses, containers, files));
    for (AutoCloseable part : parts) {
      try {
        if (part != null) {
          part.close();
        }
      } catch (Exception e) {
        failure = failure == null ? (e instanceof RuntimeException r ? r : new IllegalStateException(e)) : failure;
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  // ---------------------------------------------------------------- faults (the Cluster vocabulary)

  /** SIGKILL: the replica dies at once; {@link #restart} brings the same container back. */
  @Override
  public void kill(int id) {
    faults.kill(checked(id));
  }

  /** SIGTERM and wait (up to 10 s, then SIGKILL): a graceful stop; {@link #restart} brings it back. */
  @Override
  public void stop(int id) {
    faults.stop(checked(id));
  }

  /**
   * Starts replica {@code id}'s container again (same data volume, same published port) and
   * waits until it is healthy; a running one is stopped gracefully first. A durable replica
   * recovers from its volume; with {@link #withInMemoryState} it restarts empty and catches up by
   * state transfer.
   */
  @Override
  public void restart(int id) {
    faults.restart(checked(id));
  }

  @Override
  public boolean replacesMachines() {
    return true;
  }

  /**
   * Replaces replica {@code id}'s container by a new one with the same identity and an empty data
   * volume (the old container and its volume are removed), as an operator replaces a machine that
   * failed with its disk, and waits until it is healthy; it catches up by state transfer.
   */
  @Override
  public void replaceWithEmptyState(int id) {
    containers.replace(checked(id));
  }

  /** Starts the containers of {@code ids} again all at once (as after a power loss), then waits until each is healthy. */
  @Override
  public void restartAll(Collection<Integer> ids) {
    ids.forEach(this::checked);
    faults.restartAll(ids);
  }

  /** Freezes every process of the replica (docker pause): it neither sends nor answers. */
  @Override
  public void pause(int id) {
    faults.pause(checked(id));
  }

  /** Unfreezes a paused replica (docker unpause). */
  @Override
  public void resume(int id) {
    faults.resume(checked(id));
  }

  /** Takes the replica off the cluster network: it can reach no peer, no peer (or client) can reach it. */
  @Override
  public void isolate(int id) {
    faults.isolate(checked(id));
  }

  /** Puts every isolated replica back on the network under its host name (its address may change). */
  @Override
  public void heal() {
    requireStarted();
    faults.heal();
  }

  // the names of earlier versions

  /** @deprecated {@link #restart} brings a killed or stopped replica back */
  @Deprecated public void start(int id) {
    restart(id);
  }

  /** @deprecated renamed {@link #resume} */
  @Deprecated public void unpause(int id) {
    resume(id);
  }

  /** @deprecated renamed {@link #isolate} */
  @Deprecated public void disconnect(int id) {
    isolate(id);
  }

  /** @deprecated {@link #heal} puts every isolated replica back */
  @Deprecated public void reconnect(int id) {
    faults.reconnect(checked(id));
  }

  /** Waits until replica {@code id}'s gRPC health service answers SERVING (after a restart or heal). */
  public void awaitHealthy(int id) {
    containers.awaitHealthy(checked(id));
  }

  // ---------------------------------------------------------------- clients and status

  @Override
  public int size() {
    return options.n;
  }

  /** f, the number of faulty replicas the cluster tolerates. */
  @Override
  public int f() {
    return requireStarted().f();
  }

  /** The ids of the replicas that run honestly. */
  public List<Integer> correctReplicas() {
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < options.n; i++) {
      if (!options.traitors.containsKey(i)) {
        ids.add(i);
      }
    }
    return ids;
  }

  /** The configuration as clients on this host see it: replica i at 127.0.0.1 and its published port. */
  public ClusterConfig hostConfig() {
    return requireStarted();
  }

  /** The configuration inside the containers (replica i at replicaI:7000). */
  public ClusterConfig containerConfig() {
    requireStarted();
    return files.containerConfig();
  }

  /** The folder holding cluster.yaml, cluster-host.yaml and keys/ (deleted by {@link #close}). */
  public Path directory() {
    requireStarted();
    return files.dir();
  }

  /** The published host port of replica {@code id} on 127.0.0.1. */
  public int hostPort(int id) {
    return files.hostPort(checked(id));
  }

  /** A client with identity {@code clientId}, on channels shared by every client of this cluster; closed with it. */
  public PbftClient client(int clientId) {
    requireStarted();
    return clients.client(clientId);
  }

  /** A key-value client with identity {@code clientId}; closing it closes its PbftClient. */
  public KvClient kvClient(int clientId) {
    return KvClient.owning(client(clientId));
  }

  /** The key-value client of identity {@code clientId} as a {@link KvStore} (one per identity), closed with the cluster. */
  @Override
  public KvStore kv(int clientId) {
    requireStarted();
    return clients.kv(clientId);
  }

  /** Replica {@code id}'s status (view, last executed, state digest, typed counters) over the Status RPC. */
  @Override
  public StatusResponse status(int id) {
    return status(id, Duration.ofSeconds(3));
  }

  /** @throws IllegalStateException if the replica does not answer within {@code timeout} */
  public StatusResponse status(int id, Duration timeout) {
    checked(id);
    return statuses.status(id, timeout);
  }

  /** The status of replica {@code id}, or empty if it does not answer within the timeout. */
  public Optional<StatusResponse> tryStatus(int id, Duration timeout) {
    checked(id);
    return statuses.tryStatus(id, timeout);
  }

  /**
   * Waits until every replica in {@code ids} answers with the same last executed sequence number
   * (at least {@code atLeast}) and the same state digest, and returns their statuses.
   *
   * @throws io.pbft.testkit.ClusterTimeoutException (an IllegalStateException) with every
   *     replica's last answer when they do not agree in time
   */
  public List<StatusResponse> awaitAgreement(Collection<Integer> ids, long atLeast, Duration timeout) {
    requireStarted();
    return statuses.awaitAgreement(ids, atLeast, timeout);
  }

  @Override
  public void await(String what, BooleanSupplier condition, Duration timeout) {
    Polling.await(what, condition, timeout);
  }

  /** One line per replica: view, primary, last executed, digest prefix, counters (or "unreachable"). */
  public static String describe(List<Integer> ids, List<StatusResponse> statuses) {
    return Statuses.describe(ids, statuses);
  }

  /** What replica {@code id} has printed so far (stdout and stderr, across restarts). */
  public String logs(int id) {
    options.checkId(id);
    return containers == null ? "" : containers.logs(id);
  }

  /** The Docker container id of replica {@code id}. */
  public String containerId(int id) {
    return containers.containerId(checked(id));
  }

  // ---------------------------------------------------------------- members added, moved, rotated

  /**
   * Where each replica address of the cluster network (HOST:PORT, as memberships name it) is
   * published on this host: the original replicas and every container started for a change since.
   */
  private final Map<String, String> published = new java.util.concurrent.ConcurrentHashMap<>();
  private ClusterChannels following;
  private final List<AutoCloseable> followingClients = new ArrayList<>();

  /**
   * Channels for clients on this host that follow the group through its changes: the containers'
   * configuration (so that the chain of signed changes checks from its epoch 0), each replica
   * dialed where its address is published here (members added or moved since included). With TLS
   * the client presents the operator's certificate, so that the Status RPC answers too. Closed
   * with the cluster.
   */
  public synchronized ClusterChannels followingChannels() {
    requireStarted();
    if (following == null) {
      for (io.pbft.config.ReplicaInfo r : files.containerConfig().replicas()) {
        published.putIfAbsent(r.address().toLowerCase(java.util.Locale.ROOT), "127.0.0.1:" + files.hostPort(r.id()));
      }
      following = ClusterChannels.open(files.containerConfig(),
          io.pbft.client.ClientTls.adminIdentity(files.containerConfig()),
          a -> published.getOrDefault(a.toLowerCase(java.util.Locale.ROOT), a));
    }
    return following;
  }

  /** A client of identity {@code clientId} on {@link #followingChannels}; closed with the cluster. */
  public synchronized PbftClient followingClient(int clientId) {
    PbftClient c = PbftClient.newBuilder().config(files.containerConfig()).channels(followingChannels())
        .clientId(clientId).operationTimeout(options.operationTimeout).build();
    followingClients.add(c);
    return c;
  }

  /**
   * Starts replica {@code id}, no member yet, as a new member's machine: keys (and with TLS on a
   * certificate from the cluster's CA) as {@code pbft keygen --add-to} writes them, a container on
   * the cluster network as {@code replicaID} running {@code pbft replica --join}, which waits until
   * the group's epoch names it; its port is published on this host. Returns its entry, for the
   * command adding it.
   */
  public synchronized io.pbft.config.ReplicaInfo startAddedReplica(int id) {
    followingChannels();
    io.pbft.config.ReplicaInfo entry = io.pbft.config.ClusterSetup.addReplica(files.dir(), files.containerConfig(), id,
        hostName(id), REPLICA_PORT, certificateAuthority(), io.pbft.config.ClusterSetup.CERTIFICATE_VALIDITY,
        new java.security.SecureRandom());
    Map<String, byte[]> copy = new java.util.LinkedHashMap<>(commonFiles());
    copy.put(io.pbft.config.ClusterSetup.newReplicaFile(files.dir(), id).getFileName().toString(),
        files.file(io.pbft.config.ClusterSetup.newReplicaFile(files.dir(), id).getFileName().toString()));
    copy.put(entry.keyFile(), files.file(entry.keyFile()));
    if (files.containerConfig().tls().enabled()) {
      io.pbft.config.TlsConfig.Files own = files.containerConfig().tls().replicaFiles(id);
      copy.put(own.certFile(), files.file(own.certFile()));
      copy.put(own.keyFile(), files.file(own.keyFile()));
    }
    startJoining(hostName(id), id, copy, entry);
    return entry;
  }

  /**
   * Starts the new machine replica {@code id} moves to: a container on the cluster network as
   * {@code replicaID-moved} running {@code pbft replica --join}, with what {@code pbft keygen
   * --add-to DIR --replacing ID --address} writes for it (its next key and certificate under
   * replacements/replica-ID/) and nothing of the old machine's. The old container steps down once
   * the move takes effect, and stops. Returns the new machine's entry, for the command.
   */
  public synchronized io.pbft.config.ReplicaInfo startMovedReplica(int id) {
    followingChannels();
    String name = hostName(id) + "-moved";
    io.pbft.config.ReplicaInfo entry = io.pbft.config.ClusterSetup.replacementFor(files.dir(), files.containerConfig(),
        id, new io.pbft.config.HostPort(name, REPLICA_PORT), certificateAuthority(),
        io.pbft.config.ClusterSetup.CERTIFICATE_VALIDITY, new java.security.SecureRandom());
    Map<String, byte[]> copy = new java.util.LinkedHashMap<>(commonFiles());
    copy.putAll(replacementFiles(id));
    startJoining(name, id, copy, entry);
    return entry;
  }

  /**
   * Replica {@code id}'s next key (and with TLS on certificate), as {@code pbft keygen --add-to DIR
   * --replacing ID} writes them, copied into its running container under replacements/replica-ID/,
   * where it reads them when the rotation takes effect. Returns the entry with the new public key.
   */
  public synchronized io.pbft.config.ReplicaInfo prepareKeyRotation(int id) {
    requireStarted();
    io.pbft.config.ReplicaInfo member = files.containerConfig().replica(checked(id));
    io.pbft.config.ReplicaInfo entry = io.pbft.config.ClusterSetup.replacementFor(files.dir(), files.containerConfig(),
        id, new io.pbft.config.HostPort(member.host(), member.port()), certificateAuthority(),
        io.pbft.config.ClusterSetup.CERTIFICATE_VALIDITY, new java.security.SecureRandom());
    replacementFiles(id).forEach((path, bytes) -> containers.copyInto(id, path, bytes));
    return entry;
  }

  /** What {@link #startJoining} logged, by the host name of its container. */
  private final Map<String, java.util.function.Supplier<String>> joiningLogs = new java.util.concurrent.ConcurrentHashMap<>();

  /** What the container started for a change under host name {@code name} has printed so far. */
  public String joiningLogs(String name) {
    java.util.function.Supplier<String> l = joiningLogs.get(name);
    return l == null ? "" : l.get();
  }

  private void startJoining(String name, int id, Map<String, byte[]> copy, io.pbft.config.ReplicaInfo entry) {
    int port = io.pbft.testkit.Ports.free();
    published.put(entry.address().toLowerCase(java.util.Locale.ROOT), "127.0.0.1:" + port);
    joiningLogs.put(name, containers.startJoining(name, id, port, copy));
    log.info("pbft cluster {}: started {} (replica {}, pbft replica --join) published at 127.0.0.1:{}", clusterId,
        name, id, port);
  }

  /** The files every container of the cluster has: cluster.yaml and, with TLS on, the CA's certificate. */
  private Map<String, byte[]> commonFiles() {
    Map<String, byte[]> copy = new java.util.LinkedHashMap<>();
    copy.put("cluster.yaml", files.containerConfig().toYaml().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    if (files.containerConfig().tls().enabled()) {
      String ca = files.containerConfig().tls().caCertFile();
      copy.put(ca, files.file(ca));
    }
    return copy;
  }

  /** The files under replacements/replica-ID/ of the cluster folder, by path relative to it. */
  private Map<String, byte[]> replacementFiles(int id) {
    Path root = io.pbft.config.ClusterSetup.replacementDir(files.dir(), id);
    Map<String, byte[]> out = new java.util.LinkedHashMap<>();
    try (java.util.stream.Stream<Path> all = java.nio.file.Files.walk(root)) {
      for (Path f : all.filter(java.nio.file.Files::isRegularFile).toList()) {
        String relative = files.dir().relativize(f).toString();
        out.put(relative, files.file(relative));
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot read " + root, e);
    }
    return out;
  }

  /** The cluster's CA, which issues the certificates of new machines; null with TLS off. */
  private io.pbft.crypto.tls.CertificateAuthority certificateAuthority() {
    if (!files.containerConfig().tls().enabled()) {
      return null;
    }
    return io.pbft.crypto.tls.CertificateAuthority.load(files.dir().resolve(io.pbft.config.TlsConfig.CA_CERT_FILE),
        files.dir().resolve(io.pbft.config.TlsConfig.CA_KEY_FILE), new java.security.SecureRandom());
  }

  // ---------------------------------------------------------------- helpers

  /** The host name of replica {@code id} on the cluster network. */
  public static String hostName(int id) {
    return "replica" + id;
  }

  /** True when Docker answers (checked without starting any container). */
  public static boolean dockerAvailable() {
    return ReplicaContainers.dockerAvailable();
  }

  /** True when {@code image} is in the local Docker image store. */
  public static boolean imageAvailable(String image) {
    return ReplicaContainers.imageAvailable(image);
  }

  private int checked(int id) {
    options.checkId(id);
    requireStarted();
    return id;
  }

  private ClusterConfig requireStarted() {
    if (!started || files == null) {
      throw new IllegalStateException("the cluster is not started (call start())");
    }
    if (closed) {
      throw new IllegalStateException("the cluster is closed");
    }
    return files.hostConfig();
  }

  private void beforeStart() {
    if (started) {
      throw new IllegalStateException("the cluster is already started; configure it before start()");
    }
  }
}

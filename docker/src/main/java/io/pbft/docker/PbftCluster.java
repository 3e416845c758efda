package io.pbft.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.ContainerNetwork;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HealthCheck;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.pbft.client.ClusterChannels;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.ReplicaInfo;
import io.pbft.config.TransportSettings;
import io.pbft.crypto.Digests;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.IntUnaryOperator;
import java.util.function.UnaryOperator;
import java.util.zip.Checksum;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

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
 * <p>{@link #start} generates keys into a temporary folder, writes a configuration that names
 * replica i by its container host name {@code replicaI} (port {@value #REPLICA_PORT} everywhere),
 * copies each container the configuration and its own key only, and starts every container,
 * waiting until each replica's gRPC health service answers SERVING. Each replica's port is
 * published on 127.0.0.1 at a fixed host port, which stays the same across {@link #restart}s;
 * {@link #hostConfig} is the configuration clients on the host use.
 *
 * <p>Each replica keeps its state durably in its container's data volume (/pbft/data, the image's
 * default), unless {@link #withInMemoryState} is given.
 *
 * <p>Faults: {@link #kill} (SIGKILL), {@link #stop} (SIGTERM), {@link #start(int)},
 * {@link #restart} (stop and start the same container with the same data volume: a durable
 * replica recovers from its disk and then from its peers, an in-memory one comes back empty and
 * recovers by state transfer), {@link #pause} and
 * {@link #unpause} (docker pause: frozen, connections stay open), {@link #disconnect} and
 * {@link #reconnect} (taken off the cluster network and put back: a partition).
 *
 * <p>{@link #close} removes the containers, their volumes, the network and the key folder, even
 * when start failed half-way. Not thread-safe: drive one cluster from one thread (the clients it
 * hands out are thread-safe).
 */
public final class PbftCluster implements AutoCloseable {
  public static final String DEFAULT_IMAGE = "pbft:local";
  /** The port every replica listens on inside its container. */
  public static final int REPLICA_PORT = 7000;
  /** The non-root user the image runs as: key files copied in are owned by it. */
  public static final int CONTAINER_UID = 10001;
  /** Label on every container this class starts (value: the cluster's id), for clean-up scripts. */
  public static final String LABEL = "io.pbft.docker.cluster";

  private static final Logger log = LoggerFactory.getLogger(PbftCluster.class);

  private final int n;
  private final Map<Integer, String> traitors = new TreeMap<>();
  private final String clusterId = UUID.randomUUID().toString().substring(0, 8);
  private String image = System.getProperty("pbft.image", DEFAULT_IMAGE);
  private int clientCount = 16;
  private UnaryOperator<ProtocolSettings> protocol = UnaryOperator.identity();
  private UnaryOperator<TransportSettings> transport = UnaryOperator.identity();
  private Duration startupTimeout = Duration.ofSeconds(120);
  private Duration operationTimeout = Duration.ofSeconds(30);
  private String logLevel = "INFO";
  private String javaOpts;
  private boolean inMemory;

  private Path dir;
  private ClusterConfig containerConfig;
  private ClusterConfig hostConfig;
  private Network network;
  private final List<GenericContainer<?>> containers = new ArrayList<>();
  private int[] hostPorts;
  private ManagedChannel[] statusChannels;
  private ClusterChannels clientChannels;
  private final List<AutoCloseable> handedOut = new ArrayList<>();
  private final Map<Integer, StringBuffer> logs = new TreeMap<>();
  private final Map<Integer, java.util.function.Consumer<OutputFrame>> logConsumers = new TreeMap<>();
  private boolean started;
  private boolean closed;

  /** A cluster of {@code n} replicas (f is the most n allows: n = 4 tolerates 1). */
  public PbftCluster(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("a cluster needs at least one replica, got " + n);
    }
    this.n = n;
  }

  // ---------------------------------------------------------------- configuration

  /** Replica {@code id} runs as a traitor: a behaviour name of the chaos catalogue ({@code pbft replica --traitor}). */
  public PbftCluster withTraitor(int id, String behaviour) {
    checkId(id);
    if (behaviour == null || behaviour.isBlank()) {
      throw new IllegalArgumentException("a traitor behaviour name is required");
    }
    beforeStart();
    traitors.put(id, behaviour.strip());
    return this;
  }

  /** The image to run (default {@value #DEFAULT_IMAGE}, or the system property {@code pbft.image}). */
  public PbftCluster withImage(String image) {
    beforeStart();
    this.image = image;
    return this;
  }

  /** How many client identities the configuration lists (default 16). */
  public PbftCluster withClients(int count) {
    beforeStart();
    if (count < 1) {
      throw new IllegalArgumentException("at least one client identity is needed, got " + count);
    }
    this.clientCount = count;
    return this;
  }

  /** Adjusts the protocol settings written to the configuration, e.g. {@code p -> p.withCheckpointInterval(16)}. */
  public PbftCluster withProtocol(UnaryOperator<ProtocolSettings> change) {
    beforeStart();
    this.protocol = change;
    return this;
  }

  /** Adjusts the transport settings written to the configuration. */
  public PbftCluster withTransport(UnaryOperator<TransportSettings> change) {
    beforeStart();
    this.transport = change;
    return this;
  }

  /** How long {@link #start} and {@link #start(int)} wait for replicas to become healthy (default 120 s). */
  public PbftCluster withStartupTimeout(Duration timeout) {
    beforeStart();
    this.startupTimeout = timeout;
    return this;
  }

  /** The operation timeout of the clients {@link #client} and {@link #kvClient} build (default 30 s). */
  public PbftCluster withOperationTimeout(Duration timeout) {
    this.operationTimeout = timeout;
    return this;
  }

  /** The replicas' log level (PBFT_LOG_LEVEL; default INFO). */
  public PbftCluster withLogLevel(String level) {
    beforeStart();
    this.logLevel = level;
    return this;
  }

  /** Replicas keep their state in memory (PBFT_DATA_DIR empty) instead of in their data volume. */
  public PbftCluster withInMemoryState() {
    beforeStart();
    this.inMemory = true;
    return this;
  }

  /** Replaces the image's JVM flags (PBFT_JAVA_OPTS). */
  public PbftCluster withJavaOpts(String opts) {
    beforeStart();
    this.javaOpts = opts;
    return this;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Creates keys, configuration and network and starts every replica, returning once all of
   * them are healthy. On failure everything made so far is removed before the exception leaves.
   */
  public PbftCluster start() {
    beforeStart();
    started = true;
    try {
      doStart();
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

  private void doStart() {
    long t0 = System.nanoTime();
    try {
      dir = Files.createTempDirectory("pbft-cluster-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a folder for the cluster's keys", e);
    }
    ClusterConfig generated = ClusterSetup.generate(dir, n, clientCount, "127.0.0.1", REPLICA_PORT, -1,
        new SecureRandom());
    generated = generated.withProtocol(protocol.apply(generated.protocol()))
        .withTransport(transport.apply(generated.transport()));
    containerConfig = withAddresses(generated, PbftCluster::hostName, i -> REPLICA_PORT);
    containerConfig.write(dir.resolve("cluster.yaml"));
    hostPorts = freePorts(n);
    hostConfig = withAddresses(generated, i -> "127.0.0.1", i -> hostPorts[i]);
    hostConfig.write(dir.resolve("cluster-host.yaml"));

    network = Network.builder().createNetworkCmdModifier(cmd -> cmd.withName("pbft-" + clusterId)
        .withLabels(Map.of(LABEL, clusterId))).build();
    network.getId(); // created now, not lazily by several starting containers at once
    byte[] yaml = containerConfig.toYaml().getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < n; i++) {
      containers.add(container(i, yaml));
    }
    statusChannels = new ManagedChannel[n];
    for (int i = 0; i < n; i++) {
      statusChannels[i] = NettyChannelBuilder.forAddress("127.0.0.1", hostPorts[i]).usePlaintext().build();
    }
    // all at once, a thread each (whatever the size of the common pool), each start waiting
    // for its replica's health service
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n, r -> {
      Thread t = new Thread(r, "pbft-cluster-start");
      t.setDaemon(true);
      return t;
    });
    try {
      List<CompletableFuture<Void>> starts = new ArrayList<>();
      for (GenericContainer<?> c : containers) {
        starts.add(CompletableFuture.runAsync(c::start, pool));
      }
      CompletableFuture.allOf(starts.toArray(CompletableFuture[]::new)).join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    } finally {
      pool.shutdownNow();
    }
    log.info("pbft cluster {}: {} replicas healthy in {} ms (image {}, traitors {}, host ports {})", clusterId, n,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), image, traitors, ports());
  }

  private GenericContainer<?> container(int id, byte[] yaml) {
    String name = hostName(id);
    StringBuffer buffer = new StringBuffer();
    logs.put(id, buffer);
    Logger replicaLog = LoggerFactory.getLogger("io.pbft.docker.replica" + id);
    java.util.function.Consumer<OutputFrame> consumer = frame -> {
      String line = frame.getUtf8StringWithoutLineEnding();
      if (frame.getType() != OutputFrame.OutputType.END && !line.isEmpty()) {
        buffer.append(line).append('\n');
        replicaLog.debug("{}", line);
      }
    };
    logConsumers.put(id, consumer);
    int hostPort = hostPorts[id];
    GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(image))
        .withNetwork(network)
        .withNetworkAliases(name)
        .withLabel(LABEL, clusterId)
        .withEnv("PBFT_CONFIG", "/pbft/config/cluster.yaml")
        .withEnv("PBFT_ID", String.valueOf(id))
        .withEnv("PBFT_LISTEN", "0.0.0.0:" + REPLICA_PORT)
        .withEnv("PBFT_LOG_LEVEL", logLevel)
        .withCopyToContainer(Transferable.of(yaml, 0644), "/pbft/config/cluster.yaml")
        .withCopyToContainer(new OwnedFile(readKey(id), 0400, CONTAINER_UID), "/pbft/config/keys/replica-" + id + ".key")
        .withCommand("replica")
        .withLogConsumer(consumer)
        .waitingFor(new GrpcHealthWaitStrategy("127.0.0.1", hostPort).withStartupTimeout(startupTimeout))
        .withCreateContainerCmdModifier(cmd -> {
          cmd.withName("pbft-" + clusterId + "-" + name).withHostName(name);
          // a fixed host port on the loopback interface only, kept across restarts
          cmd.withExposedPorts(ExposedPort.tcp(REPLICA_PORT));
          cmd.getHostConfig().withPortBindings(new Ports(new PortBinding(
              Ports.Binding.bindIpAndPort("127.0.0.1", hostPort), ExposedPort.tcp(REPLICA_PORT))));
          // the wait strategy and status() probe over gRPC; the image's JVM health check only costs CPU here
          cmd.withHealthcheck(new HealthCheck().withTest(List.of("NONE")));
        });
    if (traitors.containsKey(id)) {
      c.withEnv("PBFT_TRAITOR", traitors.get(id));
    }
    if (javaOpts != null) {
      c.withEnv("PBFT_JAVA_OPTS", javaOpts);
    }
    if (inMemory) {
      c.withEnv("PBFT_DATA_DIR", "");
    }
    return c;
  }

  /** Removes the containers (with their volumes), the network and the keys; safe to call more than once. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    RuntimeException failure = null;
    for (int i = handedOut.size() - 1; i >= 0; i--) {
      try {
        handedOut.get(i).close();
      } catch (Exception e) {
        log.debug("closing a client failed", e);
      }
    }
    if (clientChannels != null) {
      clientChannels.close();
    }
    if (statusChannels != null) {
      for (ManagedChannel ch : statusChannels) {
        if (ch != null) {
          ch.shutdownNow();
        }
      }
    }
    for (GenericContainer<?> c : containers) {
      try {
        if (c.getContainerId() != null && isPaused(c)) {
          c.getDockerClient().unpauseContainerCmd(c.getContainerId()).exec();
        }
      } catch (RuntimeException e) {
        log.debug("unpausing before removal failed", e);
      }
      try {
        c.stop(); // removes the container and its anonymous volumes
      } catch (RuntimeException e) {
        failure = failure == null ? e : failure;
      }
    }
    if (network != null) {
      try {
        network.close();
      } catch (RuntimeException e) {
        failure = failure == null ? e : failure;
      }
    }
    if (dir != null) {
      deleteRecursively(dir);
    }
    if (failure != null) {
      throw failure;
    }
  }

  // ---------------------------------------------------------------- clients and status

  public int size() {
    return n;
  }

  /** f, the number of faulty replicas the cluster tolerates. */
  public int f() {
    return requireStarted().f();
  }

  /** The ids of the replicas that run honestly. */
  public List<Integer> correctReplicas() {
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (!traitors.containsKey(i)) {
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
    return containerConfig;
  }

  /** The folder holding cluster.yaml, cluster-host.yaml and keys/ (deleted by {@link #close}). */
  public Path directory() {
    requireStarted();
    return dir;
  }

  /** The published host port of replica {@code id} on 127.0.0.1. */
  public int hostPort(int id) {
    checkId(id);
    requireStarted();
    return hostPorts[id];
  }

  /** A client with identity {@code clientId}, on channels shared by every client of this cluster; closed with it. */
  public PbftClient client(int clientId) {
    ClusterConfig cfg = requireStarted();
    if (clientChannels == null) {
      clientChannels = ClusterChannels.open(cfg);
    }
    PbftClient client = PbftClient.newBuilder().channels(clientChannels).clientId(clientId)
        .operationTimeout(operationTimeout).build();
    handedOut.add(client);
    return client;
  }

  /** A key-value client with identity {@code clientId}; closing it closes its PbftClient. */
  public KvClient kvClient(int clientId) {
    return KvClient.owning(client(clientId));
  }

  /** Replica {@code id}'s status (view, last executed, state digest, counters) over the Status RPC. */
  public StatusResponse status(int id) {
    return status(id, Duration.ofSeconds(3));
  }

  public StatusResponse status(int id, Duration timeout) {
    checkId(id);
    requireStarted();
    return ClientServiceGrpc.newBlockingStub(statusChannels[id])
        .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .status(StatusRequest.getDefaultInstance());
  }

  /** The status of replica {@code id}, or empty if it does not answer within the timeout. */
  public Optional<StatusResponse> tryStatus(int id, Duration timeout) {
    try {
      return Optional.of(status(id, timeout));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * Waits until every replica in {@code ids} answers with the same last executed sequence number
   * (at least {@code atLeast}) and the same state digest, and returns their statuses.
   *
   * @throws IllegalStateException with every replica's last answer when they do not agree in time
   */
  public List<StatusResponse> awaitAgreement(Collection<Integer> ids, long atLeast, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (true) {
      List<StatusResponse> all = new ArrayList<>();
      boolean ok = true;
      for (int id : ids) {
        Optional<StatusResponse> s = tryStatus(id, Duration.ofSeconds(2));
        if (s.isEmpty()) {
          ok = false;
          all.add(null);
        } else {
          all.add(s.get());
        }
      }
      if (ok && agree(all, atLeast)) {
        return all;
      }
      last = describe(new ArrayList<>(ids), all);
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("replicas " + ids + " did not agree (last executed >= " + atLeast
            + ") within " + timeout.toSeconds() + " s:" + last);
      }
      sleep(250);
    }
  }

  private static boolean agree(List<StatusResponse> all, long atLeast) {
    StatusResponse first = all.get(0);
    for (StatusResponse s : all) {
      if (s.getLastExecuted() != first.getLastExecuted() || !s.getStateDigest().equals(first.getStateDigest())
          || s.getLastExecuted() < atLeast) {
        return false;
      }
    }
    return true;
  }

  /** One line per replica: view, primary, last executed, digest prefix (or "unreachable"). */
  public static String describe(List<Integer> ids, List<StatusResponse> statuses) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < ids.size(); i++) {
      StatusResponse s = statuses.get(i);
      b.append("\n  replica ").append(ids.get(i)).append(": ");
      if (s == null) {
        b.append("unreachable");
      } else {
        b.append("view ").append(s.getView()).append(", primary ").append(s.getPrimary())
            .append(", last executed ").append(s.getLastExecuted())
            .append(", low watermark ").append(s.getLowWatermark())
            .append(", digest ").append(Digests.hex(s.getStateDigest().toByteArray()), 0, 16)
            .append(", state transfers ").append(s.getStateTransfers())
            .append(", view changes started ").append(s.getViewChangesStarted());
      }
    }
    return b.toString();
  }

  /** What replica {@code id} has printed so far (stdout and stderr, across restarts). */
  public String logs(int id) {
    checkId(id);
    StringBuffer b = logs.get(id);
    return b == null ? "" : b.toString();
  }

  /** The Docker container id of replica {@code id}. */
  public String containerId(int id) {
    return container(id).getContainerId();
  }

  // ---------------------------------------------------------------- faults

  /** SIGKILL: the replica dies at once; {@link #start(int)} brings the same container back. */
  public void kill(int id) {
    GenericContainer<?> c = container(id);
    docker(c).killContainerCmd(c.getContainerId()).exec();
    awaitNotRunning(c);
  }

  /** SIGTERM and wait (up to 10 s, then SIGKILL): a graceful stop; {@link #start(int)} brings it back. */
  public void stop(int id) {
    GenericContainer<?> c = container(id);
    docker(c).stopContainerCmd(c.getContainerId()).withTimeout(10).exec();
    awaitNotRunning(c);
  }

  /** Starts a killed or stopped replica's container again and waits until it is healthy. */
  public void start(int id) {
    GenericContainer<?> c = container(id);
    docker(c).startContainerCmd(c.getContainerId()).exec();
    // the old log stream ended with the old process: follow again (Docker replays the whole log)
    logs.get(id).setLength(0);
    c.followOutput(logConsumers.get(id));
    awaitHealthy(id);
  }

  /**
   * Stops replica {@code id} gracefully and starts the same container again (same data volume, same
   * published port), waiting until it is healthy. A durable replica recovers from its volume; with
   * {@link #withInMemoryState} it restarts empty and catches up by state transfer.
   */
  public void restart(int id) {
    stop(id);
    start(id);
  }

  /** Freezes every process of the replica (docker pause): it neither sends nor answers. */
  public void pause(int id) {
    GenericContainer<?> c = container(id);
    docker(c).pauseContainerCmd(c.getContainerId()).exec();
  }

  public void unpause(int id) {
    GenericContainer<?> c = container(id);
    docker(c).unpauseContainerCmd(c.getContainerId()).exec();
  }

  /** Takes the replica off the cluster network: it can reach no peer, no peer (or client) can reach it. */
  public void disconnect(int id) {
    GenericContainer<?> c = container(id);
    docker(c).disconnectFromNetworkCmd().withNetworkId(network.getId()).withContainerId(c.getContainerId())
        .withForce(true).exec();
  }

  /** Puts a {@link #disconnect}ed replica back on the network under its host name (its address may change). */
  public void reconnect(int id) {
    GenericContainer<?> c = container(id);
    docker(c).connectToNetworkCmd().withNetworkId(network.getId()).withContainerId(c.getContainerId())
        .withContainerNetwork(new ContainerNetwork().withAliases(hostName(id))).exec();
  }

  /** Waits until replica {@code id}'s gRPC health service answers SERVING (after a start or reconnect). */
  public void awaitHealthy(int id) {
    checkId(id);
    GrpcHealthWaitStrategy.await("127.0.0.1", hostPorts[id], startupTimeout, () -> isRunning(container(id)),
        () -> "replica " + id + " logs:\n" + tail(logs(id), 40));
  }

  // ---------------------------------------------------------------- helpers

  /** The host name of replica {@code id} on the cluster network. */
  public static String hostName(int id) {
    return "replica" + id;
  }

  /** True when Docker answers (checked without starting any container). */
  public static boolean dockerAvailable() {
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException | Error e) {
      return false;
    }
  }

  /** True when {@code image} is in the local Docker image store. */
  public static boolean imageAvailable(String image) {
    try {
      DockerClientFactory.instance().client().inspectImageCmd(image).exec();
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private GenericContainer<?> container(int id) {
    checkId(id);
    requireStarted();
    return containers.get(id);
  }

  private static DockerClient docker(GenericContainer<?> c) {
    return c.getDockerClient();
  }

  private static boolean isRunning(GenericContainer<?> c) {
    try {
      Boolean running = docker(c).inspectContainerCmd(c.getContainerId()).exec().getState().getRunning();
      return Boolean.TRUE.equals(running);
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static boolean isPaused(GenericContainer<?> c) {
    try {
      return Boolean.TRUE.equals(docker(c).inspectContainerCmd(c.getContainerId()).exec().getState().getPaused());
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static void awaitNotRunning(GenericContainer<?> c) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (isRunning(c)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("container " + c.getContainerId() + " is still running");
      }
      sleep(50);
    }
  }

  private ClusterConfig requireStarted() {
    if (!started || hostConfig == null) {
      throw new IllegalStateException("the cluster is not started (call start())");
    }
    if (closed) {
      throw new IllegalStateException("the cluster is closed");
    }
    return hostConfig;
  }

  private void beforeStart() {
    if (started) {
      throw new IllegalStateException("the cluster is already started; configure it before start()");
    }
  }

  private void checkId(int id) {
    if (id < 0 || id >= n) {
      throw new IllegalArgumentException("no replica " + id + " (the cluster has ids 0.." + (n - 1) + ")");
    }
  }

  private String ports() {
    StringBuilder b = new StringBuilder();
    for (int p : hostPorts) {
      b.append(b.length() == 0 ? "" : ",").append(p);
    }
    return b.toString();
  }

  private byte[] readKey(int id) {
    ReplicaInfo r = containerConfig.replica(id);
    try {
      return Files.readAllBytes(dir.resolve(r.keyFile()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the key of replica " + id, e);
    }
  }

  /** The same keys and settings with replica i at host(i):port(i). */
  static ClusterConfig withAddresses(ClusterConfig c, IntFunction<String> host, IntUnaryOperator port) {
    List<ReplicaInfo> moved = new ArrayList<>();
    for (ReplicaInfo r : c.replicas()) {
      moved.add(new ReplicaInfo(r.id(), host.apply(r.id()), port.applyAsInt(r.id()), r.publicKey(), r.keyFile()));
    }
    return new ClusterConfig(moved, c.clients(), c.f(), c.protocol(), c.transport(), c.baseDir());
  }

  /** {@code count} distinct free ports on 127.0.0.1 (all held open until every one is found). */
  static int[] freePorts(int count) {
    List<ServerSocket> held = new ArrayList<>();
    TreeSet<Integer> seen = new TreeSet<>();
    try {
      while (held.size() < count) {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(false);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        held.add(s);
        seen.add(s.getLocalPort());
      }
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        ports[i] = held.get(i).getLocalPort();
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find free ports on 127.0.0.1", e);
    } finally {
      for (ServerSocket s : held) {
        try {
          s.close();
        } catch (IOException ignored) {
          // nothing to do
        }
      }
    }
  }

  static String tail(String text, int lines) {
    String[] all = text.split("\n");
    int from = Math.max(0, all.length - lines);
    return String.join("\n", java.util.Arrays.asList(all).subList(from, all.length));
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void deleteRecursively(Path root) {
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          Files.deleteIfExists(d);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      log.debug("could not delete {}", root, e);
    }
  }

  /** A file copied into a container with a given owner and mode (a key readable by the replica only). */
  private record OwnedFile(byte[] bytes, int mode, int uid) implements Transferable {
    @Override
    public long getSize() {
      return bytes.length;
    }

    @Override
    public byte[] getBytes() {
      return bytes;
    }

    @Override
    public int getFileMode() {
      return mode;
    }

    @Override
    public String getDescription() {
      return "key file (" + bytes.length + " bytes, uid " + uid + ")";
    }

    @Override
    public void updateChecksum(Checksum checksum) {
      checksum.update(bytes, 0, bytes.length);
    }

    @Override
    public void transferTo(TarArchiveOutputStream tar, String destination) {
      TarArchiveEntry entry = new TarArchiveEntry(destination);
      entry.setSize(bytes.length);
      entry.setMode(TarArchiveEntry.DEFAULT_FILE_MODE & ~0777 | mode);
      entry.setUserId(uid);
      entry.setGroupId(uid);
      try {
        tar.putArchiveEntry(entry);
        tar.write(bytes);
        tar.closeArchiveEntry();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot copy a key file into the container", e);
      }
    }
  }
}

package io.pbft.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HealthCheck;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

/**
 * The containers of a cluster and their network: how each replica's container is defined (its
 * configuration and key copied in, its port published on 127.0.0.1 at a fixed host port, its
 * log followed), starting them all at once, starting one again, and removing everything.
 */
final class ReplicaContainers implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReplicaContainers.class);

  private final ClusterOptions options;
  private final String clusterId;
  private final ClusterFiles files;
  private Network network;
  private final List<GenericContainer<?>> containers = new ArrayList<>();
  /**
   * Containers started later with {@code pbft replica --join}: a member added to the group, or the
   * new machine a member moved to. Removed with the rest.
   */
  private final List<GenericContainer<?>> joining = new ArrayList<>();
  private final Map<Integer, StringBuffer> logs = new TreeMap<>();
  private final Map<Integer, Consumer<OutputFrame>> logConsumers = new TreeMap<>();

  ReplicaContainers(ClusterOptions options, String clusterId, ClusterFiles files) {
    this.options = options;
    this.clusterId = clusterId;
    this.files = files;
  }

  /** Creates the network and starts every container at once, each waiting for its replica's health service. */
  void startAll() {
    network = Network.builder().createNetworkCmdModifier(cmd -> cmd.withName("pbft-" + clusterId)
        .withLabels(Map.of(PbftCluster.LABEL, clusterId))).build();
    network.getId(); // created now, not lazily by several starting containers at once
    byte[] yaml = files.containerConfig().toYaml().getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < options.n; i++) {
      containers.add(define(i, yaml));
    }
    // a thread each (whatever the size of the common pool)
    ExecutorService pool = Executors.newFixedThreadPool(options.n, r -> {
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
  }

  private GenericContainer<?> define(int id, byte[] yaml) {
    String name = PbftCluster.hostName(id);
    StringBuffer buffer = new StringBuffer();
    logs.put(id, buffer);
    Logger replicaLog = LoggerFactory.getLogger("io.pbft.docker.replica" + id);
    Consumer<OutputFrame> consumer = lines(buffer, replicaLog);
    logConsumers.put(id, consumer);
    int hostPort = files.hostPort(id);
    GenericContainer<?> c = container(name, id, hostPort, consumer)
        .withCopyToContainer(Transferable.of(yaml, 0644), "/pbft/config/cluster.yaml")
        .withCopyToContainer(new OwnedFile(files.replicaKey(id), 0400, PbftCluster.CONTAINER_UID),
            "/pbft/config/keys/replica-" + id + ".key")
        .waitingFor(new GrpcHealthWaitStrategy("127.0.0.1", hostPort, io.pbft.client.ClientTls.context(files.hostConfig(), null))
            .withStartupTimeout(options.startupTimeout));
    if (files.containerConfig().tls().enabled()) {
      // the CA every replica trusts, and this replica's own certificate and key (readable by it only)
      io.pbft.config.TlsConfig tls = files.containerConfig().tls();
      io.pbft.config.TlsConfig.Files own = tls.replicaFiles(id);
      c.withCopyToContainer(Transferable.of(files.file(tls.caCertFile()), 0644), "/pbft/config/" + tls.caCertFile())
          .withCopyToContainer(Transferable.of(files.file(own.certFile()), 0644), "/pbft/config/" + own.certFile())
          .withCopyToContainer(new OwnedFile(files.file(own.keyFile()), 0400, PbftCluster.CONTAINER_UID),
              "/pbft/config/" + own.keyFile());
    }
    if (options.traitors.containsKey(id)) {
      c.withEnv("PBFT_TRAITOR", options.traitors.get(id));
    }
    return c;
  }

  /** A container's output, line by line, into {@code buffer} and at debug level to {@code log}. */
  private static Consumer<OutputFrame> lines(StringBuffer buffer, Logger log) {
    return frame -> {
      String line = frame.getUtf8StringWithoutLineEnding();
      if (frame.getType() != OutputFrame.OutputType.END && !line.isEmpty()) {
        buffer.append(line).append('\n');
        log.debug("{}", line);
      }
    };
  }

  /**
   * A replica container on the cluster network: image, host name {@code name} (also its network
   * alias), replica {@code id}, listening on {@value PbftCluster#REPLICA_PORT} published at
   * 127.0.0.1:{@code hostPort}, its output to {@code consumer}, the cluster's label, JVM flags and
   * state options.
   */
  private GenericContainer<?> container(String name, int id, int hostPort, Consumer<OutputFrame> consumer) {
    GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(options.image))
        .withNetwork(network)
        .withNetworkAliases(name)
        .withLabel(PbftCluster.LABEL, clusterId)
        .withEnv("PBFT_CONFIG", "/pbft/config/cluster.yaml")
        .withEnv("PBFT_ID", String.valueOf(id))
        .withEnv("PBFT_LISTEN", "0.0.0.0:" + PbftCluster.REPLICA_PORT)
        .withEnv("PBFT_LOG_LEVEL", options.logLevel)
        .withCommand("replica")
        .withLogConsumer(consumer)
        .withCreateContainerCmdModifier(cmd -> {
          cmd.withName("pbft-" + clusterId + "-" + name).withHostName(name);
          // a fixed host port on the loopback interface only, kept across restarts
          cmd.withExposedPorts(ExposedPort.tcp(PbftCluster.REPLICA_PORT));
          cmd.getHostConfig().withPortBindings(new Ports(new PortBinding(
              Ports.Binding.bindIpAndPort("127.0.0.1", hostPort), ExposedPort.tcp(PbftCluster.REPLICA_PORT))));
          // the wait strategy and status() probe over gRPC; the image's JVM health check only costs CPU here
          cmd.withHealthcheck(new HealthCheck().withTest(List.of("NONE")));
        });
    if (options.javaOpts != null) {
      c.withEnv("PBFT_JAVA_OPTS", options.javaOpts);
    }
    if (options.inMemory) {
      c.withEnv("PBFT_DATA_DIR", "");
    }
    return c;
  }

  GenericContainer<?> get(int id) {
    return containers.get(id);
  }

  String networkId() {
    return network.getId();
  }

  DockerClient docker(int id) {
    return get(id).getDockerClient();
  }

  String containerId(int id) {
    return get(id).getContainerId();
  }

  /** What replica {@code id} has printed (stdout and stderr, across restarts). */
  String logs(int id) {
    StringBuffer b = logs.get(id);
    return b == null ? "" : b.toString();
  }

  /** Starts a stopped or killed replica's container again (same data volume) and waits until it is healthy. */
  void startAgain(int id) {
    startOnly(id);
    awaitHealthy(id);
  }

  /** Starts a stopped or killed replica's container again and returns at once. */
  void startOnly(int id) {
    docker(id).startContainerCmd(containerId(id)).exec();
    // the old log stream ended with the old process: follow again (Docker replays the whole log)
    logs.get(id).setLength(0);
    get(id).followOutput(logConsumers.get(id));
  }

  /** Waits until replica {@code id}'s gRPC health service answers SERVING. */
  void awaitHealthy(int id) {
    GrpcHealthWaitStrategy.await("127.0.0.1", files.hostPort(id),
        io.pbft.client.ClientTls.context(files.hostConfig(), null), options.startupTimeout, () -> isRunning(id),
        () -> "replica " + id + " logs:\n" + tail(logs(id), 40));
  }

  boolean isRunning(int id) {
    try {
      return Boolean.TRUE.equals(docker(id).inspectContainerCmd(containerId(id)).exec().getState().getRunning());
    } catch (RuntimeException e) {
      return false;
    }
  }

  boolean isPaused(int id) {
    try {
      return Boolean.TRUE.equals(docker(id).inspectContainerCmd(containerId(id)).exec().getState().getPaused());
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Waits (up to 30 s) until replica {@code id}'s container no longer runs. */
  void awaitNotRunning(int id) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (isRunning(id)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("container " + containerId(id) + " is still running");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
  }

  /**
   * Removes replica {@code id}'s container together with its data volume, as a machine fails with
   * its disk, and starts a new one for the same replica (configuration, key, TLS files, host name
   * and host port), waiting until it is healthy.
   */
  void replace(int id) {
    GenericContainer<?> old = get(id);
    if (old.getContainerId() != null && isPaused(id)) {
      old.getDockerClient().unpauseContainerCmd(old.getContainerId()).exec();
    }
    old.stop(); // removes the container and its anonymous volumes
    GenericContainer<?> fresh = define(id, files.containerConfig().toYaml().getBytes(StandardCharsets.UTF_8));
    containers.set(id, fresh);
    fresh.start();
  }

  /**
   * Starts a container for replica {@code id} under host name {@code name}, running {@code pbft
   * replica --join}: it learns the group's membership from the members, waits until an epoch names
   * it, and listens then (so nothing waits for its health here). {@code files} are copied under
   * /pbft/config (key files readable by the replica's user only); its port is published on
   * 127.0.0.1 at {@code hostPort}. Returns the container's log so far, read on demand.
   */
  java.util.function.Supplier<String> startJoining(String name, int id, int hostPort, Map<String, byte[]> files) {
    StringBuffer buffer = new StringBuffer();
    Logger replicaLog = LoggerFactory.getLogger("io.pbft.docker." + name);
    GenericContainer<?> c = container(name, id, hostPort, lines(buffer, replicaLog)).withEnv("PBFT_JOIN", "true");
    files.forEach((path, bytes) -> c.withCopyToContainer(path.endsWith(".key")
        ? new OwnedFile(bytes, 0400, PbftCluster.CONTAINER_UID) : Transferable.of(bytes, 0644), "/pbft/config/" + path));
    joining.add(c);
    c.start();
    return buffer::toString;
  }

  /** Copies {@code bytes} to {@code path} under /pbft/config in replica {@code id}'s container (a key file owner-only). */
  void copyInto(int id, String path, byte[] bytes) {
    get(id).copyFileToContainer(path.endsWith(".key") ? new OwnedFile(bytes, 0400, PbftCluster.CONTAINER_UID)
        : Transferable.of(bytes, 0644), "/pbft/config/" + path);
  }

  /** Removes the containers (with their volumes, paused ones unpaused first) and the network. */
  @Override
  public void close() {
    RuntimeException failure = null;
    for (GenericContainer<?> c : joining) {
      try {
        c.stop();
      } catch (RuntimeException e) {
        failure = failure == null ? e : failure;
      }
    }
    for (int id = 0; id < containers.size(); id++) {
      GenericContainer<?> c = containers.get(id);
      try {
        if (c.getContainerId() != null && isPaused(id)) {
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
    if (failure != null) {
      throw failure;
    }
  }

  static boolean dockerAvailable() {
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException | Error e) {
      return false;
    }
  }

  static boolean imageAvailable(String image) {
    try {
      DockerClientFactory.instance().client().inspectImageCmd(image).exec();
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** The last {@code lines} lines of {@code text}. */
  static String tail(String text, int lines) {
    String[] all = text.split("\n");
    int from = Math.max(0, all.length - lines);
    return String.join("\n", Arrays.asList(all).subList(from, all.length));
  }
}

package io.pbft.replica.runtime;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.core.Behaviour;
import io.pbft.replica.core.Effects;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.storage.WriteAheadLog;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.app.DurableStateMachine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Function;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replica process: the pure {@link ReplicaCore} on its event loop, a pool that verifies
 * signatures before events reach the loop, one outgoing gRPC stream per peer, client sessions,
 * the status RPC and gRPC health checking.
 */
public final class ReplicaServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReplicaServer.class);
  private static final long TICK_MS = 20;

  final int id;
  final ClusterConfig config;
  final Ed25519Keys keys;
  final InboundVerifier verifier;
  final ReplicaCore core;
  final StateMachine app;
  final EventLoop loop;
  final ThreadPoolExecutor verifyPool;
  final ClientSessions sessions;
  final Behaviour behaviour;
  private final Behaviour.Signing signing;
  private final PeerLink[] peers;
  private final ScheduledExecutorService scheduler;
  private final Server server;
  private final HealthStatusManager health = new HealthStatusManager();
  private final Map<String, AtomicLong> dropped = new ConcurrentHashMap<>();
  private volatile boolean closed;
  private final DurableStorage storage;
  private volatile String failure;

  private ReplicaServer(ClusterConfig config, int id, Ed25519Keys keys, StateMachine app, Behaviour behaviour,
      InetSocketAddress listen, DurableStorage storage) {
    this.id = id;
    this.storage = storage;
    this.behaviour = behaviour;
    this.signing = new Behaviour.Signing() {
      @Override
      public int replicaId() {
        return id;
      }

      @Override
      public io.pbft.proto.SignedMessage sign(io.pbft.proto.ReplicaMessage message) {
        byte[] payload = message.toByteArray();
        return io.pbft.proto.SignedMessage.newBuilder().setSender(id)
            .setPayload(ByteString.copyFrom(payload)).setSignature(ByteString.copyFrom(keys.sign(payload))).build();
      }
    };
    this.config = config;
    this.keys = keys;
    this.app = app;
    this.verifier = new InboundVerifier(config);
    this.core = new ReplicaCore(id, config.n(), config.f(), config.protocol(), keys, app, verifier::knownClient);
    if (storage != null) {
      core.enableDurability(storage);
      core.recover(storage.appSequence(), storage.clientTable(), storage.records());
    }
    this.loop = new EventLoop("pbft-loop-" + id, config.transport().inboundQueueMax(), this::dispatchEffects);
    int threads = config.transport().verifyThreads() > 0 ? config.transport().verifyThreads()
        : Runtime.getRuntime().availableProcessors();
    this.verifyPool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(config.transport().inboundQueueMax()), daemon("pbft-verify-" + id),
        (task, pool) -> drop("verification queue full"));
    this.sessions = new ClientSessions(config.transport().clientSessionsMax());
    this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("pbft-timers-" + id));
    this.peers = new PeerLink[config.n()];
    for (ReplicaInfo peer : config.replicas()) {
      if (peer.id() == id) {
        continue;
      }
      ManagedChannel channel = NettyChannelBuilder.forAddress(peer.host(), peer.port())
          .usePlaintext()
          .maxInboundMessageSize(config.transport().messageBytesMax())
          .build();
      peers[peer.id()] = new PeerLink(id, peer.id(), channel, scheduler, config.transport().peerQueueMax(),
          config.transport().reconnectDelayMs());
    }
    ReplicaInfo me = config.replica(id);
    this.server = NettyServerBuilder.forAddress(listen != null ? listen : new InetSocketAddress(me.host(), me.port()))
        .directExecutor() // handlers only hand work to bounded queues; they never block
        .maxInboundMessageSize(config.transport().messageBytesMax())
        .addService(new PeerService(this))
        .addService(new ClientService(this))
        .addService(health.getHealthService())
        .build();
  }

  /** Starts replica {@code id} of the cluster, loading its key from the configured key file. */
  public static ReplicaServer start(ClusterConfig config, int id, StateMachine app) throws IOException {
    return start(config, id, config.replicaKeys(id), app);
  }

  public static ReplicaServer start(ClusterConfig config, int id, Ed25519Keys keys, StateMachine app)
      throws IOException {
    return start(config, id, keys, app, Behaviour.HONEST);
  }

  /**
   * Starts a replica whose traffic passes through {@code behaviour}: {@link Behaviour#HONEST} for
   * a correct replica, a traitor from the chaos harness otherwise.
   */
  public static ReplicaServer start(ClusterConfig config, int id, Ed25519Keys keys, StateMachine app,
      Behaviour behaviour) throws IOException {
    return start(config, id, keys, app, behaviour, null);
  }

  /**
   * As above, listening on {@code listen} instead of the configured address (in a container the
   * replica listens on 0.0.0.0 while its peers dial it by the host name in the configuration).
   */
  public static ReplicaServer start(ClusterConfig config, int id, Ed25519Keys keys, StateMachine app,
      Behaviour behaviour, InetSocketAddress listen) throws IOException {
    return launch(new ReplicaServer(config, id, keys, app, behaviour, listen, null));
  }

  /**
   * Starts a durable replica: its state lives in {@code dataDir} (a write-ahead log and the
   * application made by {@code appFactory} in a subdirectory), so that it survives crashes. It
   * recovers what the directory holds, then catches up from its peers.
   *
   * @throws io.pbft.replica.storage.StorageException if the directory is locked by another
   *     process, belongs to another replica or cluster, or cannot be read
   */
  public static ReplicaServer startDurable(ClusterConfig config, int id, Ed25519Keys keys, Behaviour behaviour,
      InetSocketAddress listen, Path dataDir, Function<Path, DurableStateMachine> appFactory) throws IOException {
    return startDurable(config, id, keys, behaviour, listen, dataDir, appFactory, WriteAheadLog.Options.defaults());
  }

  /**
   * As above, with the write-ahead log's options (segment size, largest record, how segment
   * files are opened). A failed log write or fsync (disk full) stops the replica from taking
   * part: see {@link #failure()}.
   */
  public static ReplicaServer startDurable(ClusterConfig config, int id, Ed25519Keys keys, Behaviour behaviour,
      InetSocketAddress listen, Path dataDir, Function<Path, DurableStateMachine> appFactory,
      WriteAheadLog.Options walOptions) throws IOException {
    DurableStorage storage = DurableStorage.open(config, id, dataDir, appFactory, walOptions);
    try {
      return launch(new ReplicaServer(config, id, keys, storage.app(), behaviour, listen, storage));
    } catch (IOException | RuntimeException e) {
      storage.close();
      throw e;
    }
  }

  private static ReplicaServer launch(ReplicaServer r) throws IOException {
    int id = r.id;
    ClusterConfig config = r.config;
    r.loop.start();
    try {
      r.server.start();
    } catch (IOException | RuntimeException e) {
      r.close(); // release the pool, timers and peer channels the constructor made
      throw e;
    }
    // The core has no clock: time reaches it as ticks on its own loop.
    long origin = System.nanoTime();
    r.scheduler.scheduleAtFixedRate(
        () -> r.loop.submit(() -> r.core.tick((System.nanoTime() - origin) / 1_000_000)),
        TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    r.health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    log.info("replica {} of {} (f = {}) listening on {}", id, config.n(), config.f(), config.replica(id).address());
    return r;
  }

  public int id() {
    return id;
  }

  public int port() {
    return server.getPort();
  }

  /** Runs on the event loop after each burst of events: sends what the core produced. */
  private void dispatchEffects() {
    if (failure != null) {
      return;
    }
    Effects effects = core.takeEffects();
    if (effects.isEmpty()) {
      return;
    }
    if (storage != null) {
      try {
        storage.persist(effects); // durable before anything that depends on it leaves
      } catch (io.pbft.replica.storage.StorageException e) {
        fail("storage failure: " + e.getMessage());
        return;
      }
    }
    for (Effects.Outgoing out : behaviour.outgoing(effects.messages(), signing)) {
      long delay = behaviour.delayMs(out);
      if (delay > 0) {
        scheduler.schedule(() -> transmit(out), delay, TimeUnit.MILLISECONDS);
      } else {
        transmit(out);
      }
    }
    for (Effects.ClientReply reply : behaviour.replies(effects.replies(), signing)) {
      ClientSession session = sessions.get(reply.clientId());
      if (session == null || !session.reply(reply.reply())) {
        sessions.replyDropped();
      }
    }
  }

  private void transmit(Effects.Outgoing out) {
    if (out.broadcast()) {
      for (PeerLink p : peers) {
        if (p != null) {
          p.send(out.message());
        }
      }
    } else if (out.to() >= 0 && out.to() < peers.length && peers[out.to()] != null) {
      peers[out.to()].send(out.message());
    }
  }

  /**
   * Stops taking part: nothing more is sent or executed, health turns NOT_SERVING, the status RPC
   * reports why. What is on disk stays as it was (the log refuses further writes).
   */
  private void fail(String why) {
    failure = why;
    log.error("replica {} stops taking part: {}", id, why);
    health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
  }

  /** Why this replica stopped taking part, or null while it works. */
  public String failure() {
    return failure;
  }

  void drop(String reason) {
    dropped.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
  }

  /** Asks the event loop for a consistent view of the replica's state. */
  public CompletableFuture<StatusResponse> status() {
    CompletableFuture<StatusResponse> result = new CompletableFuture<>();
    if (!loop.submit(() -> result.complete(statusNow()))) {
      result.completeExceptionally(new IllegalStateException("replica " + id + " is saturated or stopping"));
    }
    return result;
  }

  private StatusResponse statusNow() {
    long peerDrops = 0;
    for (PeerLink p : peers) {
      if (p != null) {
        peerDrops += p.dropped();
      }
    }
    io.pbft.proto.Drops.Builder drops = io.pbft.proto.Drops.newBuilder()
        .setEventLoopFull(loop.dropped())
        .setRepliesWithoutSession(sessions.repliesDropped())
        .setPeerQueueFull(peerDrops);
    dropped.forEach((reason, count) -> drops.putByReason(reason, count.get()));
    return StatusResponse.newBuilder()
        .setReplicaId(id)
        .setView(core.view())
        .setPrimary(core.primary())
        .setLastExecuted(core.lastExecuted())
        .setLowWatermark(core.lowWatermark())
        .setStateDigest(ByteString.copyFrom(core.stateDigest()))
        .setReplicas(config.n())
        .setViewChanging(core.viewChanging())
        .setViewChangesStarted(core.viewChangesStarted())
        .setExecutedRequests(core.executedRequests())
        .setStateTransfers(core.stateTransfer().transfersCompleted())
        .setStateTransferBytes(core.stateTransfer().bytesFetched())
        .setDurable(storage != null)
        .setLogBytesOnDisk(storage != null ? storage.diskBytes() : 0)
        .setStorageFailed(failure != null)
        .setClientSessions(sessions.size())
        .setDropped(drops)
        .putAllRejected(core.rejections().snapshot())
        .build();
  }

  public boolean isClosed() {
    return closed;
  }

  /** Graceful stop: refuse new calls, let in-flight ones finish briefly, then force. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    health.enterTerminalState();
    server.shutdown();
    for (PeerLink p : peers) {
      if (p != null) {
        p.close();
      }
    }
    try {
      // Peer streams are long-lived and never finish by themselves: give in-flight client calls
      // a moment, then cancel what is left.
      if (!server.awaitTermination(500, TimeUnit.MILLISECONDS)) {
        server.shutdownNow();
        server.awaitTermination(2, TimeUnit.SECONDS);
      }
      for (PeerLink p : peers) {
        if (p != null) {
          p.awaitClosed();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    verifyPool.shutdownNow();
    scheduler.shutdownNow();
    loop.close();
    if (storage != null) {
      storage.close();
    }
    log.info("replica {} stopped", id);
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicLong n = new AtomicLong();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}

package io.pbft.replica.runtime;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.pbft.config.ClusterConfig;
import io.pbft.config.Membership;
import io.pbft.config.TransportSettings;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.PeerKeys;
import io.pbft.proto.PendingReconfiguration;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.core.Effects;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.execution.Epochs;
import io.pbft.replica.execution.Execution;
import io.pbft.replica.execution.ReadOnlyQueries;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.node.EffectApplier;
import io.pbft.replica.storage.WriteAheadLog;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.proto.SignedMessage;
import java.util.List;
import io.pbft.replica.app.DurableStateMachine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Function;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replica process. Its threads: the event loop, the only one that touches the pure
 * {@link ReplicaCore}; the execution thread, the only one that touches the application (through
 * {@link Execution}); a pool that verifies signatures before events reach the loop; gRPC's
 * network threads, which only hand work to bounded queues; and a timer thread that ticks the
 * core. Effects leave through one {@link EffectApplier}. Also one outgoing gRPC stream per peer,
 * client sessions, the status RPC and gRPC health checking.
 */
public final class ReplicaServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReplicaServer.class);
  /** Clients may ping at most this often (gRPC's default); more often, the connection is closed. */
  private static final int KEEPALIVE_PERMIT_SECONDS = 300;
  /** RST_STREAM frames a connection may send per window before it is closed (HTTP/2 rapid reset). */
  private static final int RST_FRAMES_PER_WINDOW = 2000;
  private static final int RST_WINDOW_SECONDS = 10;

  final int id;
  final ClusterConfig config;
  /** This replica's key in the current configuration epoch (a change may rotate it). */
  volatile Ed25519Keys keys;
  /** The key of epoch 0, which clients configured from cluster.yaml check session handshakes against. */
  final Ed25519Keys initialKeys;
  /** The verifier of the current configuration epoch (replaced on the event loop when an epoch ends). */
  volatile InboundVerifier verifier;
  /** The verifiers of the epochs this replica left, by epoch: for the replicas still in them. */
  private final Map<Long, InboundVerifier> retiredVerifiers = new ConcurrentHashMap<>();
  /** Keys of the clients' sessions, for the MACs of their requests ({@code authentication: macs}). */
  final SessionRequestKeys requestKeys = new SessionRequestKeys();
  /** The core of the current configuration epoch (replaced on the event loop when an epoch ends). */
  volatile ReplicaCore core;
  /**
   * The cores of the epochs this replica left, by epoch (event loop only): each answers replicas
   * still in its epoch with what they need to reach its end (docs/RECONFIGURATION.md).
   */
  private final java.util.TreeMap<Long, ReplicaCore> retired = new java.util.TreeMap<>();
  final Execution execution;
  final ExecutionThread executionThread;
  final EventLoop loop;
  /** Carries out the current core's effects (replaced with the core: it signs as that epoch's key). */
  private EffectApplier applier;
  /** Carries out retired cores' effects: no log records (their epochs are over). */
  private EffectApplier retiredApplier;
  private final long clockOrigin = System.nanoTime();
  final InboundPool verifyPool;
  final ClientSessions sessions;
  final Hygiene hygiene;
  final Behaviour behaviour;
  /**
   * The ids of the members of every epoch this replica ran or learned of (cluster.yaml's, the
   * epochs it entered or joined): the replicas whose certificates and streams it accepts. Replaced
   * whole; the verifier of each epoch then checks that a message's sender is a member of it.
   */
  private volatile java.util.Set<Integer> knownIds;

  /** The link to each peer by id (null for this replica and non-members); replaced whole when members change. */
  private volatile PeerLink[] peers;
  /** The address each link dials, by peer id (event loop, after the constructor). */
  private final String[] peerAddresses;
  /**
   * The membership of the epoch this replica's current core runs (event loop, after the
   * constructor): its peers' addresses, and the address this process was started at.
   */
  private volatile Membership running;
  /** Where peers and clients reach this process: its address in the epoch it started in. */
  private final String ownAddress;
  /**
   * Why this process no longer takes part because the replica it was moved to another address (a
   * replacement machine), or null. It still helps replicas finish the epoch it left.
   */
  private volatile String departed;
  /** TLS of the server and the peer channels; null with TLS off. */
  final ReplicaTls tls;
  private final ScheduledExecutorService scheduler;
  private final Server server;
  private final HealthStatusManager health = new HealthStatusManager();
  private final Map<String, AtomicLong> dropped = new ConcurrentHashMap<>();
  private volatile boolean closed;
  private final DurableStorage storage;
  private volatile String failure;
  /** Where the Prometheus endpoint listens: cluster.yaml's entry for this replica (none for one added later). */
  private final io.pbft.config.MetricsAddress metricsSettings;
  /** The Prometheus endpoint, once started; null when the configuration asks for none. */
  private volatile ReplicaMetrics metrics;

  private ReplicaServer(ClusterConfig config, int id, Ed25519Keys keys, StateMachine app, Behaviour behaviour,
      InetSocketAddress listen, DurableStorage storage, Joining joining) {
    this.id = id;
    this.storage = storage;
    this.behaviour = behaviour;
    this.config = config;
    this.laterEpochHintMs = laterEpochHints(Membership.ID_LIMIT);
    // This process carries out handovers: an accepted change takes effect at its checkpoint.
    this.execution = new Execution(app, storage != null ? storage : CheckpointStore.NONE,
        new Epochs(Membership.initial(config), config.protocol(), true));
    if (storage != null) {
      execution.recoverAt(storage.appSequence(), storage.clientTable());
    }
    // A replica added to the group after cluster.yaml was written has an id the file does not
    // list: what it runs before it resumes or joins its epoch is made for that epoch's members.
    ClusterConfig first = config.hasReplica(id) ? config : config.withMembership(epochNaming(id, joining));
    this.metricsSettings = config.hasReplica(id) ? config.replica(id).metrics()
        : joining != null ? joining.metrics() : null;
    this.knownIds = idsOf(Membership.initial(config), java.util.Set.of());
    this.tls = ReplicaTls.of(first, id); // first: bad TLS files stop the start before any thread does
    this.keys = keys;
    this.initialKeys = keys;
    // With MAC'd votes, pair keys with the other replicas: a fresh X25519 key per process, announced in
    // signed heartbeats; the start time as incarnation, so that peers take a restart's key over
    // the one before (and ignore replays of older announcements).
    PeerKeys peerKeys = pairKeys(first.idBound());
    this.verifier = new InboundVerifier(first, id, requestKeys, peerKeys, batchSecret());
    this.core = new ReplicaCore(id, first.replicas().stream().mapToInt(io.pbft.config.ReplicaInfo::id).toArray(),
        first.f(), config.protocol(), keys, verifier::knownClient);
    if (peerKeys != null) {
      core.useMacs(peerKeys);
    }
    core.wallClock(nowMs(), System.currentTimeMillis());
    MemoryBudget.check(first, id, Runtime.getRuntime().maxMemory());
    // Inline events only without a write-ahead log: a durable replica's effects end in an fsync, and
    // an inline event's effects run on the network thread that checked it, whose other connections
    // (peers, clients, status probes) would wait out the disk.
    this.loop = new EventLoop("pbft-loop-" + id, config.transport().inboundQueueMax(),
        config.transport().inboundQueueBytesMax(), config.transport().eventLoopBurstMax(),
        config.transport().clientRequestsVerifyingMax(), config.transport().eventLoopInline() && storage == null,
        this::dispatchEffects, this::fatal);
    this.executionThread = new ExecutionThread("pbft-exec-" + id, execution, new Execution.Reports() {
      @Override
      public void executed(io.pbft.replica.core.Executed e) {
        ReplicaMetrics m = metrics;
        if (m == null) {
          loop.submitInternal(() -> core.onExecuted(nowMs(), e));
        } else {
          long ranAt = System.nanoTime(); // when the batch ran, not when the loop hears of it
          loop.submitInternal(() -> {
            m.executed(e.sequence(), ranAt);
            core.onExecuted(nowMs(), e);
          });
        }
      }

      @Override
      public void installed(io.pbft.replica.core.StateInstalled s) {
        loop.submitInternal(() -> core.onStateInstalled(nowMs(), s));
      }

      @Override
      public void chunkRead(io.pbft.replica.core.StateChunkRead r) {
        loop.submitInternal(() -> coreServing(r.sequence()).onStateChunkRead(nowMs(), r));
      }
    }, this::fatal, new ReadOnlyQueries(id, behaviour::readOnlyResult), this::replyToClients,
        config.transport().clientSessionsMax(), config.protocol().tentativeExecution());
    this.running = Membership.initial(config);
    if (storage != null) {
      resumeEpoch(storage.appSequence(), storage.records(), joining);
    }
    if (joining != null && core.epoch() == 0 && execution.epochs().current().epoch() == 0
        && execution.lastExecuted() == 0) {
      joinEpoch(joining);
      if (storage != null) {
        // What an earlier attempt to join logged (its view, its votes), in the epoch it joins.
        core.recover(nowMs(), 0, execution.clientTable(), storage.records(), 0);
      }
    }
    this.ownAddress = running.member(id).address();
    this.readPosition = new ReadPosition(core.readFloor(), core.view());
    int threads = config.transport().verifyThreads() > 0 ? config.transport().verifyThreads()
        : Runtime.getRuntime().availableProcessors();
    this.verifyPool = new InboundPool(threads, config.transport().inboundQueueMax(),
        config.transport().inboundQueueBytesMax(), config.n(), config.transport().clientRequestsVerifyingMax(),
        daemon("pbft-verify-" + id), verifier::checkTogether, InboundVerifier.TOGETHER_MIN, InboundVerifier.TOGETHER_MAX);
    this.sessions = new ClientSessions(config.transport().clientSessionsMax(), config.transport().sessionsPerClientMax());
    this.hygiene = new Hygiene(id, config.transport(), sessions, config.tls().enabled());
    this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("pbft-timers-" + id));
    this.peers = new PeerLink[Membership.ID_LIMIT];
    this.peerAddresses = new String[Membership.ID_LIMIT];
    followPeers(running);
    this.applier = applierFor(storage != null ? storage::persist : EffectApplier.Storage.NONE,
        Behaviour.Signing.of(id, this.keys, core.epoch()));
    this.retiredApplier = applierFor(EffectApplier.Storage.NONE, Behaviour.Signing.of(id, this.keys, core.epoch()), true);
    io.pbft.config.Member me = running.member(id);
    TransportSettings t = config.transport();
    NettyServerBuilder serverBuilder = NettyServerBuilder.forAddress(
        listen != null ? listen : new InetSocketAddress(me.host(), me.port()));
    if (tls != null) {
      // gRPC runs the interceptor added last first: connection accounting wraps the identity check
      serverBuilder.sslContext(tls.serverContext()).intercept(new TransportIdentity(config, this::knownReplica));
    }
    this.server = serverBuilder
        // Handlers hand work to bounded queues, or run the core inline (never the disk): they never block.
        .directExecutor()
        .maxInboundMessageSize(t.messageBytesMax())
        // Connection hygiene (see Hygiene): caps on connections at accept, per address and in
        // total; streams per connection; HTTP/2 started within the handshake timeout; a
        // connection without calls closed after the idle timeout; pings and resets bounded.
        .channelFactory(hygiene.connections.serverChannels())
        .bossEventLoopGroup(hygiene.connections.boss)
        .workerEventLoopGroup(hygiene.connections.workers)
        .intercept(hygiene.connections.interceptor())
        .maxConcurrentCallsPerConnection(t.streamsPerConnectionMax())
        .handshakeTimeout(t.handshakeTimeoutMs(), TimeUnit.MILLISECONDS)
        .maxConnectionIdle(t.idleTimeoutMs(), TimeUnit.MILLISECONDS)
        .permitKeepAliveTime(KEEPALIVE_PERMIT_SECONDS, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(false)
        .maxRstFramesPerWindow(RST_FRAMES_PER_WINDOW, RST_WINDOW_SECONDS)
        .addService(new PeerService(this))
        .addService(new ClientService(this))
        .addService(health.getHealthService())
        .build();
    hygiene.start();
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
    return start(config, id, keys, app, behaviour, listen, null);
  }

  /**
   * As above; {@code joining} (null for none) is the membership of a later epoch this replica
   * joins without its state, as the machine a member was moved to ({@link Joining}).
   */
  public static ReplicaServer start(ClusterConfig config, int id, Ed25519Keys keys, StateMachine app,
      Behaviour behaviour, InetSocketAddress listen, Joining joining) throws IOException {
    return launch(new ReplicaServer(config, id, keys, app, behaviour, listen, null, joining));
  }

  /**
   * A later configuration epoch that a replica without state joins: the machine a member was moved
   * to, or a member added to the group (docs/RECONFIGURATION.md). It learns {@code membership} from the running group, checked
   * link by link from cluster.yaml's administration keys, and starts in it at view {@code view},
   * with {@code genesis} the checkpoint the epoch began at (what most members report). It listens
   * at the address the membership names for it and takes the group's state at the genesis by state
   * transfer ({@link ReplicaCore#joinEpoch}). Ignored when the replica's data directory already
   * holds state: that resumes the epoch it was written in. A replica added to the group after
   * cluster.yaml was written, which the file does not list, serves Prometheus metrics at {@code
   * metrics} (null: none).
   */
  public record Joining(Membership membership, long view, long genesis, io.pbft.config.MetricsAddress metrics) {
    /** Serving metrics where cluster.yaml's entry for the replica says (none for a replica it does not list). */
    public Joining(Membership membership, long view, long genesis) {
      this(membership, view, genesis, null);
    }
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
    return startDurable(config, id, keys, behaviour, listen, dataDir, appFactory, walOptions, null);
  }

  /** As above, joining a later epoch when the data directory holds no state yet (see {@link Joining}). */
  public static ReplicaServer startDurable(ClusterConfig config, int id, Ed25519Keys keys, Behaviour behaviour,
      InetSocketAddress listen, Path dataDir, Function<Path, DurableStateMachine> appFactory,
      WriteAheadLog.Options walOptions, Joining joining) throws IOException {
    DurableStorage storage = DurableStorage.open(config, id, dataDir, appFactory, walOptions);
    try {
      return launch(new ReplicaServer(config, id, keys, storage.app(), behaviour, listen, storage, joining));
    } catch (IOException | RuntimeException e) {
      storage.close();
      throw e;
    }
  }

  private static ReplicaServer launch(ReplicaServer r) throws IOException {
    int id = r.id;
    ClusterConfig config = r.config;
    r.executionThread.start();
    r.loop.start();
    try {
      r.server.start();
      r.metrics = ReplicaMetrics.start(r, r.metricsSettings);
    } catch (IOException | RuntimeException e) {
      r.close(); // release the pool, timers, peer channels and gRPC server made so far
      throw e;
    }
    if (r.metrics != null && r.storage != null) {
      r.storage.onSync(r.metrics::walSynced);
    }
    // The core has no clock: time reaches it with every event, and as ticks on its own loop every
    // transport.tickMs.
    long tickMs = config.transport().tickMs();
    r.scheduler.scheduleAtFixedRate(() -> r.loop.submit(() -> {
          long now = r.nowMs();
          r.core.wallClock(now, System.currentTimeMillis());
          r.core.tick(now);
          for (ReplicaCore old : r.retired.values()) {
            old.wallClock(now, System.currentTimeMillis());
            old.tick(now);
          }
        }),
        tickMs, tickMs, TimeUnit.MILLISECONDS);
    // Effects of the recovery (batches to replay, fetches) go out once everything runs.
    r.loop.submitInternal(() -> { });
    if (r.tls != null) {
      r.tls.startWatching(r.scheduler);
    }
    r.health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    log.info("replica {} of {} (f = {}) listening on {}{}", id, config.n(), config.f(), r.ownAddress,
        r.tls == null ? " (plaintext: TLS is off)" : " (TLS, certificate serial "
            + r.tls.certificate().getSerialNumber().toString(16) + ")");
    return r;
  }

  public int id() {
    return id;
  }

  public int port() {
    return server.getPort();
  }

  /** The port of the Prometheus endpoint (the one found for port 0), or -1 without one. */
  public int metricsPort() {
    ReplicaMetrics m = metrics;
    return m == null ? -1 : m.port();
  }

  /**
   * Hands a verified client request to the core, on the event loop; with metrics on, its arrival
   * is stamped first, for the request-to-pre-prepare phase.
   */
  void onRequest(io.pbft.replica.verify.VerifiedRequest r, boolean sentToAll) {
    ReplicaMetrics m = metrics;
    if (m != null) {
      m.requestArrived(r);
    }
    core.onRequest(nowMs(), r, sentToAll);
  }

  /** Milliseconds since this replica started: the time every event carries into the core. */
  long nowMs() {
    return (System.nanoTime() - clockOrigin) / 1_000_000;
  }

  /** Answers to read-only requests, from the execution thread: through the behaviour to the sessions. */
  private void replyToClients(java.util.List<Effects.ClientReply> replies) {
    applier.reply(replies);
  }

  /** What a read-only request needs of the core: its read floor and view after the last burst. */
  record ReadPosition(long floor, long view) {}

  /**
   * Published after each burst, before its messages leave: a COMMIT this replica sends is for a
   * sequence number at or below the floor published before it.
   */
  private volatile ReadPosition readPosition;

  /**
   * A verified read-only request: handed to the execution thread with the read floor and view of
   * the last burst (never to the core). False if too many reads wait there already.
   */
  boolean onReadOnly(io.pbft.replica.verify.VerifiedRequest r) {
    ReadPosition p = readPosition;
    return executionThread.read(r, p.floor(), p.view());
  }

  /** The current core's view after the last burst (any thread). */
  long viewPublished() {
    return readPosition.view();
  }

  /** Where the core stood after the last burst, for the verification pool's cheap filter. */
  private volatile io.pbft.replica.verify.Position position = io.pbft.replica.verify.Position.ANY;

  io.pbft.replica.verify.Position position() {
    return position;
  }

  /** Runs on the event loop after each burst of events: carries out what the core produced. */
  private void dispatchEffects() {
    if (failure != null) {
      return;
    }
    for (ReplicaCore old : retired.values()) {
      Effects e = old.takeEffects();
      if (!e.isEmpty()) {
        retiredApplier.apply(e);
      }
    }
    if (core.epochEnded() && departed == null) {
      // The old core's last effects (its checkpoint, the log compacted at the handover) first.
      Effects last = core.takeEffects();
      try {
        applier.apply(last);
        enterNextEpoch();
      } catch (io.pbft.replica.storage.StorageException e) {
        fail("storage failure: " + e.getMessage());
        return;
      } catch (RuntimeException e) {
        fail("cannot enter the next configuration epoch: " + e.getMessage());
        return;
      }
    }
    position = new io.pbft.replica.verify.Position(core.view(), core.viewChanging(), core.lowWatermark(),
        core.lastExecuted(), config.protocol().windowSize());
    readPosition = new ReadPosition(core.readFloor(), core.view());
    Effects effects = core.takeEffects();
    ReplicaMetrics m = metrics;
    if (m != null) {
      m.effectsTaken(effects);
    }
    if (effects.isEmpty()) {
      return;
    }
    try {
      applier.apply(effects); // durable before anything that depends on it leaves
    } catch (io.pbft.replica.storage.StorageException e) {
      fail("storage failure: " + e.getMessage());
    }
  }

  /** Carries out a core's effects: log records to {@code storage}, signed (by a traitor) as {@code signing}. */
  private EffectApplier applierFor(EffectApplier.Storage storage, Behaviour.Signing signing) {
    return applierFor(storage, signing, false);
  }

  /**
   * As above; {@code retired}: for the cores of epochs this replica left, whose messages go to a
   * moved peer at its former address (the process still there may be catching up in that epoch).
   */
  private EffectApplier applierFor(EffectApplier.Storage storage, Behaviour.Signing signing, boolean retired) {
    return new EffectApplier(storage, executionThread::submit, behaviour, signing,
        new EffectApplier.Transport() {
          @Override
          public void send(Effects.Outgoing out) {
            transmit(out, retired);
          }

          @Override
          public void sendLater(Effects.Outgoing out, long delayMs) {
            scheduler.schedule(() -> transmit(out, retired), delayMs, TimeUnit.MILLISECONDS);
          }
        },
        (clientId, reply) -> {
          ClientSession session = sessions.get(clientId);
          if (session == null || !session.reply(reply)) {
            sessions.replyDropped();
          }
        });
  }

  // ---------------------------------------------------------------- configuration epochs

  /**
   * Checks a peer's message with the verifier of the epoch it names: the current one, or that of
   * an epoch this replica left (a peer still in it is catching up). A message of a later epoch
   * cannot be checked here (its keys are not known yet): it tells this replica that it is behind,
   * and its core sends that peer a heartbeat at once, which the peer's core of this epoch answers.
   */
  Verdict<VerifiedMessage> verify(SignedMessage message) {
    InboundVerifier current = verifier;
    Verdict<VerifiedMessage> verdict = current.verify(message, position());
    if (verdict.isOk() || (verdict.reason() != io.pbft.replica.verify.Rejection.WRONG_EPOCH
        && verdict.reason() != io.pbft.replica.verify.Rejection.BAD_SIGNATURE
        && verdict.reason() != io.pbft.replica.verify.Rejection.BAD_PEER_MAC)) {
      return verdict;
    }
    // Refused by this epoch's verifier: a message of another epoch is refused for its epoch, or
    // for its signature or MACs when its sender's key changed since (the check comes first).
    io.pbft.proto.ReplicaMessage body = current.parse(message.getPayload()).message();
    if (body == null || body.getEpoch() == current.epoch()) {
      return verdict;
    }
    InboundVerifier older = retiredVerifiers.get(body.getEpoch());
    if (older != null) {
      return older.verify(message, io.pbft.replica.verify.Position.ANY);
    }
    int sender = message.getSender();
    Verdict<VerifiedMessage> otherEpoch = Verdict.rejected(io.pbft.replica.verify.Rejection.WRONG_EPOCH,
        "a message of epoch " + body.getEpoch() + " at epoch " + current.epoch());
    if (body.getEpoch() > current.epoch() && sender >= 0 && sender < laterEpochHintMs.length() && sender != id) {
      // Unchecked (its keys are not known here), so at most a few a second per claimed sender
      // reach the loop, whose core answers each with one heartbeat.
      long now = nowMs();
      long last = laterEpochHintMs.get(sender);
      if (now - last >= LATER_EPOCH_HINT_EVERY_MS && laterEpochHintMs.compareAndSet(sender, last, now)) {
        loop.submitInternal(() -> core.peerInLaterEpoch(nowMs(), sender));
      }
    }
    // Of an epoch this replica has no keys for: refused for its epoch (a rotated sender's
    // signature under a later epoch's key fails the check against this one's, which says nothing).
    return otherEpoch;
  }

  /** When a message of a later epoch from each peer last reached the loop (see {@link #verify}). */
  private final java.util.concurrent.atomic.AtomicLongArray laterEpochHintMs;
  private static final long LATER_EPOCH_HINT_EVERY_MS = 250;

  private static java.util.concurrent.atomic.AtomicLongArray laterEpochHints(int n) {
    java.util.concurrent.atomic.AtomicLongArray a = new java.util.concurrent.atomic.AtomicLongArray(n);
    for (int i = 0; i < a.length(); i++) {
      a.set(i, Long.MIN_VALUE / 2);
    }
    return a;
  }

  /** A verified peer message, on the event loop: to the core of the epoch it names. */
  void onPeerMessage(VerifiedMessage m) {
    long epoch = m.message().getEpoch();
    ReplicaCore current = core;
    if (epoch == current.epoch()) {
      current.onMessage(nowMs(), m);
    } else {
      ReplicaCore old = retired.get(epoch);
      if (old != null) {
        old.onMessage(nowMs(), m);
      }
    }
  }

  /** The core a chunk of checkpoint {@code sequence} was read for: a retired one for its own epoch's end. */
  private ReplicaCore coreServing(long sequence) {
    for (ReplicaCore old : retired.descendingMap().values()) {
      if (sequence > old.genesis() && sequence <= old.handoverAt()) {
        return old;
      }
    }
    return core;
  }

  /**
   * The current core's epoch ended at its handover checkpoint: the executor's state there is the
   * next epoch's. That epoch's core starts at the checkpoint, in the view the batch there was
   * proposed in, with this replica's key in it (a rotated key is read from its replacement key
   * file), a fresh pair key and a verifier of the new members' keys; the old core retires and
   * keeps helping replicas still in its epoch. On the event loop.
   */
  private void enterNextEpoch() {
    ReplicaCore old = core;
    Execution.Switched s = execution.switched();
    if (s == null || s.sequence() != old.handoverAt() || s.membership().epoch() != old.epoch() + 1) {
      throw new IllegalStateException("epoch " + old.epoch() + " ended at " + old.handoverAt()
          + " but the executor switched " + (s == null ? "never" : "to epoch " + s.membership().epoch() + " at "
          + s.sequence()));
    }
    Membership next = s.membership();
    knownIds = idsOf(next, knownIds);
    if (!next.hasMember(id)) {
      depart(old, "replica " + id + " was removed from the group in epoch " + next.epoch() + " (members "
          + next.ids() + ")");
      return;
    }
    if (!next.member(id).address().equalsIgnoreCase(ownAddress)) {
      depart(old, "replica " + id + " moved to " + next.member(id).address() + " in epoch " + next.epoch()
          + " (this process is at " + ownAddress + ")");
      return;
    }
    Started started = startCore(next);
    started.core().startEpoch(next.epoch(), s.sequence(), old.lastStableCheckpointDigest(), s.clientTable(),
        s.firstView());
    // What the old core held and did not order goes on in the new one (as sent to every replica:
    // clients do), so that its clients do not wait for a retransmission.
    for (io.pbft.replica.verify.VerifiedRequest r : old.unexecutedRequests()) {
      started.core().onRequest(nowMs(), r, true);
    }
    retired.put(old.epoch(), old);
    retiredVerifiers.put(old.epoch(), verifier);
    verifier = started.verifier();
    keys = started.keys();
    core = started.core();
    running = next;
    followPeers(next);
    serveCertificateOf(next);
    applier = applierFor(storage != null ? storage::persist : EffectApplier.Storage.NONE,
        Behaviour.Signing.of(id, keys, next.epoch()));
    log.info("replica {}: epoch {} begins at checkpoint {} in view {}: n = {}, f = {}{}", id, next.epoch(),
        s.sequence(), s.firstView(), next.n(), next.f(),
        java.util.Arrays.equals(keys.publicKey(), old == null ? null : initialKeys.publicKey()) ? ""
            : ", signing with key " + io.pbft.crypto.Digests.hex(keys.publicKey()).substring(0, 16) + "...");
  }

  /**
   * With TLS on, new connections are shown the certificate epoch {@code m} names for this replica
   * (a rotation's, read from the replacement files {@code pbft keygen --replacing} wrote next to
   * its key). One that cannot be found or checked is logged and the certificate in use stays: peers
   * trust any of the cluster CA's certificates that names this replica, so the group goes on.
   */
  private void serveCertificateOf(Membership m) {
    if (tls == null || !m.hasMember(id)) {
      return;
    }
    String problem = tls.serve(m.member(id).tlsCertificate(), io.pbft.config.ClusterSetup.replacementDir(config, id));
    if (problem != null) {
      log.error("replica {}: epoch {} names another TLS certificate for this replica, which it cannot serve ({}); it "
          + "keeps the one in use", id, m.epoch(), problem);
    }
  }

  /**
   * Starts this replica, which holds no state, in the later epoch it joins (see {@link Joining}):
   * its core of that epoch waits at sequence 0 for the group's next stable checkpoint there and
   * fetches the state. In the constructor.
   */
  private void joinEpoch(Joining joining) {
    Membership m = joining.membership();
    if (!m.hasMember(id)) {
      throw new IllegalArgumentException("epoch " + m.epoch() + " has no replica " + id + " (members " + m.ids() + ")");
    }
    Started started = startCore(m);
    started.core().joinEpoch(m.epoch(), joining.view(), joining.genesis());
    verifier = started.verifier();
    keys = started.keys();
    core = started.core();
    running = m;
    serveCertificateOf(m);
    log.info("replica {}: joins configuration epoch {} at {} without state", id, m.epoch(), m.member(id).address());
  }

  /**
   * The epoch that begins names another address for this replica: it was moved to another machine,
   * which takes part from now on. This process takes no further part; its ended core stays to help
   * replicas still in the epoch it left, and the process stops after {@link #DEPARTED_GRACE_MS}.
   * On the event loop.
   */
  private void depart(ReplicaCore old, String why) {
    retired.put(old.epoch(), old);
    retiredVerifiers.put(old.epoch(), verifier);
    departed = why;
    log.warn("replica {}: {}: this process takes no further part, and stops in {} s", id, why,
        DEPARTED_GRACE_MS / 1000);
    health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
    try {
      scheduler.schedule(() -> {
        Thread stopper = new Thread(this::close, "pbft-stop-" + id);
        stopper.setDaemon(true);
        stopper.start();
      }, DEPARTED_GRACE_MS, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // stopping already
    }
  }

  /** How long a replica whose member moved away keeps helping laggards before it stops. */
  static final long DEPARTED_GRACE_MS = 10_000;

  /** Why this process stopped taking part because its member moved to another machine, or null. */
  public String departed() {
    return departed;
  }

  /**
   * Links to the peers of membership {@code m}: a peer at a new address, or new in the group, is
   * dialled there; the link to a moved peer's old address, or to a removed member, serves only this
   * replica's retired cores for a while ({@link #formerLinks}: the process there finishes the epoch
   * it leaves), then closes. In the constructor, then on the event loop.
   */
  private void followPeers(Membership m) {
    PeerLink[] next = peers.clone();
    java.util.List<PeerLink> former = new java.util.ArrayList<>();
    for (int p = 0; p < next.length; p++) {
      if (next[p] != null && !m.hasMember(p)) {
        log.info("replica {}: peer {} at {} is no longer a member (epoch {})", id, p, peerAddresses[p], m.epoch());
        former.add(next[p]);
        next[p] = null;
        peerAddresses[p] = null;
      }
    }
    for (io.pbft.config.Member peer : m.members()) {
      int p = peer.id();
      if (p == id || p < 0 || p >= next.length || peer.address().equalsIgnoreCase(peerAddresses[p])) {
        continue;
      }
      // With TLS: mutual, this replica's certificate shown, the peer's checked against the CA and
      // against the host name it is dialled at.
      NettyChannelBuilder builder = NettyChannelBuilder.forAddress(peer.host(), peer.port());
      if (config.transport().networkThreads() > 0) {
        hygiene.connections.peerChannel(builder); // on the replica's own network threads
      }
      if (tls != null) {
        builder.sslContext(tls.peerContext());
      } else {
        builder.usePlaintext();
      }
      ManagedChannel channel = builder
          .maxInboundMessageSize(config.transport().messageBytesMax())
          .build();
      if (next[p] != null) {
        former.add(next[p]);
        log.info("replica {}: peer {} moved from {} to {}", id, p, peerAddresses[p], peer.address());
      }
      next[p] = new PeerLink(id, p, channel, scheduler, config.transport().peerQueueMax(),
          config.transport().peerQueueBytesMax(), config.transport().reconnectDelayMs());
      peerAddresses[p] = peer.address();
    }
    peers = next;
    for (PeerLink link : former) {
      PeerLink before = formerLinks.put(link.peer(), link);
      if (before != null) {
        before.close();
      }
      try {
        scheduler.schedule(() -> {
          if (formerLinks.remove(link.peer(), link)) {
            link.close();
          }
        }, FORMER_LINK_GRACE_MS, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        link.close(); // stopping
      }
    }
  }

  /**
   * For a replica cluster.yaml does not list (added to the group later): the membership of the
   * epoch it joins, or of the epoch its data directory's state is in; refused if neither names it.
   */
  private Membership epochNaming(int replicaId, Joining joining) {
    Membership m = joining != null && execution.lastExecuted() == 0 ? joining.membership() : execution.epochs().current();
    if (m == null || !m.hasMember(replicaId)) {
      throw new io.pbft.config.ConfigException("replica " + replicaId + " is not in cluster.yaml (ids "
          + config.replicas().stream().map(io.pbft.config.ReplicaInfo::id).toList() + ")"
          + (joining != null ? ", nor in the epoch it joins (" + joining.membership().ids() + ")"
              : ", and its data directory holds no configuration epoch naming it: start a replica added to the "
                  + "group with --join"));
    }
    return m;
  }

  /** {@code known} and the member ids of {@code m}. */
  private static java.util.Set<Integer> idsOf(Membership m, java.util.Set<Integer> known) {
    java.util.Set<Integer> ids = new java.util.HashSet<>(known);
    ids.addAll(m.ids());
    return java.util.Set.copyOf(ids);
  }

  /**
   * Whether {@code replicaId} is a member of an epoch this replica knows, or of the change pending
   * in its state (a member being added dials its peers as soon as it learns its epoch): who may
   * open a peer stream. Any thread.
   */
  boolean knownReplica(int replicaId) {
    if (knownIds.contains(replicaId)) {
      return true;
    }
    Epochs.Pending pending = execution.epochs().summary().pending();
    return pending != null && pending.next().hasMember(replicaId);
  }

  /** A core for epoch {@code m} and what it runs with, not started yet. */
  private record Started(ReplicaCore core, InboundVerifier verifier, Ed25519Keys keys) {}

  /** Builds the core of epoch {@code m} for this replica, with its key, pair keys and verifier there. */
  private Started startCore(Membership m) {
    Ed25519Keys epochKeys = keyFor(m.member(id).publicKey());
    PeerKeys peerKeys = pairKeys(m.idBound());
    InboundVerifier v = verifier.forEpoch(m.epoch(), config.withMembership(m), peerKeys);
    knownIds = idsOf(m, knownIds);
    ReplicaCore c = new ReplicaCore(id, m.idArray(), m.f(), config.protocol(), epochKeys, v::knownClient);
    if (peerKeys != null) {
      c.useMacs(peerKeys);
    }
    if (storage != null) {
      c.enableDurability();
    }
    c.wallClock(nowMs(), System.currentTimeMillis());
    return new Started(c, v, epochKeys);
  }

  /**
   * This replica's private key for public key {@code publicKey}: its current one, or the next key
   * prepared for it ({@code pbft keygen --add-to DIR --replacing ID} writes it to
   * replacements/replica-ID/keys/replica-ID.key under the configuration's directory).
   */
  private Ed25519Keys keyFor(byte[] publicKey) {
    for (Ed25519Keys k : List.of(keys, initialKeys)) {
      if (java.util.Arrays.equals(k.publicKey(), publicKey)) {
        return k;
      }
    }
    Path file = io.pbft.config.ClusterSetup.replacementKeyFile(config, id);
    if (!java.nio.file.Files.exists(file)) {
      throw new IllegalStateException("the new epoch names key " + io.pbft.crypto.Digests.hex(publicKey)
          + " for replica " + id + ", and its private key is not at " + file);
    }
    Ed25519Keys k = io.pbft.config.KeyFiles.read(file);
    if (!java.util.Arrays.equals(k.publicKey(), publicKey)) {
      throw new IllegalStateException(file + " holds key " + io.pbft.crypto.Digests.hex(k.publicKey())
          + ", but the new epoch names " + io.pbft.crypto.Digests.hex(publicKey) + " for replica " + id);
    }
    return k;
  }

  /**
   * At a restart: builds the core of the epoch the durable log was written in (the application's
   * state names the current epoch; a replica that crashed after executing the handover checkpoint
   * and before its core saw it stable resumes the epoch before, which then ends as usual) and
   * recovers it from the log, whose other epochs' records it skips.
   */
  private void resumeEpoch(long appSequence, List<io.pbft.proto.WalRecord> records, Joining joining) {
    Epochs.Resume at = execution.epochs().resume(appSequence, ReplicaCore.epochOfLog(records));
    if (at.membership() != null && !at.membership().hasMember(id)) {
      throw new io.pbft.replica.storage.StorageException("the data directory is in configuration epoch "
          + at.membership().epoch() + ", which has no replica " + id + " (members " + at.membership().ids()
          + "): the replica was removed from the group, and this data directory is of no further use");
    }
    if (at.membership() != null) {
      Started started = startCore(at.membership());
      // The state digest where the epoch began, when the application is there; else its log's
      // stable point gives it back.
      com.google.protobuf.ByteString genesisDigest = appSequence == at.genesis() ? execution.stateDigest()
          : com.google.protobuf.ByteString.EMPTY;
      started.core().startEpoch(at.membership().epoch(), at.genesis(), genesisDigest, execution.clientTable(),
          at.firstView());
      verifier = started.verifier();
      keys = started.keys();
      core = started.core();
      running = at.membership();
      serveCertificateOf(at.membership());
      log.info("replica {}: resumes configuration epoch {} (began at checkpoint {})", id, at.membership().epoch(),
          at.genesis());
    } else if (joining != null && appSequence == 0) {
      return; // nothing here yet: the replica joins the later epoch (see joinEpoch)
    } else {
      if (!java.util.Arrays.equals(keys.publicKey(), config.replica(id).publicKey())) {
        // Started with a rotated key (the one cluster.yaml names is gone), but the state is still
        // in epoch 0, where this replica signs with that one: it could take no part.
        throw new io.pbft.replica.storage.StorageException("the data directory is in epoch 0, whose key for replica "
            + id + " is the one cluster.yaml names (" + config.replica(id).keyFile() + "), not the rotated key this "
            + "replica was started with");
      }
      core.enableDurability();
    }
    core.recover(nowMs(), appSequence, execution.clientTable(), records, at.handoverAt());
  }

  /**
   * A broken invariant (in the core or the executor): the replica's state can no longer be
   * trusted. It stops for good; {@code pbft replica} then exits non-zero with the reason, so that
   * a supervisor restarts it and recovery runs from the durable log.
   */
  private void fatal(RuntimeException e) {
    fail("internal invariant broken: " + e.getMessage());
    fatal = e;
    Thread stopper = new Thread(this::close, "pbft-stop-" + id);
    stopper.setDaemon(true);
    stopper.start();
  }

  private volatile RuntimeException fatal;

  /** The broken invariant that stopped this replica, or null. */
  public RuntimeException fatalError() {
    return fatal;
  }

  private void transmit(Effects.Outgoing out, boolean retired) {
    PeerLink[] links = peers;
    if (out.broadcast()) {
      for (int p = 0; p < links.length; p++) {
        PeerLink link = retired ? formerLinks.getOrDefault(p, links[p]) : links[p];
        if (link != null) {
          link.send(out.message());
        }
      }
    } else if (out.to() >= 0 && out.to() < links.length) {
      PeerLink link = retired ? formerLinks.getOrDefault(out.to(), links[out.to()]) : links[out.to()];
      if (link != null) {
        link.send(out.message());
      }
    }
  }

  /**
   * The link to each moved peer's former address, for {@link #FORMER_LINK_GRACE_MS} after the move:
   * the process there finishes the epoch it is in through this replica's retired cores (it steps
   * down at the handover only once it learns the handover checkpoint is stable).
   */
  private final Map<Integer, PeerLink> formerLinks = new ConcurrentHashMap<>();
  static final long FORMER_LINK_GRACE_MS = 60_000;

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

  /**
   * This process's pair keys for MAC'd votes, for peers with ids below {@code idBound}, or null
   * when votes are signed ({@link ClusterConfig#peerMacs}).
   */
  private PeerKeys pairKeys(int idBound) {
    return config.peerMacs() ? PeerKeys.generate(id, idBound, new SecureRandom(), System.currentTimeMillis()) : null;
  }

  /** Random bytes this replica keeps to itself, keying the coefficients of signatures checked together. */
  private static byte[] batchSecret() {
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    return secret;
  }

  /**
   * Peers' messages and clients' requests the core ran on the thread that checked them, finding
   * the event loop idle ({@code transport.eventLoopInline}).
   */
  public long eventsRunInline() {
    return loop.ranInline();
  }

  /** Event loop backlog under which a cheaply checked message may be checked where it was read. */
  static final int INLINE_CHECK_LOOP_BACKLOG_MAX = 8;

  /**
   * Whether a message whose check is cheap (one HMAC, or a small signed message) may be checked on
   * the network thread that read it instead of a verification thread: only while nothing waits for
   * verification and the event loop is nearly idle. A lone client's request and the PRE-PREPARE,
   * PREPAREs and COMMITs of its batch then cross one thread fewer each (PERFORMANCE.md), and, with
   * transport.eventLoopInline, the core runs on that thread as well; under load, and under any
   * flood, every message takes its fair turn in the pool as before.
   */
  boolean checkInline() {
    return loop.queued() < INLINE_CHECK_LOOP_BACKLOG_MAX && verifyPool.idle();
  }

  /**
   * Asks for {@code stream}'s next message after {@code delayNanos} (at least a tenth of a
   * millisecond): the stream's sender is paused meanwhile by HTTP/2 flow control.
   */
  void readLater(GuardedStream stream, long delayNanos) {
    try {
      scheduler.schedule(stream::request, Math.max(100_000, delayNanos), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // stopping: nothing more is read
    }
  }

  /** Runs a check on the network thread; a bug in it is logged and costs this message only. */
  void runInline(Runnable check) {
    try {
      check.run();
    } catch (RuntimeException e) {
      drop("internal error in a check");
      log.error("replica {}: check on a network thread failed", id, e);
    }
  }

  void drop(String reason) {
    dropped.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
  }

  /**
   * Asks the event loop for the protocol's state, then the execution thread for how far execution
   * got and the state digest there (the two always match each other; both include a batch run
   * tentatively, which {@code last_executed_tentative} then says).
   */
  public CompletableFuture<StatusResponse> status() {
    return metricsSample().thenApply(MetricsSample::status);
  }

  /**
   * What a metrics scrape reads: the status, and the client requests the primary holds for its
   * next batches (the core's, so read on the event loop with the rest).
   */
  record MetricsSample(StatusResponse status, int pendingRequests) {}

  /** The status (see {@link #status()}) and what else the metrics read on the event loop. */
  CompletableFuture<MetricsSample> metricsSample() {
    record OnLoop(StatusResponse.Builder status, int pendingRequests) {}
    CompletableFuture<OnLoop> protocol = new CompletableFuture<>();
    if (!loop.submit(() -> protocol.complete(new OnLoop(statusNow(), core.pendingRequests())))) {
      protocol.completeExceptionally(new IllegalStateException("replica " + id + " is saturated or stopping"));
    }
    // The request count too: the event loop learns of a batch's execution after the execution
    // thread ran it, and a status between the two would count one batch fewer than it reports run.
    return protocol.thenCompose(p -> executionThread.ask(ex -> new MetricsSample(
        p.status().setLastExecuted(ex.lastExecuted()).setExecutedRequests(ex.executedRequests())
            .setTentativeRollbacks(ex.rollbacks()).setApplicationFailures(ex.applicationFailures())
            .setStateDigest(ex.stateDigest()).setLastExecutedTentative(ex.hasTentative()).build(), p.pendingRequests())));
  }

  /** Messages queued for all peers together. */
  int peersQueued() {
    int queued = 0;
    for (PeerLink p : peers) {
      if (p != null) {
        queued += p.queued();
      }
    }
    return queued;
  }

  private StatusResponse.Builder statusNow() {
    long peerDrops = 0;
    long peerBytes = 0;
    for (PeerLink p : peers) {
      if (p != null) {
        peerDrops += p.dropped();
        peerBytes += p.queuedBytes();
      }
    }
    io.pbft.proto.Drops.Builder drops = io.pbft.proto.Drops.newBuilder()
        .setEventLoopFull(loop.dropped())
        .setEventLoopBytesFull(loop.droppedBytes())
        .setRepliesWithoutSession(sessions.repliesDropped())
        .setPeerQueueFull(peerDrops)
        .setVerificationQueueFull(verifyPool.droppedFull())
        .setVerificationQueueBytesFull(verifyPool.droppedBytes());
    // The services count a refused verification task as "verification queue full" whichever bound
    // refused it; the pool's typed counters tell the two bounds apart, so the reason is left out.
    dropped.forEach((reason, count) -> {
      if (!reason.equals("verification queue full")) {
        drops.putByReason(reason, count.get());
      }
    });
    if (verifyPool.displaced() > 0) {
      drops.putByReason("client request displaced by its newer one before verification", verifyPool.displaced());
    }
    io.pbft.proto.GarbageCounts.Builder garbage = io.pbft.proto.GarbageCounts.newBuilder()
        .setLogLines(hygiene.garbage.linesLogged())
        .putAllByReason(hygiene.garbage.snapshot());
    io.pbft.proto.QueuedBytes.Builder queued = io.pbft.proto.QueuedBytes.newBuilder()
        .setVerification(verifyPool.queuedBytes())
        .setEventLoop(loop.queuedBytes())
        .setPeers(peerBytes)
        .setVerificationHigh(verifyPool.queuedBytesHigh())
        .setEventLoopHigh(loop.queuedBytesHigh());
    // last_executed and state_digest are the execution thread's: status() fills them in; the
    // epoch is published by the execution thread and may be a batch ahead of them
    Epochs.Summary epoch = execution.epochs().summary();
    StatusResponse.Builder status = StatusResponse.newBuilder()
        .setReplicaId(id)
        .setView(core.view())
        .setPrimary(core.primary())
        .setLowWatermark(core.lowWatermark())
        .setReplicas(running.n())
        .setViewChanging(core.viewChanging())
        .setViewChangesStarted(core.viewChangesStarted())
        .setRequestTimeoutMs(core.requestTimeoutMs())
        .setAgreementLatencyMs(core.agreementLatencyMs())
        .setExecutedRequests(core.executedRequests())
        .setStateTransfers(core.stateTransfers())
        .setStateTransferBytes(core.stateTransferBytes())
        .setDurable(storage != null)
        .setLogBytesOnDisk(storage != null ? storage.diskBytes() : 0)
        .setStorageFailed(failure != null)
        .setClientSessions(sessions.size())
        .setDropped(drops)
        .putAllRejected(core.rejections().snapshot())
        .setGarbage(garbage)
        .setConnections(hygiene.connections.size())
        .setConnectionsAccepted(hygiene.connections.accepted())
        .setPendingStreams(hygiene.pending.size())
        .setPeerStreams(hygiene.peerStreams.size())
        .setUnauthenticatedBytesRead(hygiene.connections.unauthenticatedBytes())
        .setQueuedBytes(queued)
        .setEpoch(epoch.epoch())
        .setMembershipDigest(epoch.membershipDigest())
        .addAllReconfigurations(epoch.chain());
    String away = departed;
    if (away != null) {
      status.setDeparted(away);
    }
    Epochs.Pending pending = epoch.pending();
    if (pending != null) {
      status.setPendingReconfiguration(PendingReconfiguration.newBuilder()
          .setEpoch(pending.next().epoch())
          .setOrderedAt(pending.orderedAt())
          .setHandoverAt(pending.handoverAt())
          .setReplicas(pending.next().n())
          .setF(pending.next().f())
          .setMembershipDigest(ByteString.copyFrom(pending.next().digest())));
    }
    return status;
  }

  /** The metrics endpoint could not be started (its address is in use, say): the replica did not start. */
  public static final class MetricsUnavailableException extends IOException {
    private static final long serialVersionUID = 1L;

    MetricsUnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
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
    if (tls != null) {
      tls.close();
    }
    ReplicaMetrics m = metrics;
    if (m != null) {
      m.close();
    }
    health.enterTerminalState();
    server.shutdown();
    for (PeerLink p : peers) {
      if (p != null) {
        p.close();
      }
    }
    formerLinks.values().forEach(PeerLink::close);
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
    hygiene.stop();
    scheduler.shutdownNow();
    loop.close();
    executionThread.close();
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

package io.pbft.chaos.sim;

import io.pbft.config.Administration;
import io.pbft.config.AdministrationKey;
import io.pbft.config.Authentication;
import io.pbft.config.ClusterConfig;
import io.pbft.config.Membership;
import io.pbft.crypto.PeerKeys;
import io.pbft.crypto.RequestMacs;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.Signer;
import io.pbft.proto.Reply;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.execution.Epochs;
import io.pbft.replica.execution.Execution;
import io.pbft.crypto.SessionHandshake;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Rejection;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * A deterministic simulation of a whole PBFT group: n unchanged {@link ReplicaCore}s with
 * recording applications, closed-loop clients, a network with seeded latencies and faults, all on
 * a virtual clock. Ed25519 keys drawn from the seed sign every message (or, with {@link
 * SimulationConfig#fastCrypto}, keyed hashes under the same secret keys), and every message passes
 * through the {@link InboundVerifier} before its core sees it, as in the runtime. The same
 * config replays the same run, event for event.
 *
 * <p>A run has three phases: load, or safety (clients run their operations while faults strike
 * and traitors lie), liveness (every network fault heals and paused or restarted replicas come
 * back; traitors and replicas crashed for good, at most f in all, stay as they are; every
 * operation must complete within a bound derived when the faults heal, {@link LivenessBound}),
 * and quiet (no load; the group settles). Checkers watch execution throughout (agreement on every
 * batch, exactly-once, validity, equal checkpoints), everything correct replicas sign (no
 * equivocation, {@link EquivocationLog}), and the histories and end states afterwards
 * (linearizability, liveness, client results, convergence of views and states, durability, the
 * application's own invariants).
 */
public final class Simulation implements SimNetwork.Receiver {
  /** Verdicts kept for messages several receivers verify (a broadcast is one object). */
  private static final int VERDICTS_CACHED_MAX = 8192;

  private final SimulationConfig config;
  /** With the {@link Administrator} among the clients: the group's epoch 0 and its administration key; else null. */
  private final Membership epoch0;
  private final Ed25519Keys administrationKey;
  /** How replicas' executors are built: with epoch 0 for the administrator's runs, else as configured. */
  private final SimulationConfig.ExecutionFactory executions;
  private final Workload workload;
  private final Scheduler scheduler = new Scheduler();
  private final Trace trace;
  private final SimNetwork network;
  private final InboundVerifier verifier;
  /** Each replica's own verifier (they differ in the MACs they check), sharing one signature cache. */
  private final List<InboundVerifier> verifiers = new ArrayList<>();
  /** Each replica's pair keys when votes carry MACs ({@link SimulationConfig#peerMacs}; null entries otherwise). */
  private final List<PeerKeys> peerKeys = new ArrayList<>();
  private final Random peerKeyRandom;
  /**
   * The per-replica verifiers of each configuration epoch a replica entered (epoch 0's are {@link
   * #verifiers}); with the pair keys of that epoch. A message is checked by the verifiers of the
   * epoch it names.
   */
  private final Map<Long, List<InboundVerifier>> epochVerifiers = new HashMap<>();
  private final Map<Long, List<PeerKeys>> epochPeerKeys = new HashMap<>();
  /** The cluster configuration of epoch 0, from which later epochs' are derived. */
  private final ClusterConfig cluster;
  /**
   * Keys the administrator may rotate replicas to, by epoch (one per epoch, drawn from a
   * generator of their own), and every replica key the simulation knows, by public key in hex.
   */
  private final Map<Long, Ed25519Keys> replacementKeys = new HashMap<>();
  private final Map<String, Ed25519Keys> keyring = new HashMap<>();
  /** Epochs the administrator's runs may reach: the replacement keys drawn up front. */
  private static final int EPOCHS_MAX = 8;
  private final ExecutionLog log;
  private final CheckpointLog checkpoints;
  private final EquivocationLog equivocations;
  private final List<SimReplica> replicas = new ArrayList<>();
  /** The second instance of each twin replica. */
  private final Map<Integer, SimReplica> twins = new TreeMap<>();
  /** For each twin replica, which instance hears each sender: 0 the first, 1 the twin, 2 both. */
  private final Map<Integer, int[]> twinRouting = new HashMap<>();
  private final Random twinRandom;
  private final List<SimClient> clients = new ArrayList<>();
  /** Byzantine clients, by position after the honest ones: client id config.clients() + index. */
  private final List<ByzantineClient> byzantineClients = new ArrayList<>();
  private final long[] tickPhaseMs;
  private final long[] clientStartMs;
  private final TreeMap<String, Long> verifierRejections = new TreeMap<>();
  private final Map<MessageKey, Verdict<VerifiedMessage>> messageVerdicts = lru();
  private final Map<RequestKey, Verdict<VerifiedRequest>> requestVerdicts = lru();
  private final List<String> violations = new ArrayList<>();
  private List<String> violationTrace = List.of();
  private int clientsFinished;
  private long healedAtMs = -1;
  /** Derived when the faults heal, from what they left behind. */
  private LivenessBound livenessBound;
  private boolean stopped;
  private final SimRecorder recorder;

  /**
   * A delivery of one request object: the verdict memories know messages by identity, as the
   * network hands the same object to each delivery of it (duplicates included). Equal content
   * hashed and compared in full cost 2 % of a run; an equal copy is merely verified again.
   */
  private record RequestKey(SignedRequest request, int client, int to) {
    @Override
    public boolean equals(Object o) {
      return o instanceof RequestKey k && k.request == request && k.client == client && k.to == to;
    }

    @Override
    public int hashCode() {
      return (System.identityHashCode(request) * 31 + client) * 31 + to;
    }
  }

  /** A delivery of one message object to replica {@code to} (see {@link RequestKey}). */
  private record MessageKey(SignedMessage message, int to) {
    @Override
    public boolean equals(Object o) {
      return o instanceof MessageKey k && k.message == message && k.to == to;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(message) * 31 + to;
    }
  }

  /** The behaviour of a twin that does nothing else: honest, but named. */
  private static final Behaviour TWIN = new Behaviour() {
    @Override
    public String name() {
      return "twins";
    }
  };

  /** Runs one simulation to its end and checks it. */
  public static SimulationResult run(SimulationConfig config) {
    return run(config, SimRecorder.NONE);
  }

  /** Runs one simulation, telling {@code recorder} every input its replicas' cores get. */
  public static SimulationResult run(SimulationConfig config, SimRecorder recorder) {
    return new Simulation(config, recorder).execute();
  }

  private Simulation(SimulationConfig config, SimRecorder recorder) {
    this.config = config;
    this.recorder = recorder;
    this.workload = Workload.create(config.workload(), config);
    int n = config.replicas();
    int slots = config.replicaSlots();
    Random master = new Random(config.seed());
    Random keyRandom = new Random(master.nextLong());
    this.trace = new Trace(config.traceSize());
    this.network = new SimNetwork(config, scheduler, new Random(master.nextLong()), trace);
    network.connect(this);
    network.tap(recorder);
    java.util.Set<Integer> byzantineIds = new java.util.TreeSet<>();
    for (int c = config.clients(); c < config.allClients(); c++) {
      byzantineIds.add(c);
    }
    this.log = new ExecutionLog(slots, config.faultyReplicas(), byzantineIds, this::violation);
    log.checkTimes(scheduler::nowMs, config.protocol().clockSkewMs());
    this.checkpoints = new CheckpointLog(this::violation);
    this.equivocations = new EquivocationLog(config.faultyReplicas(), this::violation);
    this.twinRandom = new Random(config.seed() * 104_729 + 17);

    // The Byzantine clients' keys are drawn after the honest clients', which stay as they were.
    ClusterKeys keys = ClusterKeys.draw(keyRandom, n, config.allClients());
    List<Ed25519Keys> replicaKeys = new ArrayList<>(keys.replicas());
    List<Ed25519Keys> clientKeys = keys.clients();
    ClusterConfig cluster = keys.config(config.f(), config.clusterProtocol(), config.authentication());
    this.cluster = cluster;
    List<Ed25519Keys> identities = new ArrayList<>(keys.all());
    replicaKeys.forEach(k -> keyring.put(java.util.HexFormat.of().formatHex(k.publicKey()), k));
    if (config.byzantineClients().contains(Administrator.NAME)) {
      Random replacements = new Random(config.seed() * 1_000_039 + 31);
      for (long e = 1; e <= EPOCHS_MAX; e++) {
        byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
        replacements.nextBytes(secret);
        Ed25519Keys k = Ed25519Keys.fromSecretKey(secret);
        replacementKeys.put(e, k);
        keyring.put(java.util.HexFormat.of().formatHex(k.publicKey()), k);
        identities.add(k);
      }
      // The administrator's key comes from a generator of its own, so every other stream stays as it was.
      byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
      new Random(config.seed() * 1_000_037 + 29).nextBytes(secret);
      administrationKey = Ed25519Keys.fromSecretKey(secret);
      epoch0 = new Membership(0, Membership.initial(cluster).members(), config.f(),
          new Administration(List.of(new AdministrationKey(administrationKey.publicKey())), 1));
      executions = (app, store) -> new Execution(app, store, new Epochs(epoch0, config.protocol(), true));
    } else {
      administrationKey = null;
      epoch0 = null;
      executions = config.executions();
    }
    this.verifier = (config.fastCrypto() ? new InboundVerifier(cluster, FastSignatures.checks(identities), FastSignatures::requestMac)
        : new InboundVerifier(cluster)).parsingOnce();
    // Pair keys for the replicas' MACs: drawn from a generator of their own, so that every other
    // stream stays as it was; a twin shares its replica's (a faulty replica has all its secrets).
    peerKeyRandom = new Random(config.seed() * 1_000_033 + 11);
    // The administrator's spare (ids n and up) has keys too: it is no member of epoch 0, and its
    // core there only stands by until an epoch adds it.
    for (int i = 0; i < slots; i++) {
      peerKeys.add(config.peerMacs()
          ? new PeerKeys(i, i < n ? n : slots, peerPrivateKey(), 1,
              config.fastCrypto() ? FastSignatures::requestMac : RequestMacs::mac)
          : null);
    }
    for (int i = 0; i < slots; i++) {
      verifiers.add(replicaVerifier(verifier, i, peerKeys.get(i)));
    }
    epochVerifiers.put(0L, verifiers);
    epochPeerKeys.put(0L, peerKeys);

    for (int i = n; i < slots; i++) {
      replicaKeys.add(spareKey(i));
    }
    for (int i = 0; i < slots; i++) {
      replicas.add(newReplica(i, signer(replicaKeys.get(i)), false));
      replicas.get(i).whenEpochEntered(this::epochEntered);
      if (i >= n) {
        replicas.get(i).spare();
      }
      if (config.twins().contains(i)) {
        twins.put(i, newReplica(i, signer(replicaKeys.get(i)), true));
        int[] routing = new int[slots + config.allClients()];
        for (int from = 0; from < routing.length; from++) {
          routing[from] = twinRandom.nextInt(3);
        }
        twinRouting.put(i, routing);
      }
    }
    for (int c = 0; c < config.clients(); c++) {
      clients.add(new SimClient(c, signer(clientKeys.get(c)), config, workload, scheduler, network, log,
          () -> clientsFinished++));
      clients.get(c).guessPrimaryWith(this::primaryOf);
    }
    // Replicas' clocks tick out of phase with each other, as separate processes do.
    tickPhaseMs = new long[slots];
    for (int i = 0; i < slots; i++) {
      tickPhaseMs[i] = master.nextInt(config.tickMs());
    }
    clientStartMs = new long[config.clients()];
    for (int c = 0; c < config.clients(); c++) {
      clientStartMs[c] = master.nextInt(20);
    }
    ByzantineClient.World world = new ByzantineClient.World() {
      @Override
      public long executedAt(int client, long timestamp) {
        return log.executedAt(client, timestamp);
      }

      @Override
      public long stableCheckpoint() {
        long stable = 0;
        for (SimReplica r : replicas) {
          if (!r.traitor()) {
            stable = Math.max(stable, r.core().lowWatermark());
          }
        }
        return stable;
      }

      @Override
      public long view() {
        long view = 0;
        for (SimReplica r : replicas) {
          if (!r.traitor()) {
            view = Math.max(view, r.core().view());
          }
        }
        return view;
      }

      @Override
      public long replicasWithPending(long sequence) {
        return replicas.stream().filter(r -> !r.traitor() && r.epochs().pending() != null
            && r.epochs().pending().orderedAt() == sequence).count();
      }

      @Override
      public java.util.SortedMap<Long, Long> correctReplicasByEpoch() {
        java.util.SortedMap<Long, Long> out = new TreeMap<>();
        long stable = replicas.stream().filter(r -> !r.traitor() && !r.down())
            .mapToLong(r -> r.core().lowWatermark()).max().orElse(0);
        for (SimReplica r : replicas) {
          if (spareAwaited(r)) {
            out.merge(-1L, 1L, Long::sum); // a member of the epoch, not running yet (as submit --wait sees it)
          }
          if (!r.traitor() && !r.down() && !r.removed()) {
            // A replica still fetching state, one that joined its epoch without state and has not
            // learned where it began, or one behind the group's stable checkpoint does not run
            // that epoch yet (-1), as for pbft admin submit --wait, which counts a moved replica
            // once it runs with the state.
            boolean catchingUp = r.core().fetchingState() || r.core().joiningWithoutState()
                || r.lastExecuted() < stable;
            out.merge(catchingUp ? -1L : r.epoch(), 1L, Long::sum);
          }
        }
        return out;
      }

      @Override
      public byte[] replacementKey(long epoch) {
        Ed25519Keys k = replacementKeys.get(epoch);
        if (k == null) {
          throw new IllegalArgumentException("no replacement key drawn for epoch " + epoch);
        }
        return k.publicKey();
      }
    };
    for (int i = 0; i < config.byzantineClients().size(); i++) {
      int id = config.clients() + i;
      byzantineClients.add(ClientBehaviours.create(config.byzantineClients().get(i), new ByzantineClient.Context(id,
          signer(clientKeys.get(id)), config, workload, scheduler, network, log, world, epoch0, administrationKey)));
    }
  }

  /** Replica {@code i}'s verifier made from {@code shared}: its clients' request keys, its pair keys. */
  private static InboundVerifier replicaVerifier(InboundVerifier shared, int i, PeerKeys keys) {
    return shared.forReplica(i, (client, keyId) -> {
      SessionHandshake.SessionKey k = ClusterKeys.requestKey(client, i);
      return k.keyId().equals(keyId) ? k.key() : null;
    }, keys);
  }

  /**
   * Replica {@code i} enters configuration epoch {@code m}: the core of that epoch for it, signing
   * with the key the membership names for it (the key of epoch 0 or one the administrator rotated
   * it to). The first replica to enter an epoch makes its verifiers and pair keys, by replica id
   * (none for the ids of non-members: a member's sends to them are refused, theirs dropped).
   */
  private SimReplica.EpochCores.Entered enterEpoch(int i, Membership m) {
    if (!epochVerifiers.containsKey(m.epoch())) {
      ClusterConfig epochCluster = cluster.withMembership(m);
      InboundVerifier shared = verifier.forEpoch(m.epoch(), epochCluster);
      List<PeerKeys> keys = new ArrayList<>();
      List<InboundVerifier> vs = new ArrayList<>();
      for (int r = 0; r < config.replicaSlots(); r++) {
        keys.add(config.peerMacs() && m.hasMember(r)
            ? new PeerKeys(r, m.idBound(), peerPrivateKey(), 1,
                config.fastCrypto() ? FastSignatures::requestMac : RequestMacs::mac)
            : null);
        vs.add(m.hasMember(r) ? replicaVerifier(shared, r, keys.get(r)) : null);
      }
      epochPeerKeys.put(m.epoch(), keys);
      epochVerifiers.put(m.epoch(), vs);
      memberships.put(m.epoch(), m);
      trace.note(scheduler.nowMs(), "epoch " + m.epoch() + " begins (replica " + i + " enters it first): members "
          + m.ids());
    }
    Ed25519Keys identity = keyring.get(java.util.HexFormat.of().formatHex(m.member(i).publicKey()));
    if (identity == null) {
      throw new IllegalStateException("epoch " + m.epoch() + " names a key for replica " + i + " nobody holds");
    }
    Signer signs = signer(identity);
    ReplicaCore core = config.cores().create(i, m.idArray(), m.f(), config.protocol(), signs, verifier::knownClient);
    PeerKeys pair = epochPeerKeys.get(m.epoch()).get(i);
    if (pair != null) {
      core.useMacs(pair);
    }
    return new SimReplica.EpochCores.Entered(core, signs);
  }

  /** The memberships of the epochs replicas entered, by epoch (what clients follow through the chain of changes). */
  private final Map<Long, Membership> memberships = new HashMap<>();

  /** The primary of {@code view} in {@code epoch}, as the membership of that epoch names it. */
  private int primaryOf(long epoch, long view) {
    Membership m = memberships.get(epoch);
    return m == null ? (int) (view % config.replicas()) : m.members().get((int) (view % m.n())).id();
  }

  /**
   * A replica entered epoch {@code m} at its handover: a spare the epoch adds starts a moment later,
   * without state, as {@code pbft replica --join} does once the group's epoch names it.
   */
  private void epochEntered(int replica, Membership m, long firstView, long genesis) {
    entered.putIfAbsent(m.epoch(), new EnteredEpoch(m, firstView, genesis));
    for (int s = config.replicas(); s < config.replicaSlots(); s++) {
      if (m.hasMember(s)) {
        SimReplica spare = replicas.get(s);
        scheduler.after(SPARE_START_MS, () -> {
          // As pbft replica --join does: the newest epoch the group runs, if it still names the spare.
          EnteredEpoch newest = entered.lastEntry().getValue();
          spare.joinAsAddedMember(spare.localNow(), newest.membership(), newest.firstView(), newest.genesis());
        });
      }
    }
  }

  /** An epoch as the first replica entered it at its handover: what a joining replica learns of the group. */
  private record EnteredEpoch(Membership membership, long firstView, long genesis) {}

  /** The epochs replicas entered at a handover, by epoch. */
  private final java.util.TreeMap<Long, EnteredEpoch> entered = new java.util.TreeMap<>();

  /** A spare that an epoch the group entered names, and that has not started yet. */
  private boolean spareAwaited(SimReplica r) {
    return r.id() >= config.replicas() && !r.started()
        && entered.values().stream().anyMatch(e -> e.membership().hasMember(r.id()));
  }

  /** How long after the first member enters the epoch that adds it the spare starts (virtual ms). */
  private static final long SPARE_START_MS = 500;

  /** The spare's key in epoch 0, where it is no member: drawn from a generator of its own. */
  private static Ed25519Keys spareKey(int id) {
    byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
    new Random(1_000_003L * id + 7).nextBytes(secret);
    return Ed25519Keys.fromSecretKey(secret);
  }

  /** What signs as the identity of {@code keys}: Ed25519, or its fast stand-in. */
  private Signer signer(Ed25519Keys keys) {
    return config.fastCrypto() ? FastSignatures.signer(keys) : keys;
  }

  private byte[] peerPrivateKey() {
    byte[] key = new byte[32];
    peerKeyRandom.nextBytes(key);
    return key;
  }

  private SimReplica newReplica(int i, Signer keys, boolean twin) {
    int n = config.replicas();
    java.util.function.Supplier<ReplicaCore> cores = () -> {
      // A spare (no member of epoch 0) stands by with a core of a group that has it; never run.
      ReplicaCore core = config.cores().create(i, i < n ? n : i + 1, config.f(), config.protocol(), keys,
          verifier::knownClient);
      if (peerKeys.get(i) != null) {
        core.useMacs(peerKeys.get(i));
      }
      return core;
    };
    // Traitors draw from their own generators, so adding one leaves every other stream as it was.
    Behaviour behaviour = config.traitors().containsKey(i)
        ? config.traitors().get(i).apply(new Random(config.seed() * 7919 + i + (twin ? 1_000_003 : 0)))
        : config.plantedBehaviours().containsKey(i)
            ? config.plantedBehaviours().get(i).apply(new Random(config.seed() * 7919 + i))
            : config.twins().contains(i) ? TWIN : Behaviour.HONEST;
    boolean durable = config.durable() || config.faults().restarts(i);
    SimReplica r = new SimReplica(i, config.replicaSlots(), "replica " + i + (twin ? " (twin)" : ""), cores, executions,
        () -> new RecordingStateMachine(i, workload.newStateMachine(), log), durable, keys, behaviour,
        config.faultyReplicas().contains(i), network, scheduler, log, checkpoints, equivocations, this::violation,
        this::enterEpoch);
    r.record(recorder);
    r.parseWith(verifier);
    Faults.Skew skew = config.faults().skewOf(i);
    if (skew != null) {
      r.skewClock(skew.offsetMs(), skew.rate());
    }
    return r;
  }

  private SimulationResult execute() {
    long wallStart = System.nanoTime();
    for (Faults.Crash c : config.faults().crashes()) {
      scheduler.at(c.atMs(), () -> crash(c.replica(), c.forever()));
      if (!c.forever()) {
        scheduler.at(c.resumeAtMs(), () -> restart(c.replica()));
      }
    }
    for (Faults.Restart r : config.faults().restarts()) {
      scheduler.at(r.atMs(), () -> crashLosingMemory(r.replica()));
      scheduler.at(r.resumeAtMs(), () -> recoverFromDisk(r.replica()));
    }
    for (Faults.CrashAfterPrePrepares c : config.faults().midProtocolCrashes()) {
      replicas.get(c.replica()).crashAfterPrePrepares(c.count());
    }
    for (SimReplica r : replicas) {
      scheduleTick(r, tickPhaseMs[r.id()]);
    }
    for (SimReplica t : twins.values()) {
      scheduleTick(t, twinRandom.nextInt(config.tickMs()));
    }
    for (SimClient c : clients) {
      c.start(clientStartMs[c.id()]);
    }
    for (ByzantineClient c : byzantineClients) {
      c.start(clientStartMs.length == 0 ? 0 : clientStartMs[c.id() % clientStartMs.length]);
    }

    BooleanSupplier allFinished = () -> clientsFinished == clients.size();
    runUntil(allFinished, config.loadDeadlineMs());
    heal();
    runUntil(allFinished, scheduler.nowMs() + config.livenessMs());
    if (!stopped && !allFinished.getAsBoolean()) {
      violation("liveness: " + (clients.size() - clientsFinished) + " clients did not finish within "
          + config.livenessMs() + " ms of healing");
    }
    // A correct client among the Byzantine ones (the administrator) finishes its work too: a
    // change it made takes effect within the same bound.
    long busyFromMs = scheduler.nowMs();
    BooleanSupplier idle = () -> byzantineClients.stream().noneMatch(ByzantineClient::busy);
    runUntil(idle, busyFromMs + config.livenessMs());
    if (!stopped && !idle.getAsBoolean()) {
      violation("liveness: the administrator's changes did not take effect within " + config.livenessMs()
          + " ms of the honest clients finishing");
    }
    // The honest clients are done: the Byzantine ones stop too, so that the group can settle.
    byzantineClients.forEach(ByzantineClient::stop);
    runUntil(() -> false, scheduler.nowMs() + config.quietMs());
    if (!stopped) {
      checkAtEnd();
    }
    return result((System.nanoTime() - wallStart) / 1_000_000);
  }

  private void checkAtEnd() {
    List<OpRecord> history = history();
    // What the Byzantine clients signed (none of it completed) is in the committed order too.
    List<OpRecord> everyone = new ArrayList<>(history);
    byzantineClients.forEach(c -> everyone.addAll(c.history()));
    if (workload.kind() == Workload.Kind.KV) {
      Checkers.clientResults(clients, this::violation);
    }
    Checkers.linearizability(everyone, log, workload, this::violation);
    if (!stopped && healedAtMs >= 0) {
      long boundMs = config.livenessOpBoundMs() > 0 ? config.livenessOpBoundMs() : livenessBound.ms();
      String explained = config.livenessOpBoundMs() > 0 ? boundMs + " ms (given)" : livenessBound.explain();
      Checkers.livenessBound(history, healedAtMs, boundMs, explained, this::violation);
    }
    if (!stopped && config.requireConvergence()) {
      Checkers.convergence(endStates(), this::violation);
    }
    if (!stopped && workload.kind() == Workload.Kind.KV) {
      Checkers.durability(clients, replicas, config.f(), config.keysPerClient(), this::violation);
    }
    if (!stopped) {
      Checkers.finalState(everyone, log, replicas, workload, this::violation);
    }
  }

  /** The end state of every correct replica not crashed for good, for the convergence check. */
  private List<Checkers.EndState> endStates() {
    List<Checkers.EndState> out = new ArrayList<>();
    for (SimReplica r : replicas) {
      if (!r.downForever() && !r.traitor()) {
        ReplicaCore core = r.core();
        out.add(new Checkers.EndState(r.id(), core.view(), core.viewChanging(), r.lastExecuted(), r.stateDigest(),
            core.fetchingState()));
      }
    }
    return out;
  }

  private void runUntil(BooleanSupplier done, long untilMs) {
    long eventsMax = config.effectiveEventsMax();
    while (!stopped && !done.getAsBoolean() && scheduler.runNext(untilMs)) {
      if (scheduler.eventsRun() > eventsMax) {
        violation("budget: more than " + eventsMax + " events by " + scheduler.nowMs()
            + " virtual ms: the replicas did unbounded work (replica messages sent by kind: "
            + network.sentByKind() + ")");
        stopped = true;
      }
    }
  }

  private void scheduleTick(SimReplica r, long atMs) {
    scheduler.at(atMs, () -> {
      r.tick();
      scheduleTick(r, atMs + config.tickMs());
    });
  }

  // ---------------------------------------------------------------- faults

  private void crash(int replica, boolean forever) {
    if (network.healed()) {
      return;
    }
    replicas.get(replica).crash(forever);
    trace.note(scheduler.nowMs(), "replica " + replica + (forever ? " crashes" : " pauses"));
  }

  private void restart(int replica) {
    SimReplica r = replicas.get(replica);
    if (r.down() && !r.downForever()) {
      r.restart();
      trace.note(scheduler.nowMs(), "replica " + replica + " resumes");
    }
  }

  private final java.util.Set<Integer> awaitingRecovery = new java.util.TreeSet<>();

  private void crashLosingMemory(int replica) {
    SimReplica r = replicas.get(replica);
    if (network.healed() || r.down()) {
      return;
    }
    if (r.removed()) {
      r.crash(true); // a replica the group left out does not come back
      return;
    }
    r.crash(false);
    awaitingRecovery.add(replica);
    trace.note(scheduler.nowMs(), "replica " + replica + " crashes (memory lost, disk kept)");
  }

  private void recoverFromDisk(int replica) {
    if (!awaitingRecovery.remove(replica)) {
      return;
    }
    trace.note(scheduler.nowMs(), "replica " + replica + " restarts from its disk");
    PeerKeys keys = peerKeys.get(replica);
    if (keys != null) {
      keys.renew(peerPrivateKey(), keys.incarnation() + 1); // a new process: a new pair key
    }
    replicas.get(replica).recoverFromDisk();
  }

  /** End of the load phase: every fault window closes; paused and crashed replicas come back. */
  private void heal() {
    network.heal();
    healedAtMs = scheduler.nowMs();
    trace.note(scheduler.nowMs(), "faults heal");
    for (SimReplica r : replicas) {
      restart(r.id());
    }
    for (int replica : List.copyOf(awaitingRecovery)) {
      recoverFromDisk(replica);
    }
    int faulty = config.faultyReplicas().size();
    int behind = 0;
    long viewChangedTo = -1;
    long newViewSent = -1;
    for (SimReplica r : replicas) {
      newViewSent = Math.max(newViewSent, r.highestNewViewSent());
      if (r.downForever() && !r.traitor()) {
        faulty++;
      } else if (!r.traitor()) {
        behind = Math.max(behind, viewChangesBehind(r));
        viewChangedTo = Math.max(viewChangedTo, r.highestViewChangeSigned());
      }
    }
    for (SimReplica twin : twins.values()) {
      newViewSent = Math.max(newViewSent, twin.highestNewViewSent());
    }
    // A correct replica asked for a view that no NEW-VIEW (from anyone) opened: the group is
    // changing views, and that replica's VIEW-CHANGE brings every correct replica along.
    livenessBound = config.livenessBound(faulty, behind, viewChangedTo > newViewSent);
    trace.note(scheduler.nowMs(), "liveness bound " + livenessBound.explain());
  }

  /**
   * How many consecutive view changes {@code r}'s timers may be backed off by: at most the
   * VIEW-CHANGEs it was seen to sign since its core started, and fewer if its request timer
   * shows less backoff (a core's timer is at least {@code viewChangeTimeoutMs << (c - 1)} after c
   * consecutive view changes). What the core reports can only lower the count, never raise it
   * above what the wire showed, so a core that waits longer than its settings say cannot buy
   * itself a longer bound.
   */
  private int viewChangesBehind(SimReplica r) {
    int signed = r.viewChangesSigned();
    if (signed == 0) {
      return 0;
    }
    long timeoutMs = config.protocol().viewChangeTimeoutMs();
    long shown = Math.max(timeoutMs, r.core().requestTimeoutMs()) / timeoutMs;
    int doublingsShown = 63 - Long.numberOfLeadingZeros(shown);
    return Math.min(signed, doublingsShown + 1);
  }

  private void violation(String what) {
    if (violations.isEmpty()) {
      violationTrace = trace.around(what);
    }
    violations.add("at " + scheduler.nowMs() + " ms: " + what);
    if (config.stopOnViolation()) {
      stopped = true;
    }
  }

  // ---------------------------------------------------------------- deliveries

  @Override
  public void replicaMessage(int from, int to, SignedMessage message) {
    SimReplica r = replicas.get(to);
    SimReplica twin = twins.get(to);
    if (twin == null && r.down()) {
      trace.record(scheduler.nowMs(), "missed", "r" + from, "r" + to, message);
      return;
    }
    MessageKey mk = new MessageKey(message, to);
    Verdict<VerifiedMessage> v = messageVerdicts.get(mk);
    if (v == null) {
      // Checked by the verifier of the epoch it names; an epoch nobody entered yet has none.
      ReplicaMessage parsed = verifier.parse(message.getPayload()).message();
      List<InboundVerifier> epochs = epochVerifiers.get(parsed == null ? 0L : parsed.getEpoch());
      InboundVerifier receiver = epochs == null ? null : epochs.get(to);
      v = epochs == null ? Verdict.rejected(Rejection.WRONG_EPOCH, "epoch " + parsed.getEpoch() + " has not begun")
          : receiver == null ? Verdict.rejected(Rejection.WRONG_EPOCH, "replica " + to + " is no member of epoch "
              + parsed.getEpoch())
          : receiver.verify(message);
      messageVerdicts.put(mk, v);
    }
    if (!v.isOk()) {
      verifierRejections.merge(v.reason().label(), 1L, Long::sum);
      trace.record(scheduler.nowMs(), "refused", "r" + from, "r" + to, v.describe());
      return;
    }
    trace.record(scheduler.nowMs(), "deliver", "r" + from, "r" + to, message);
    if (twin == null) {
      recorder.delivered(from, to, r.localNow(), message);
      r.onMessage(v.value());
    } else {
      int side = twinRouting.get(to)[from];
      if (side != 1) {
        r.onMessage(v.value());
      }
      if (side != 0) {
        twin.onMessage(v.value());
      }
    }
  }

  @Override
  public void request(int client, int to, SignedRequest request) {
    SimReplica r = replicas.get(to);
    SimReplica twin = twins.get(to);
    if (twin == null && r.down()) {
      return;
    }
    RequestKey key = new RequestKey(request, client, to);
    Verdict<VerifiedRequest> v = requestVerdicts.get(key);
    if (v == null) {
      v = verifiers.get(to).verify(request, client);
      requestVerdicts.put(key, v);
    }
    ByzantineClient byzantine = byzantineClient(client);
    if (!v.isOk()) {
      verifierRejections.merge(v.reason().label(), 1L, Long::sum);
      if (byzantine != null) {
        byzantine.refused(to, request);
      }
      return;
    }
    if (byzantine != null) {
      byzantine.delivered(to, request);
    } else {
      for (ByzantineClient b : byzantineClients) {
        b.overheard(client, to, request);
      }
    }
    trace.record(scheduler.nowMs(), "deliver", "c" + client, "r" + to, request);
    if (twin == null) {
      recorder.request(client, to, r.localNow(), request);
      r.onRequest(v.value());
    } else {
      int side = twinRouting.get(to)[config.replicaSlots() + client];
      if (side != 1) {
        r.onRequest(v.value());
      }
      if (side != 0) {
        twin.onRequest(v.value());
      }
    }
  }

  @Override
  public void reply(int from, int client, Reply reply) {
    trace.record(scheduler.nowMs(), "deliver", "r" + from, "c" + client, reply);
    ByzantineClient byzantine = byzantineClient(client);
    if (byzantine != null) {
      byzantine.onReply(from, reply);
    } else {
      clients.get(client).onReply(from, reply);
    }
  }

  /** The Byzantine client with id {@code client}, or null for an honest one. */
  private ByzantineClient byzantineClient(int client) {
    int i = client - config.clients();
    return i >= 0 && i < byzantineClients.size() ? byzantineClients.get(i) : null;
  }

  private static <K, V> Map<K, V> lru() {
    return new LinkedHashMap<>(256, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > VERDICTS_CACHED_MAX;
      }
    };
  }

  // ---------------------------------------------------------------- result

  private List<OpRecord> history() {
    List<OpRecord> history = new ArrayList<>();
    clients.forEach(c -> history.addAll(c.history()));
    history.sort(Comparator.comparingInt(OpRecord::client).thenComparingLong(OpRecord::timestamp));
    return history;
  }

  private SimulationResult result(long wallMs) {
    List<OpRecord> history = history();
    int completed = (int) history.stream().filter(OpRecord::completed).count();
    List<SimulationResult.ReplicaSummary> summaries = new ArrayList<>();
    long transfers = 0;
    long viewChanges = 0;
    long certificates = 0;
    for (SimReplica r : replicas) {
      certificates += r.certificatesCarried();
      ReplicaCore core = r.core();
      transfers += r.stateTransfers();
      viewChanges += r.viewChangesStarted();
      summaries.add(new SimulationResult.ReplicaSummary(r.id(), r.downForever(), r.behaviourName(), core.view(),
          core.viewChanging(), r.lastExecuted(), core.lowWatermark(), Digests.hex(r.stateDigest()),
          r.viewChangesStarted(), r.stateTransfers(), log.operationsExecuted(r.id()),
          core.rejections().snapshot(), r.restarts()));
    }
    List<String> lastEvents = violations.isEmpty() ? trace.lines() : violationTrace;
    return new SimulationResult(config.seed(), config.faults().toString(), completed, history.size() - completed,
        scheduler.nowMs(), wallMs, List.copyOf(violations), lastEvents, List.copyOf(summaries), transfers,
        viewChanges, certificates, log.crossViewExecutions(), network.sent(), network.lost(),
        new TreeMap<>(verifierRejections), List.copyOf(history), trace.events(), trace.fingerprint(),
        checkpoints.checked(), network.duplicated(), workload.kind(), healedAtMs,
        healedAtMs < 0 ? -1 : config.livenessOpBoundMs() > 0 ? config.livenessOpBoundMs() : livenessBound.ms(),
        log.batchesCompared(), equivocations.checked(),
        byzantineClients.stream().map(ByzantineClient::report).toList(), log.contextsCompared(),
        log.tentativeConfirmed(), log.tentativeDiscarded());
  }

  /** {@code java ... Simulation [seed] [replicas] [clients] [opsPerClient]}: one fault-free run, printed. */
  public static void main(String[] args) {
    SimulationConfig.Builder b = SimulationConfig.builder();
    if (args.length > 0) {
      b.seed(Long.parseLong(args[0]));
    }
    if (args.length > 1) {
      b.replicas(Integer.parseInt(args[1]));
    }
    if (args.length > 2) {
      b.clients(Integer.parseInt(args[2]));
    }
    if (args.length > 3) {
      b.opsPerClient(Integer.parseInt(args[3]));
    }
    SimulationResult result = run(b.build());
    System.out.println(result.report());
    System.exit(result.ok() ? 0 : 1);
  }
}

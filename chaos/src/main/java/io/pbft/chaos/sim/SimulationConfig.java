package io.pbft.chaos.sim;

import io.pbft.config.Authentication;

import io.pbft.config.ProtocolSettings;
import io.pbft.crypto.Signer;
import java.util.function.IntPredicate;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.execution.Execution;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Everything that determines a simulation run. Two runs with equal configs produce the same
 * events in the same order, the same history and the same final states.
 *
 * @param seed drives keys, workload, latencies, message loss and tick phases
 * @param replicas n
 * @param clients closed-loop client identities
 * @param opsPerClient operations each client runs, one at a time
 * @param keysPerClient distinct keys each client writes (its own: no other client touches them)
 * @param protocol the cores' settings (times in virtual milliseconds)
 * @param latencyMinMs smallest one-way delay of a message
 * @param latencyMaxMs largest one-way delay (uniform in between), before any lossy-network delay
 * @param fifoLinks if true, messages on one link never overtake each other (like a gRPC stream);
 *     otherwise they may, as PBFT's network model allows
 * @param tickMs period of the cores' clock ticks
 * @param requestTimeoutMs a client's first retransmission timeout (then to all replicas)
 * @param requestTimeoutMaxMs the retransmission timeout doubles up to this
 * @param loadDeadlineMs the load phase ends here at the latest; then every fault heals
 * @param livenessMs after healing, how long clients may still take to finish
 * @param quietMs the final quiet period (no client load) before the state checks
 * @param faults what goes wrong, and when
 * @param traceSize how many recent events a violation report shows
 * @param stopOnViolation end the run at the first violation (its trace shows what led to it)
 * @param requireConvergence check that every correct replica not crashed for good ends in the same
 *     view (not changing views) and the same state
 * @param traitors replicas that run the real core behind a {@link Behaviour} other than honest,
 *     each built from a generator seeded from the run's seed; the checkers ignore them
 * @param cores builds each replica's core (and again the new core of a replica restarted from its
 *     disk); a test build passes one that plants a deliberate bug, to show the checkers catch it
 * @param workload what the clients run: the key-value store with per-client or shared keys, or
 *     the bank ledger
 * @param twins replicas that run twice: two cores with the same identity and key, each hearing
 *     part of the traffic, both of whose messages reach the network (counted as traitors)
 * @param livenessOpBoundMs after healing, every operation must complete within this of its start
 *     (or of the healing, if it started before); 0 derives it when the faults heal, from the
 *     protocol's timers, the replicas still faulty and the view changes behind the correct ones
 *     ({@link #livenessBound})
 * @param plantedBehaviours replicas that the checkers hold to everything a correct replica must
 *     do, yet whose messages pass through a {@link Behaviour} other than honest: a deliberate bug
 *     in a correct replica's send path, to show that the checkers catch it (a test build only)
 * @param durable every replica keeps a simulated disk (a replica that a {@link Faults#restart}
 *     names keeps one anyway)
 * @param eventsMax the run stops with a violation after this many events (deliveries, ticks,
 *     timers): the simulator charges no virtual time for work, so a traitor that makes correct
 *     replicas do unbounded work shows as a run that never ends; 0 derives a generous bound from
 *     the number of operations
 * @param authentication how clients authenticate requests
 * @param badMacs Byzantine clients: for each, the replicas its authenticator entries fail at
 * @param fastCrypto signatures are a keyed hash under a key derived from each identity's secret
 *     instead of Ed25519 ({@link FastSignatures}): within a simulation they bind signer and content
 *     as well (a traitor holds its own key only), and a run costs a fraction of the CPU; the fuzz
 *     runner keeps a share of seeds real
 * @param executions builds each replica's executor; like {@code cores}, a test build passes one
 *     that plants a deliberate bug
 * @param clientRepliesNeeded matching replies a client accepts a result on; 0 means f + 1, the
 *     paper's rule (a test build plants a client bug with fewer)
 * @param readOnlyReads the clients send their reads (the workload's read-only operations) as
 *     read-only requests ({@link SimClient}): to every replica, answered from each one's state,
 *     accepted on {@code readRepliesNeeded} matching answers, else ordered; false orders them
 * @param readRepliesNeeded matching read-only answers a client accepts; 0 means 2f + 1, the
 *     paper's rule (a test build plants a client bug with fewer)
 * @param macVotes with signed requests, PREPAREs and COMMITs carry pair MACs (and the view change is
 *     the MAC view change), as a replica process runs {@code authentication: signatures} by default
 *     ({@code protocol.signedVotes} 0); off, they are signed, as before that default existed. With
 *     MACs (authentication) votes always carry MACs.
 * @param tentativeRepliesNeeded matching replies, tentative or committed, a client accepts an
 *     ordered result on (protocol.tentativeExecution); 0 means 2f + 1, the paper's rule (a test
 *     build plants a client bug with fewer)
 * @param byzantineClients Byzantine clients, by behaviour ({@link ClientBehaviours}): keyed
 *     clients (their requests authenticate) that misbehave, with client ids after the honest
 *     ones ({@code clients}, {@code clients + 1}, ...); the checkers let them sign several
 *     operations under one timestamp and do not require theirs to complete
 */
public record SimulationConfig(
    long seed,
    int replicas,
    int clients,
    int opsPerClient,
    int keysPerClient,
    ProtocolSettings protocol,
    int latencyMinMs,
    int latencyMaxMs,
    boolean fifoLinks,
    int tickMs,
    int requestTimeoutMs,
    int requestTimeoutMaxMs,
    long loadDeadlineMs,
    long livenessMs,
    long quietMs,
    Faults faults,
    int traceSize,
    boolean stopOnViolation,
    boolean requireConvergence,
    Map<Integer, Function<Random, Behaviour>> traitors,
    Map<Integer, Function<Random, Behaviour>> plantedBehaviours,
    CoreFactory cores,
    Workload.Kind workload,
    Set<Integer> twins,
    long livenessOpBoundMs,
    boolean durable,
    long eventsMax,
    Authentication authentication,
    Map<Integer, Set<Integer>> badMacs,
    boolean fastCrypto,
    ExecutionFactory executions,
    int clientRepliesNeeded,
    java.util.List<String> byzantineClients,
    boolean readOnlyReads,
    int readRepliesNeeded,
    int tentativeRepliesNeeded,
    boolean macVotes) {

  /** Builds a replica's executor, with the arguments of {@link Execution}'s constructor. */
  @FunctionalInterface
  public interface ExecutionFactory {
    Execution create(StateMachine app, CheckpointStore store);
  }

  /** Builds a replica's core, with the arguments of {@link ReplicaCore}'s constructor. */
  @FunctionalInterface
  public interface CoreFactory {
    ReplicaCore create(int id, int n, int f, ProtocolSettings settings, Signer signer, IntPredicate knownClient);

    /**
     * A core of an epoch whose members have ids {@code members} (in its order): this factory's
     * when they are 0..n-1, a correct core otherwise (members added and removed; planted bugs
     * apply to groups of the ids they were written for).
     */
    default ReplicaCore create(int id, int[] members, int f, ProtocolSettings settings, Signer signer,
        IntPredicate knownClient) {
      for (int i = 0; i < members.length; i++) {
        if (members[i] != i) {
          return new ReplicaCore(id, members, f, settings, signer, knownClient);
        }
      }
      return create(id, members.length, f, settings, signer, knownClient);
    }
  }

  /**
   * A small window and checkpoint interval, so runs cross many checkpoints and a lagging replica
   * soon needs state transfer; small state chunks, so a transfer takes several of them.
   */
  public static ProtocolSettings defaultProtocol() {
    return ProtocolSettings.newBuilder().batchSizeMax(16).batchBytesMax(1 << 20).windowSize(64).pipelineDepthMax(4)
        .checkpointInterval(16).pendingRequestsMax(10_000).operationBytesMax(1 << 16).viewChangeTimeoutMs(1000)
        .stateChunkBytesMax(2048).build();
  }

  public SimulationConfig {
    traitors = Map.copyOf(traitors);
    plantedBehaviours = Map.copyOf(plantedBehaviours);
    twins = Set.copyOf(twins);
    byzantineClients = java.util.List.copyOf(byzantineClients);
    byzantineClients.forEach(ClientBehaviours::check);
    if (replicas < 1 || clients < 1 || opsPerClient < 0 || keysPerClient < 1) {
      throw new IllegalArgumentException("need replicas, clients and keys per client >= 1");
    }
    if (latencyMinMs < 0 || latencyMaxMs < latencyMinMs || tickMs < 1 || requestTimeoutMs < 1) {
      throw new IllegalArgumentException("latencies and timeouts must be positive and ordered");
    }
  }

  public int f() {
    return (replicas - 1) / 3;
  }

  /**
   * Replica processes in the run: the {@link #replicas} of epoch 0, and with the {@code
   * administrator} one more, the spare it adds to the group (id {@code replicas}), which starts
   * only when an epoch names it. Network addresses of clients come after these.
   */
  public int replicaSlots() {
    return replicas + (byzantineClients.contains(Administrator.NAME) ? 1 : 0);
  }

  /** Client identities in the group: the honest clients', then the Byzantine clients'. */
  public int allClients() {
    return clients + byzantineClients.size();
  }

  /** Matching replies a client accepts a result on: f + 1 unless a test plants a bug. */
  public int effectiveClientRepliesNeeded() {
    return clientRepliesNeeded > 0 ? clientRepliesNeeded : f() + 1;
  }

  /** Matching read-only answers a client accepts a read on: 2f + 1 unless a test plants a bug. */
  public int effectiveReadRepliesNeeded() {
    return readRepliesNeeded > 0 ? readRepliesNeeded : io.pbft.config.Quorums.of(replicaSlots(), f());
  }

  /** Matching replies of any kind, tentative included, that settle an ordered operation: 2f + 1 unless a test plants a bug. */
  public int effectiveTentativeRepliesNeeded() {
    return tentativeRepliesNeeded > 0 ? tentativeRepliesNeeded : io.pbft.config.Quorums.of(replicaSlots(), f());
  }

  /**
   * The liveness bound per operation after healing, derived from the protocol's timers (see
   * {@link LivenessBound}) with the clients, latencies and clock skews of this run.
   *
   * @param faultyAfterHealing replicas that stay faulty once the faults heal (traitors, twins,
   *     replicas crashed for good)
   * @param viewChangesBeforeHealing consecutive view changes a correct replica may have behind it
   *     when the faults heal
   * @param changingWhenHealed the group was changing views when the faults healed
   */
  public LivenessBound livenessBound(int faultyAfterHealing, int viewChangesBeforeHealing,
      boolean changingWhenHealed) {
    double slowest = 1.0;
    for (int i = 0; i < replicas; i++) {
      Faults.Skew skew = faults.skewOf(i);
      if (skew != null && !faultyReplicas().contains(i)) {
        slowest = Math.min(slowest, skew.rate());
      }
    }
    // Byzantine clients take their turns in the primary's round-robin as honest clients do.
    return new LivenessBound(protocol, tickMs, requestTimeoutMaxMs, latencyMaxMs, allClients(), slowest,
        faultyAfterHealing, viewChangesBeforeHealing, changingWhenHealed);
  }

  /**
   * The largest bound {@link #livenessBound} can derive for this run: f replicas faulty after the
   * healing and every correct replica's timers backed off as far as they go. A liveness phase
   * longer than this leaves the per-operation bound the check that binds.
   */
  public long largestLivenessOpBoundMs() {
    return livenessOpBoundMs > 0 ? livenessOpBoundMs
        : livenessBound(f(), protocol.viewChangeBackoffDoublingsMax() + 1, false).ms();
  }

  /** The event budget of a run, derived from its operations unless given. */
  public long effectiveEventsMax() {
    return eventsMax > 0 ? eventsMax
        : 2_000_000 + 2_000L * clients * opsPerClient + byzantineClients.size() * ClientBehaviours.eventsMax(this);
  }

  /** Replicas left out of the checks: traitors and twins. */
  public Set<Integer> faultyReplicas() {
    Set<Integer> all = new TreeSet<>(traitors.keySet());
    all.addAll(twins);
    return all;
  }

  /** Whether the replicas MAC their PREPAREs and COMMITs under pair keys (MACs, or signed requests with {@link #macVotes}). */
  public boolean peerMacs() {
    return authentication == Authentication.MACS || macVotes;
  }

  /** {@link #protocol}, saying in {@code signedVotes} what {@link #peerMacs} decides (the replicas' cluster.yaml). */
  public ProtocolSettings clusterProtocol() {
    return protocol.toBuilder().signedVotes(!peerMacs()).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.seed = seed;
    b.replicas = replicas;
    b.clients = clients;
    b.opsPerClient = opsPerClient;
    b.keysPerClient = keysPerClient;
    b.protocol = protocol;
    b.latencyMinMs = latencyMinMs;
    b.latencyMaxMs = latencyMaxMs;
    b.fifoLinks = fifoLinks;
    b.tickMs = tickMs;
    b.requestTimeoutMs = requestTimeoutMs;
    b.requestTimeoutMaxMs = requestTimeoutMaxMs;
    b.loadDeadlineMs = loadDeadlineMs;
    b.livenessMs = livenessMs;
    b.quietMs = quietMs;
    b.faults = faults;
    b.traceSize = traceSize;
    b.stopOnViolation = stopOnViolation;
    b.requireConvergence = requireConvergence;
    b.traitors.putAll(traitors);
    b.plantedBehaviours.putAll(plantedBehaviours);
    b.cores = cores;
    b.workload = workload;
    b.twins.addAll(twins);
    b.livenessOpBoundMs = livenessOpBoundMs;
    b.durable = durable;
    b.eventsMax = eventsMax;
    b.authentication = authentication;
    b.badMacs.putAll(badMacs);
    b.fastCrypto = fastCrypto;
    b.clientRepliesNeeded = clientRepliesNeeded;
    b.executions = executions;
    b.byzantineClients.addAll(byzantineClients);
    b.readOnlyReads = readOnlyReads;
    b.readRepliesNeeded = readRepliesNeeded;
    b.tentativeRepliesNeeded = tentativeRepliesNeeded;
    b.macVotes = macVotes;
    return b;
  }

  /** Defaults: 4 replicas, 8 clients of 50 operations, 1-10 ms latency, no faults. */
  public static final class Builder {
    private long seed = 1;
    private int replicas = 4;
    private int clients = 8;
    private int opsPerClient = 50;
    private int keysPerClient = 4;
    private ProtocolSettings protocol = defaultProtocol();
    private int latencyMinMs = 1;
    private int latencyMaxMs = 10;
    private boolean fifoLinks;
    private int tickMs = 10;
    private int requestTimeoutMs = 500;
    private int requestTimeoutMaxMs = 4000;
    private long loadDeadlineMs = 120_000;
    private long livenessMs = 60_000;
    private long quietMs = 3_000;
    private Faults faults = Faults.none();
    private int traceSize = 60;
    private boolean stopOnViolation = true;
    private boolean requireConvergence = true;
    private final Map<Integer, Function<Random, Behaviour>> traitors = new TreeMap<>();
    private final Map<Integer, Function<Random, Behaviour>> plantedBehaviours = new TreeMap<>();
    private CoreFactory cores = ReplicaCore::new;
    private ExecutionFactory executions = Execution::new;
    private Workload.Kind workload = Workload.Kind.KV;
    private final Set<Integer> twins = new TreeSet<>();
    private long livenessOpBoundMs;
    private boolean durable;
    private long eventsMax;
    private Authentication authentication = Authentication.SIGNATURES;
    private final Map<Integer, Set<Integer>> badMacs = new TreeMap<>();
    private boolean fastCrypto;
    private int clientRepliesNeeded;
    private boolean readOnlyReads = true;
    private int readRepliesNeeded;
    private int tentativeRepliesNeeded;
    private boolean macVotes;
    private final java.util.List<String> byzantineClients = new java.util.ArrayList<>();

    public Builder seed(long v) { seed = v; return this; }
    public Builder replicas(int v) { replicas = v; return this; }
    public Builder clients(int v) { clients = v; return this; }
    public Builder opsPerClient(int v) { opsPerClient = v; return this; }
    public Builder keysPerClient(int v) { keysPerClient = v; return this; }
    public Builder protocol(ProtocolSettings v) { protocol = v; return this; }
    public Builder latency(int minMs, int maxMs) { latencyMinMs = minMs; latencyMaxMs = maxMs; return this; }
    public Builder fifoLinks(boolean v) { fifoLinks = v; return this; }
    public Builder tickMs(int v) { tickMs = v; return this; }
    public Builder requestTimeout(int firstMs, int maxMs) {
      requestTimeoutMs = firstMs;
      requestTimeoutMaxMs = maxMs;
      return this;
    }
    public Builder loadDeadlineMs(long v) { loadDeadlineMs = v; return this; }
    public Builder livenessMs(long v) { livenessMs = v; return this; }
    public Builder quietMs(long v) { quietMs = v; return this; }
    public Builder faults(Faults v) { faults = v; return this; }
    public Builder traceSize(int v) { traceSize = v; return this; }
    public Builder stopOnViolation(boolean v) { stopOnViolation = v; return this; }
    public Builder requireConvergence(boolean v) { requireConvergence = v; return this; }

    /** How each replica's core is built (a test build plants bugs with it). */
    public Builder executions(ExecutionFactory v) {
      executions = v;
      return this;
    }

    public Builder cores(CoreFactory v) {
      cores = v;
      return this;
    }

    public Builder workload(Workload.Kind v) { workload = v; return this; }
    public Builder livenessOpBoundMs(long v) { livenessOpBoundMs = v; return this; }
    public Builder durable(boolean v) { durable = v; return this; }
    public Builder eventsMax(long v) { eventsMax = v; return this; }

    /** How clients authenticate requests (signatures unless set; see {@link Authentication}). */
    public Builder authentication(Authentication v) { authentication = v; return this; }

    /** Keyed hashes instead of Ed25519 signatures (see {@link SimulationConfig#fastCrypto}). */
    public Builder fastCrypto(boolean v) { fastCrypto = v; return this; }

    /** Matching replies a client needs (see {@link SimulationConfig#clientRepliesNeeded}). */
    public Builder clientRepliesNeeded(int v) { clientRepliesNeeded = v; return this; }

    /** Reads as read-only requests (see {@link SimulationConfig#readOnlyReads}); on by default. */
    public Builder readOnlyReads(boolean v) { readOnlyReads = v; return this; }

    /** Matching read-only answers a client needs (see {@link SimulationConfig#readRepliesNeeded}). */
    public Builder readRepliesNeeded(int v) { readRepliesNeeded = v; return this; }

    /** Matching replies, tentative included, a client needs (see {@link SimulationConfig#tentativeRepliesNeeded}). */
    public Builder tentativeRepliesNeeded(int v) { tentativeRepliesNeeded = v; return this; }

    /** With signed requests, MAC the votes (see {@link SimulationConfig#macVotes}). */
    public Builder macVotes(boolean v) { macVotes = v; return this; }

    /**
     * A Byzantine client (with {@code authentication: macs}): client {@code client} gives the
     * replicas in {@code replicas} an authenticator entry that does not check.
     */
    public Builder badMacs(int client, Set<Integer> replicas) {
      badMacs.put(client, Set.copyOf(replicas));
      return this;
    }

    /**
     * One more Byzantine client, running the client behaviour {@code name} ({@link
     * ClientBehaviours}); its id follows the honest clients' and the Byzantine clients' before it.
     */
    public Builder byzantineClient(String name) {
      ClientBehaviours.check(name);
      byzantineClients.add(name);
      return this;
    }

    /** Replaces the Byzantine clients with one per name in {@code names}. */
    public Builder byzantineClients(java.util.List<String> names) {
      byzantineClients.clear();
      names.forEach(this::byzantineClient);
      return this;
    }

    /**
     * Replica {@code replica} runs twice, with the same identity and key (Twins, Bano et al.
     * 2020); it counts as a traitor. Both instances run the behaviour given with {@link #traitor}
     * for it, or the honest one.
     */
    public Builder twin(int replica) {
      twins.add(replica);
      return this;
    }

    /** Replica {@code replica} runs behind the behaviour {@code factory} builds from a seeded generator. */
    public Builder traitor(int replica, Function<Random, Behaviour> factory) {
      traitors.put(replica, factory);
      return this;
    }

    /**
     * A bug planted in correct replica {@code replica}: its messages pass through the behaviour
     * {@code factory} builds, but the checkers count it as correct and must catch what it does.
     */
    public Builder plantBehaviour(int replica, Function<Random, Behaviour> factory) {
      plantedBehaviours.put(replica, factory);
      return this;
    }

    public SimulationConfig build() {
      return new SimulationConfig(seed, replicas, clients, opsPerClient, keysPerClient, protocol, latencyMinMs,
          latencyMaxMs, fifoLinks, tickMs, requestTimeoutMs, requestTimeoutMaxMs, loadDeadlineMs, livenessMs, quietMs,
          faults, traceSize, stopOnViolation, requireConvergence, traitors, plantedBehaviours, cores, workload, twins,
          livenessOpBoundMs, durable, eventsMax, authentication, Map.copyOf(badMacs), fastCrypto, executions,
          clientRepliesNeeded, byzantineClients, readOnlyReads, readRepliesNeeded, tentativeRepliesNeeded, macVotes);
    }
  }
}

package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.Drops;
import io.pbft.proto.Reply;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import io.pbft.testkit.Cluster;
import io.pbft.testkit.ClusterTimeoutException;
import io.pbft.testkit.KvStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The deterministic simulator behind the {@link Cluster} interface: unchanged replica cores with
 * simulated disks, the simulated network and scheduler, and {@link SimKvStore} clients, driven step
 * by step by whoever holds the cluster instead of by a batch run ({@link Simulation}). Every wait
 * ({@link #await}, a blocking client call) runs the virtual clock until what it waits for holds or
 * its timeout passes in virtual time, so a scenario takes virtual minutes in real seconds, and
 * the same seed replays it event for event.
 *
 * <p>The checkers that watch every simulation watch this one too: agreement, exactly-once and
 * validity as replicas execute, equal digests at every checkpoint, no equivocation in what any
 * replica signs, restarts included ({@link #violations}).
 *
 * <p>Faults: {@link #kill} and {@link #stop} take a replica down (alike here: every record
 * reaches the simulated disk before anything depending on it leaves); {@link #restart} builds a
 * new core that recovers from that disk; {@link #pause} keeps the replica's memory;
 * {@link #isolate} partitions the replica from the others and from clients until {@link #heal}.
 * A paused or down replica does not answer {@link #status}; an isolated one does.
 */
final class SimCluster implements Cluster, SimNetwork.Receiver {
  /** How often {@link #await} looks at its condition, in virtual milliseconds. */
  private static final long AWAIT_STEP_MS = 10;

  private final SimulationConfig config;
  private final Faults faults;
  private final Scheduler scheduler = new Scheduler();
  private final Trace trace;
  private final SimNetwork network;
  private final InboundVerifier verifier;
  private final ExecutionLog log;
  private final CheckpointLog checkpoints;
  private final EquivocationLog equivocations;
  private final List<SimReplica> replicas = new ArrayList<>();
  private final List<Ed25519Keys> clientKeys = new ArrayList<>();
  private final TreeMap<Integer, SimKvStore> stores = new TreeMap<>();
  private final long[] tickPhaseMs;
  private final Set<Integer> down = new TreeSet<>();
  private final Set<Integer> paused = new TreeSet<>();
  private final List<long[]> verifierDrops = new ArrayList<>();
  private final List<String> violations = new ArrayList<>();
  private final Map<SignedMessage, Verdict<VerifiedMessage>> messageVerdicts = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<SignedMessage, Verdict<VerifiedMessage>> eldest) {
      return size() > 8192;
    }
  };
  private final Duration operationTimeout;
  private List<String> violationTrace = List.of();
  private boolean started;

  /**
   * A group as {@code config} describes it (seed, replicas, clients, protocol, latencies, ticks,
   * client timeouts; every replica durable). Faults come through this interface as it runs, so
   * the config's own faults are not used, and it may name no traitors. Client operations fail
   * after {@code operationTimeout} of virtual time.
   */
  SimCluster(SimulationConfig given, Duration operationTimeout) {
    if (!given.traitors().isEmpty() || !given.twins().isEmpty()) {
      throw new IllegalArgumentException("a SimCluster runs correct replicas only");
    }
    this.faults = Faults.none();
    SimulationConfig config = given.toBuilder().faults(faults).durable(true).build();
    this.config = config;
    this.operationTimeout = operationTimeout;
    int n = config.replicas();
    Random master = new Random(config.seed());
    ClusterKeys keys = ClusterKeys.draw(new Random(master.nextLong()), n, config.clients());
    this.trace = new Trace(config.traceSize());
    this.network = new SimNetwork(config, scheduler, new Random(master.nextLong()), trace);
    network.connect(this);
    this.log = new ExecutionLog(n, Set.of(), this::violation);
    this.checkpoints = new CheckpointLog(this::violation);
    this.equivocations = new EquivocationLog(Set.of(), this::violation);
    List<Ed25519Keys> replicaKeys = keys.replicas();
    clientKeys.addAll(keys.clients());
    this.verifier = new InboundVerifier(keys.config(config.f(), config.protocol()));
    Workload kv = Workload.create(Workload.Kind.KV, config);
    for (int i = 0; i < n; i++) {
      int id = i;
      Ed25519Keys replicaKey = replicaKeys.get(i);
      Supplier<ReplicaCore> cores =
          () -> config.cores().create(id, n, config.f(), config.protocol(), replicaKey, verifier::knownClient);
      replicas.add(new SimReplica(i, n, "replica " + i, cores, config.executions(),
          () -> new RecordingStateMachine(id, kv.newStateMachine(), log), true, replicaKey, Behaviour.HONEST, false,
          network, scheduler, log, checkpoints, equivocations, this::violation, (replica, epoch) -> {
            throw new IllegalStateException("this cluster runs no reconfigurations");
          }));
      verifierDrops.add(new long[1]);
    }
    tickPhaseMs = new long[n];
    for (int i = 0; i < n; i++) {
      tickPhaseMs[i] = master.nextInt(config.tickMs());
    }
  }

  /** Four replicas, eight clients, the simulator's default protocol (checkpoints every 16), seeded. */
  static SimCluster of(long seed) {
    return new SimCluster(SimulationConfig.builder().seed(seed).build(), Duration.ofSeconds(30));
  }

  // ---------------------------------------------------------------- Cluster

  @Override
  public SimCluster start() {
    if (!started) {
      started = true;
      for (SimReplica r : replicas) {
        scheduleTick(r, tickPhaseMs[r.id()]);
      }
      trace.note(scheduler.nowMs(), "cluster starts");
    }
    return this;
  }

  private void scheduleTick(SimReplica r, long atMs) {
    scheduler.at(atMs, () -> {
      r.tick();
      scheduleTick(r, atMs + config.tickMs());
    });
  }

  @Override
  public int size() {
    return replicas.size();
  }

  @Override
  public int f() {
    return config.f();
  }

  /** As {@link #kill}: a simulated replica has nothing to flush on its way out. */
  @Override
  public void stop(int id) {
    kill(id);
  }

  @Override
  public void kill(int id) {
    SimReplica r = replica(id);
    r.crash(false);
    down.add(id);
    paused.remove(id);
    trace.note(scheduler.nowMs(), "replica " + id + " crashes (memory lost, disk kept)");
  }

  @Override
  public void pause(int id) {
    SimReplica r = replica(id);
    if (down.contains(id)) {
      throw new IllegalStateException("replica " + id + " is down");
    }
    r.crash(false);
    paused.add(id);
    trace.note(scheduler.nowMs(), "replica " + id + " pauses");
  }

  @Override
  public void resume(int id) {
    if (paused.remove(id)) {
      replica(id).restart();
      trace.note(scheduler.nowMs(), "replica " + id + " resumes");
    }
  }

  @Override
  public void isolate(int id) {
    replica(id);
    faults.partition(Set.of(id), true, scheduler.nowMs(), Faults.UNTIL_HEALED);
    trace.note(scheduler.nowMs(), "replica " + id + " is cut off");
  }

  @Override
  public void heal() {
    faults.endWindowsAt(scheduler.nowMs());
    trace.note(scheduler.nowMs(), "the network heals");
  }

  @Override
  public void restart(int id) {
    SimReplica r = replica(id);
    if (!down.contains(id)) {
      kill(id);
    }
    down.remove(id);
    paused.remove(id);
    trace.note(scheduler.nowMs(), "replica " + id + " restarts from its disk");
    r.recoverFromDisk();
    verifierDrops.get(id)[0] = 0;
  }

  @Override
  public boolean replacesMachines() {
    return true;
  }

  /** Crashes replica {@code id} (if up), gives it an empty disk, and starts it again from nothing. */
  @Override
  public void replaceWithEmptyState(int id) {
    SimReplica r = replica(id);
    if (!down.contains(id)) {
      kill(id);
    }
    r.wipeDisk();
    trace.note(scheduler.nowMs(), "replica " + id + "'s disk is replaced by an empty one");
    restart(id);
  }

  @Override
  public KvStore kv(int clientId) {
    if (clientId < 0 || clientId >= clientKeys.size()) {
      throw new IllegalArgumentException("no client " + clientId + " (0.." + (clientKeys.size() - 1) + ")");
    }
    return stores.computeIfAbsent(clientId, c -> new SimKvStore(this, c, clientKeys.get(c)));
  }

  @Override
  public StatusResponse status(int id) {
    SimReplica r = replica(id);
    if (down.contains(id) || paused.contains(id)) {
      throw new IllegalStateException("replica " + id + " does not answer: it is " + (paused.contains(id) ? "paused" : "down"));
    }
    ReplicaCore core = r.core();
    StatusResponse.Builder status = StatusResponse.newBuilder()
        .setReplicaId(id)
        .setView(core.view())
        .setPrimary(core.primary())
        .setLastExecuted(r.lastExecuted())
        .setLowWatermark(core.lowWatermark())
        .setStateDigest(ByteString.copyFrom(r.stateDigest()))
        .setReplicas(size())
        .setViewChanging(core.viewChanging())
        .setViewChangesStarted(r.viewChangesStarted())
        .setRequestTimeoutMs(core.requestTimeoutMs())
        .setAgreementLatencyMs(core.agreementLatencyMs())
        .setExecutedRequests(core.executedRequests())
        .setStateTransfers(r.stateTransfers())
        .setStateTransferBytes(core.stateTransferBytes())
        .setDurable(r.durable())
        .putAllRejected(core.rejections().snapshot());
    if (verifierDrops.get(id)[0] > 0) {
      status.setDropped(Drops.newBuilder().putByReason("failed verification", verifierDrops.get(id)[0]));
    }
    return status.build();
  }

  @Override
  public void await(String what, BooleanSupplier condition, Duration timeout) {
    long start = scheduler.nowMs();
    long deadline = start + timeout.toMillis();
    while (!condition.getAsBoolean()) {
      if (scheduler.nowMs() >= deadline) {
        throw new ClusterTimeoutException("not within " + timeout.toMillis() + " virtual ms (at " + start + " ms, seed "
            + config.seed() + "): " + what);
      }
      runUntil(() -> false, Math.min(deadline, scheduler.nowMs() + AWAIT_STEP_MS));
    }
  }

  @Override
  public void close() {
    stores.values().forEach(SimKvStore::close);
  }

  // ---------------------------------------------------------------- the simulation

  /** Runs events until {@code done} holds (checked after each) or the virtual clock reaches {@code untilMs}. */
  void runUntil(BooleanSupplier done, long untilMs) {
    if (!started) {
      throw new IllegalStateException("the cluster is not started");
    }
    while (!done.getAsBoolean() && scheduler.runNext(untilMs)) {
      // each event may have completed what we wait for
    }
  }

  long nowMs() {
    return scheduler.nowMs();
  }

  long seed() {
    return config.seed();
  }

  SimulationConfig config() {
    return config;
  }

  Duration operationTimeout() {
    return operationTimeout;
  }

  Scheduler scheduler() {
    return scheduler;
  }

  SimNetwork network() {
    return network;
  }

  ExecutionLog executionLog() {
    return log;
  }

  /** Replica {@code id}'s core (for checks the status does not cover). */
  ReplicaCore core(int id) {
    return replica(id).core();
  }

  /** Violations the checkers found so far, each with its virtual time. */
  List<String> violations() {
    return List.copyOf(violations);
  }

  /** The trace around the first violation (or the last events when there is none). */
  List<String> trace() {
    return violations.isEmpty() ? trace.lines() : violationTrace;
  }

  private void violation(String what) {
    if (violations.isEmpty()) {
      violationTrace = trace.around(what);
    }
    violations.add("at " + scheduler.nowMs() + " ms: " + what);
  }

  private SimReplica replica(int id) {
    if (id < 0 || id >= replicas.size()) {
      throw new IllegalArgumentException("no replica " + id + " (ids 0.." + (replicas.size() - 1) + ")");
    }
    return replicas.get(id);
  }

  // ---------------------------------------------------------------- deliveries (as Simulation's)

  @Override
  public void replicaMessage(int from, int to, SignedMessage message) {
    SimReplica r = replicas.get(to);
    if (r.down()) {
      trace.record(scheduler.nowMs(), "missed", "r" + from, "r" + to, message);
      return;
    }
    Verdict<VerifiedMessage> v = messageVerdicts.get(message);
    if (v == null) {
      v = verifier.verify(message); // a broadcast is one object: verified once for every receiver
      messageVerdicts.put(message, v);
    }
    if (!v.isOk()) {
      verifierDrops.get(to)[0]++;
      trace.record(scheduler.nowMs(), "refused", "r" + from, "r" + to, v.describe());
      return;
    }
    trace.record(scheduler.nowMs(), "deliver", "r" + from, "r" + to, message);
    r.onMessage(v.value());
  }

  @Override
  public void request(int client, int to, SignedRequest request) {
    SimReplica r = replicas.get(to);
    if (r.down()) {
      return;
    }
    Verdict<VerifiedRequest> v = verifier.verify(request, client);
    if (!v.isOk()) {
      verifierDrops.get(to)[0]++;
      return;
    }
    trace.record(scheduler.nowMs(), "deliver", "c" + client, "r" + to, request);
    r.onRequest(v.value());
  }

  @Override
  public void reply(int from, int client, Reply reply) {
    trace.record(scheduler.nowMs(), "deliver", "r" + from, "c" + client, reply);
    SimKvStore store = stores.get(client);
    if (store != null) {
      store.onReply(from, reply);
    }
  }
}

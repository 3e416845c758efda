package io.pbft.chaos.sim;

import io.pbft.config.ClientInfo;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.config.TransportSettings;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.Reply;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.core.Behaviour;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * A deterministic simulation of a whole PBFT group: n unchanged {@link ReplicaCore}s with
 * key-value stores, closed-loop clients, a network with seeded latencies and faults, all on a
 * virtual clock. Real Ed25519 keys (drawn from the seed) sign every message, and every message
 * passes through the {@link InboundVerifier} before its core sees it, as in the runtime. The same
 * config replays the same run, event for event.
 *
 * <p>A run has three phases: load (clients run their operations while faults strike), liveness
 * (every fault but a permanent crash heals; clients finish), and quiet (no load; the group
 * settles). Checkers watch execution throughout and the end state afterwards.
 */
public final class Simulation implements SimNetwork.Receiver {
  private final SimulationConfig config;
  private final Scheduler scheduler = new Scheduler();
  private final Trace trace;
  private final SimNetwork network;
  private final InboundVerifier verifier;
  private final ExecutionLog log;
  private final List<SimReplica> replicas = new ArrayList<>();
  private final List<SimClient> clients = new ArrayList<>();
  private final long[] tickPhaseMs;
  private final long[] clientStartMs;
  private final TreeMap<String, Long> verifierRejections = new TreeMap<>();
  private final List<String> violations = new ArrayList<>();
  private List<String> violationTrace = List.of();
  private int clientsFinished;
  private boolean stopped;

  /** Runs one simulation to its end and checks it. */
  public static SimulationResult run(SimulationConfig config) {
    return new Simulation(config).execute();
  }

  private Simulation(SimulationConfig config) {
    this.config = config;
    int n = config.replicas();
    Random master = new Random(config.seed());
    Random keyRandom = new Random(master.nextLong());
    this.trace = new Trace(config.traceSize());
    this.network = new SimNetwork(config, scheduler, new Random(master.nextLong()), trace);
    network.connect(this);
    this.log = new ExecutionLog(n, config.traitors().keySet(), this::violation);

    SecureRandom keySource = new SecureRandom() {
      @Override
      public void nextBytes(byte[] bytes) {
        keyRandom.nextBytes(bytes);
      }
    };
    List<Ed25519Keys> replicaKeys = new ArrayList<>();
    List<ReplicaInfo> replicaInfos = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Ed25519Keys k = Ed25519Keys.generate(keySource);
      replicaKeys.add(k);
      replicaInfos.add(new ReplicaInfo(i, "sim", 10_000 + i, k.publicKey(), null));
    }
    List<Ed25519Keys> clientKeys = new ArrayList<>();
    List<ClientInfo> clientInfos = new ArrayList<>();
    for (int c = 0; c < config.clients(); c++) {
      Ed25519Keys k = Ed25519Keys.generate(keySource);
      clientKeys.add(k);
      clientInfos.add(new ClientInfo(c, k.publicKey(), null));
    }
    ClusterConfig cluster = new ClusterConfig(replicaInfos, clientInfos, config.f(), config.protocol(),
        TransportSettings.defaults(), null);
    this.verifier = new InboundVerifier(cluster);

    for (int i = 0; i < n; i++) {
      RecordingStateMachine app = new RecordingStateMachine(i, log);
      ReplicaCore core = new ReplicaCore(i, n, config.f(), config.protocol(), replicaKeys.get(i), app,
          verifier::knownClient);
      config.coreHook().accept(i, core);
      // Traitors draw from their own generators, so adding one leaves every other stream as it was.
      Behaviour behaviour = config.traitors().containsKey(i)
          ? config.traitors().get(i).apply(new Random(config.seed() * 7919 + i)) : Behaviour.HONEST;
      replicas.add(new SimReplica(i, n, core, app, replicaKeys.get(i), behaviour, network, scheduler,
          this::violation));
    }
    for (int c = 0; c < config.clients(); c++) {
      clients.add(new SimClient(c, clientKeys.get(c), config, scheduler, network, log, () -> clientsFinished++));
    }
    // Replicas' clocks tick out of phase with each other, as separate processes do.
    tickPhaseMs = new long[n];
    for (int i = 0; i < n; i++) {
      tickPhaseMs[i] = master.nextInt(config.tickMs());
    }
    clientStartMs = new long[config.clients()];
    for (int c = 0; c < config.clients(); c++) {
      clientStartMs[c] = master.nextInt(20);
    }
  }

  private SimulationResult execute() {
    long wallStart = System.nanoTime();
    for (Faults.Crash c : config.faults().crashes()) {
      scheduler.at(c.atMs(), () -> crash(c.replica(), c.forever()));
      if (!c.forever()) {
        scheduler.at(c.resumeAtMs(), () -> restart(c.replica()));
      }
    }
    for (Faults.CrashAfterPrePrepares c : config.faults().midProtocolCrashes()) {
      replicas.get(c.replica()).crashAfterPrePrepares(c.count());
    }
    for (SimReplica r : replicas) {
      scheduleTick(r, tickPhaseMs[r.id()]);
    }
    for (SimClient c : clients) {
      c.start(clientStartMs[c.id()]);
    }

    BooleanSupplier allFinished = () -> clientsFinished == clients.size();
    runUntil(allFinished, config.loadDeadlineMs());
    heal();
    runUntil(allFinished, scheduler.nowMs() + config.livenessMs());
    if (!stopped && !allFinished.getAsBoolean()) {
      violation("liveness: " + (clients.size() - clientsFinished) + " clients did not finish within "
          + config.livenessMs() + " ms of healing");
    }
    runUntil(() -> false, scheduler.nowMs() + config.quietMs());
    if (!stopped) {
      Checkers.clientResults(clients, this::violation);
      if (config.requireConvergence()) {
        Checkers.convergence(replicas, this::violation);
      }
      Checkers.durability(clients, replicas, config.f(), config.keysPerClient(), this::violation);
    }
    return result((System.nanoTime() - wallStart) / 1_000_000);
  }

  private void runUntil(BooleanSupplier done, long untilMs) {
    while (!stopped && !done.getAsBoolean() && scheduler.runNext(untilMs)) {
      // each event runs inside runNext
    }
  }

  private void scheduleTick(SimReplica r, long atMs) {
    scheduler.at(atMs, () -> {
      r.tick(scheduler.nowMs());
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

  /** End of the load phase: every fault window closes; paused replicas resume. */
  private void heal() {
    network.heal();
    trace.note(scheduler.nowMs(), "faults heal");
    for (SimReplica r : replicas) {
      restart(r.id());
    }
  }

  private void violation(String what) {
    if (violations.isEmpty()) {
      violationTrace = trace.lines();
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
    if (r.down()) {
      trace.record(scheduler.nowMs(), "missed", "r" + from, "r" + to, message);
      return;
    }
    Verdict<VerifiedMessage> v = verifier.verify(message);
    if (!v.isOk()) {
      verifierRejections.merge(v.reason(), 1L, Long::sum);
      return;
    }
    trace.record(scheduler.nowMs(), "deliver", "r" + from, "r" + to, v.value().message());
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
      verifierRejections.merge(v.reason(), 1L, Long::sum);
      return;
    }
    trace.record(scheduler.nowMs(), "deliver", "c" + client, "r" + to, request);
    r.onRequest(v.value());
  }

  @Override
  public void reply(int from, int client, Reply reply) {
    trace.record(scheduler.nowMs(), "deliver", "r" + from, "c" + client, reply);
    clients.get(client).onReply(from, reply);
  }

  // ---------------------------------------------------------------- result

  private SimulationResult result(long wallMs) {
    List<OpRecord> history = new ArrayList<>();
    clients.forEach(c -> history.addAll(c.history()));
    history.sort(Comparator.comparingInt(OpRecord::client).thenComparingLong(OpRecord::timestamp));
    int completed = (int) history.stream().filter(OpRecord::completed).count();
    List<SimulationResult.ReplicaSummary> summaries = new ArrayList<>();
    long transfers = 0;
    long viewChanges = 0;
    long certificates = 0;
    for (SimReplica r : replicas) {
      certificates += r.certificatesCarried();
      ReplicaCore core = r.core();
      transfers += core.stateTransfer().transfersCompleted();
      viewChanges += core.viewChangesStarted();
      summaries.add(new SimulationResult.ReplicaSummary(r.id(), r.downForever(), r.behaviourName(), core.view(),
          core.viewChanging(), core.lastExecuted(), core.lowWatermark(), Digests.hex(core.stateDigest()),
          core.viewChangesStarted(), core.stateTransfer().transfersCompleted(), log.operationsExecuted(r.id()),
          core.rejections().snapshot()));
    }
    List<String> lastEvents = violations.isEmpty() ? trace.lines() : violationTrace;
    return new SimulationResult(config.seed(), config.faults().toString(), completed, history.size() - completed,
        scheduler.nowMs(), wallMs, List.copyOf(violations), lastEvents, List.copyOf(summaries), transfers,
        viewChanges, certificates, log.crossViewExecutions(), network.sent(), network.lost(),
        new TreeMap<>(verifierRejections), List.copyOf(history));
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

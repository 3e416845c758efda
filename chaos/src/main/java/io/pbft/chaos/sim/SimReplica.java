package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Signer;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.core.Effects;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.execution.Execution;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.node.EffectApplier;
import io.pbft.replica.node.InlineReplica;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.ParsedPayloads;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One simulated replica: a {@link ReplicaCore} and its executor over a recording application, in
 * an {@link InlineReplica} (one verified input at a time, then its effects are carried out by the
 * same {@link EffectApplier} the runtime uses, through its {@link Behaviour}, honest or a
 * traitor's), switched off and on by crash faults.
 *
 * <p>A paused replica neither receives nor sends nor ticks and keeps its memory, so resuming it
 * is like a long stall. A durable replica keeps a {@link SimDisk}; restarting it throws its
 * memory away and builds a new core that recovers from the disk, as a new process would. Its
 * clock may be skewed: the core sees {@code offset + rate * t}.
 */
final class SimReplica {
  private final int id;
  private final int n;
  private final String label;
  private final Supplier<ReplicaCore> cores;
  private final SimulationConfig.ExecutionFactory executions;
  private final Supplier<RecordingStateMachine> apps;
  private final ExecutionLog executionLog;
  private final CheckpointLog checkpointLog;
  private final EquivocationLog equivocationLog;
  private InlineReplica replica;
  /**
   * The cores of the configuration epochs this replica left, by epoch: each keeps helping replicas
   * still in its epoch reach the handover (heartbeats, checkpoint proofs, batches and the state).
   */
  private final java.util.TreeMap<Long, InlineReplica> retired = new java.util.TreeMap<>();
  /** Builds this replica's core for a configuration epoch it enters; null where the group never changes. */
  private final EpochCores epochCores;
  private RecordingStateMachine app;
  private final SimDisk disk;
  private final Behaviour behaviour;
  private final boolean traitor;
  private Behaviour.Signing signing;
  /** How it signs in epoch 0. */
  private final Signer initialSigner;
  private final SimNetwork network;
  private final Scheduler scheduler;
  private final Consumer<String> violation;
  private long clockOffsetMs;
  private double clockRate = 1.0;
  private boolean down;
  private boolean downForever;
  /** Crash right after sending this many pre-prepares (0: never). */
  private int crashAfterPrePrepares;
  private int prePreparesSent;
  private boolean crashNow;
  private long certificatesCarried;
  private int restarts;
  private long traitorFailures;
  /** Counters of the cores this replica ran before its restarts, so that summaries add up. */
  private long priorViewChanges;
  private long priorTransfers;
  /** VIEW-CHANGEs for distinct views this replica's current core signed (its timers back off with each). */
  private int viewChangesSigned;
  private long lastViewChangeTarget = -1;
  /** The highest view this replica (any of its cores) signed a VIEW-CHANGE for, and sent a NEW-VIEW for. */
  private long highestViewChangeSigned = -1;
  private long highestNewViewSent = -1;
  private SimRecorder recorder = SimRecorder.NONE;
  /**
   * Parses what this replica sends; the simulation's verifiers share it, so that its receivers
   * find each message parsed already.
   */
  private Function<ByteString, ParsedPayloads.Parsed> payloads = ParsedPayloads::parseNow;

  /** Parses what this replica sends as {@code verifier} parses what replicas receive. */
  void parseWith(InboundVerifier verifier) {
    payloads = verifier::parse;
  }

  SimReplica(int id, int n, String label, Supplier<ReplicaCore> cores, SimulationConfig.ExecutionFactory executions,
      Supplier<RecordingStateMachine> apps,
      boolean durable, Signer keys, Behaviour behaviour, boolean traitor, SimNetwork network,
      Scheduler scheduler, ExecutionLog executionLog, CheckpointLog checkpointLog, EquivocationLog equivocationLog,
      Consumer<String> violation, EpochCores epochCores) {
    this.epochCores = epochCores;
    this.id = id;
    this.n = n;
    this.label = label;
    this.cores = cores;
    this.executions = executions;
    this.apps = apps;
    this.executionLog = executionLog;
    this.checkpointLog = checkpointLog;
    this.equivocationLog = equivocationLog;
    this.disk = durable ? new SimDisk() : null;
    this.behaviour = behaviour;
    this.traitor = traitor;
    this.initialSigner = keys;
    this.signing = Behaviour.Signing.of(id, keys);
    this.network = network;
    this.scheduler = scheduler;
    this.violation = violation;
    this.app = apps.get();
    this.replica = newReplica(app);
  }

  /**
   * What the simulation builds for a replica entering a configuration epoch
   * (docs/RECONFIGURATION.md): that epoch's core for it and how it signs there.
   */
  interface EpochCores {
    Entered enter(int replica, io.pbft.config.Membership epoch);

    record Entered(ReplicaCore core, io.pbft.crypto.Signer signer) {}
  }

  /** A fresh core and executor over {@code app}, wired to this replica's disk and network. */
  private InlineReplica newReplica(RecordingStateMachine app) {
    ReplicaCore core = cores.get();
    if (disk != null) {
      disk.attach(app);
      core.enableDurability();
    }
    return wrap(core, executions.create(app, disk != null ? disk : CheckpointStore.NONE));
  }

  /** {@code core} and {@code execution} in one replica, wired to this replica's disk and network. */
  private InlineReplica wrap(ReplicaCore core, Execution execution) {
    core.checkEverythingAfterEachEvent();
    EffectApplier.Transport transport = new EffectApplier.Transport() {
      @Override
      public void send(Effects.Outgoing out) {
        transmit(out, inspect(out));
      }

      @Override
      public void sendLater(Effects.Outgoing out, long delayMs) {
        ReplicaMessage body = inspect(out);
        scheduler.after(delayMs, () -> transmit(out, body));
      }
    };
    // Only the current epoch's core writes the log: a retired core's records would belong to an
    // epoch a restart no longer resumes.
    EffectApplier.Storage storage = disk == null ? EffectApplier.Storage.NONE : (records, compaction) -> {
      if (replica == null || replica.core() == core) {
        disk.persist(records, compaction);
      }
    };
    InlineReplica built = new InlineReplica(core, execution, storage, behaviour, signing, transport,
        (client, reply) -> network.sendReply(id, client, reply));
    // Each batch as the core ordered it, before the executor filters out what ran already.
    built.observeApplication(effects -> {
      for (Effects.Execute e : effects.executions()) {
        List<SignedRequest> batch = new ArrayList<>(e.requests().size());
        e.requests().forEach(r -> batch.add(r.signed()));
        executionLog.batchExecuted(id, e.sequence(), e.view(), batch, e.tentative(), e.digest());
      }
    });
    return built;
  }

  int id() {
    return id;
  }

  /** Who hears this replica's ticks, crashes and restarts. */
  void record(SimRecorder r) {
    recorder = r;
  }

  /** "replica 2", or "replica 2 (twin)". */
  String label() {
    return label;
  }

  ReplicaCore core() {
    return replica.core();
  }

  RecordingStateMachine app() {
    return app;
  }

  /** The executor's digest of the replicated state (application and client table). */
  byte[] stateDigest() {
    return replica.execution().stateDigest().toByteArray();
  }

  /** The configuration epoch and pending reconfiguration as the executed state has them. */
  io.pbft.replica.execution.Epochs.Summary epochs() {
    return replica.execution().epochs().summary();
  }

  /** How far the executor ran (the core learns it a moment later). */
  long lastExecuted() {
    return replica.execution().lastExecuted();
  }

  /** A traitor (or a twin): left out of every check, since it may say or hold anything. */
  boolean traitor() {
    return traitor;
  }

  String behaviourName() {
    return behaviour.name();
  }

  boolean down() {
    return down;
  }

  /** Crashed for good, or left out of the group by an epoch (it stops for good shortly after). */
  boolean downForever() {
    return downForever || removedIn >= 0;
  }

  boolean durable() {
    return disk != null;
  }

  int restarts() {
    return restarts;
  }

  /** Exceptions a traitor's core threw (ignored: a traitor proves nothing). */
  long traitorFailures() {
    return traitorFailures;
  }

  long viewChangesStarted() {
    return priorViewChanges + core().viewChangesStarted();
  }

  long stateTransfers() {
    return priorTransfers + core().stateTransfers();
  }

  /**
   * Consecutive view changes this replica's core may have behind it: the VIEW-CHANGEs for
   * distinct views it signed since it started (counted on the wire, not asked of the core; it
   * may have made progress in between, which resets its count, so this is an upper bound).
   */
  int viewChangesSigned() {
    return viewChangesSigned;
  }

  /** The highest view this replica signed a VIEW-CHANGE for (-1: none), restarts included. */
  long highestViewChangeSigned() {
    return highestViewChangeSigned;
  }

  /** The highest view this replica sent a NEW-VIEW for (-1: none), whatever its behaviour. */
  long highestNewViewSent() {
    return highestNewViewSent;
  }

  /** Prepared certificates this replica put into the VIEW-CHANGEs it sent. */
  long certificatesCarried() {
    return certificatesCarried;
  }

  void skewClock(long offsetMs, double rate) {
    clockOffsetMs = offsetMs;
    clockRate = rate;
  }

  void crashAfterPrePrepares(int count) {
    crashAfterPrePrepares = count;
  }

  void crash(boolean forever) {
    recorder.crashed(id);
    down = true;
    downForever |= forever;
  }

  /** Resumes a paused replica, its memory intact. */
  void restart() {
    if (!downForever) {
      if (down) {
        recorder.resumed(id);
      }
      down = false;
    }
  }

  /** Its disk failed and an empty one took its place (call while it is down; {@link #recoverFromDisk} then starts from nothing). */
  void wipeDisk() {
    if (disk == null) {
      throw new IllegalStateException("replica " + id + " keeps no disk to replace");
    }
    disk.wipe();
  }

  /**
   * A new process for this replica: a fresh application restored from the disk's checkpoint and
   * a fresh core that recovers from the disk's log. Memory of the old one is gone.
   */
  void recoverFromDisk() {
    if (disk == null) {
      throw new IllegalStateException("replica " + id + " keeps no disk to restart from");
    }
    priorViewChanges += core().viewChangesStarted();
    priorTransfers += core().stateTransfers();
    viewChangesSigned = 0;
    lastViewChangeTarget = -1;
    restarts++;
    down = false;
    app = apps.get();
    byte[] snapshot = disk.appSnapshot();
    if (snapshot != null) {
      app.restore(snapshot);
    }
    retired.clear();
    disk.attach(app);
    Execution execution = executions.create(app, disk);
    long appSequence = disk.checkpointSequence();
    if (appSequence > 0) {
      execution.recoverAt(appSequence, disk.clientTable());
    }
    // The core of the epoch its log was written in: the application's state names the current
    // epoch, but a replica that crashed after executing the handover checkpoint and before its
    // core saw that checkpoint stable resumes the previous epoch, which then ends as usual.
    List<io.pbft.proto.WalRecord> log = disk.log();
    io.pbft.replica.execution.Epochs.Resume at = execution.epochs().resume(appSequence, ReplicaCore.epochOfLog(log));
    ReplicaCore core;
    boolean rejoin = joined != null && appSequence == 0;
    if (rejoin) {
      // The new machine crashed before it had the group's state: it joins its epoch again.
      EpochCores.Entered e = epochCores.enter(id, joined);
      core = e.core();
      signing = Behaviour.Signing.of(id, e.signer(), joined.epoch());
    } else if (at.membership() == null) {
      core = cores.get();
      signing = Behaviour.Signing.of(id, initialSigner);
    } else {
      EpochCores.Entered e = epochCores.enter(id, at.membership());
      core = e.core();
      signing = Behaviour.Signing.of(id, e.signer(), at.membership().epoch());
    }
    core.enableDurability();
    replica = null;
    replica = wrap(core, execution);
    executionLog.restarted(id, appSequence);
    recorder.restarted(id, localNow());
    ByteString genesisDigest = appSequence == at.genesis() ? execution.stateDigest() : ByteString.EMPTY;
    input(c -> {
      if (rejoin) {
        c.joinEpoch(joined.epoch(), joinedView, joinedAt);
        c.recover(localNow(), 0, execution.clientTable(), log, 0);
        return;
      }
      if (at.membership() != null) {
        c.startEpoch(at.membership().epoch(), at.genesis(), genesisDigest, execution.clientTable(), at.firstView());
      }
      c.recover(localNow(), appSequence, execution.clientTable(), log, at.handoverAt());
    });
  }

  /**
   * A verified message, for the core of the epoch it names: the current one, or a retired one
   * that still helps replicas behind in its epoch. A message of an epoch this replica has not
   * reached is dropped: it catches up through the cores its peers retired.
   */
  void onMessage(VerifiedMessage m) {
    if (down || !behaviour.admit(m)) {
      return;
    }
    long epoch = m.message().getEpoch();
    if (epoch == replica.core().epoch()) {
      input(core -> core.onMessage(localNow(), m));
    } else if (retired.containsKey(epoch)) {
      input(retired.get(epoch), core -> core.onMessage(localNow(), m));
    } else if (epoch > replica.core().epoch()) {
      input(core -> core.peerInLaterEpoch(localNow(), m.sender()));
    }
  }

  /** The configuration epoch this replica's current core runs. */
  long epoch() {
    return replica.core().epoch();
  }

  void onRequest(VerifiedRequest r) {
    if (down || !behaviour.admitRequest(r.request())) {
      return;
    }
    if (r.request().getReadOnly()) {
      // As the runtime does: to the executor's side, answered once it reached the read floor.
      try {
        replica.read(r);
      } catch (RuntimeException e) {
        if (traitor) {
          traitorFailures++;
        } else {
          violation.accept(label + " failed answering a read: " + e + where(e));
        }
      }
      return;
    }
    input(core -> core.onRequest(localNow(), r));
  }

  /** A client's session to this replica came (back) up. */
  void onSessionOpened(int clientId) {
    if (!down) {
      input(core -> core.onSessionOpened(localNow(), clientId));
    }
  }

  void tick() {
    if (!down) {
      recorder.tick(id, localNow());
      input(core -> core.tick(localNow()));
      for (InlineReplica r : retired.values()) {
        input(r, core -> core.tick(localNow()));
      }
    }
  }

  /** This replica's clock: the virtual time, skewed. */
  long localNow() {
    return clockOffsetMs + (long) (scheduler.nowMs() * clockRate);
  }

  /** Feeds one input to the core and carries out everything that follows (invariants checked). */
  private void input(Consumer<ReplicaCore> event) {
    input(replica, event);
  }

  /**
   * Feeds one input to {@code target}'s core and carries out everything that follows; when that
   * ends the current core's epoch, enters the next.
   */
  private void input(InlineReplica target, Consumer<ReplicaCore> event) {
    try {
      long now = localNow();
      // The skew faults model timers that run fast or slow; the wall clock, which a primary
      // proposes as a batch's time, is the virtual time itself (synchronized clocks).
      target.run(now, core -> {
        core.wallClock(now, scheduler.nowMs());
        event.accept(core);
      });
      if (target == replica && replica.core().epochEnded()) {
        enterNextEpoch(now);
      }
    } catch (RuntimeException e) {
      if (traitor) {
        // A traitor's own core may be confused by what its behaviour did; only correct ones count.
        traitorFailures++;
      } else {
        violation.accept(label + " failed: " + e + where(e));
      }
    }
    if (crashNow) {
      crashNow = false;
      crash(true);
    }
  }

  /**
   * The current core's epoch ended at its handover checkpoint, after which the executed state is
   * the next epoch's: that epoch's core starts there (view 0, its genesis the handover checkpoint,
   * the state's client table), over the same executor and application, and the old core retires.
   */
  private void enterNextEpoch(long now) {
    ReplicaCore old = replica.core();
    Execution execution = replica.execution();
    io.pbft.config.Membership next = execution.epochs().current();
    long at = old.handoverAt();
    if (next == null || next.epoch() != old.epoch() + 1 || execution.lastExecuted() != at) {
      throw new IllegalStateException("epoch " + old.epoch() + " ended at " + at + " but the executor is at "
          + execution.lastExecuted() + " in epoch " + (next == null ? "none" : next.epoch()));
    }
    if (removedIn >= 0) {
      return; // its epoch ended with it removed: the ended core helps laggards until the machine stops
    }
    if (!next.hasMember(id)) {
      leaveTheGroup(next);
      return;
    }
    io.pbft.config.Membership before = execution.epochs().previous();
    if (before != null && before.hasMember(id) && next.hasMember(id)
        && !before.member(id).address().equalsIgnoreCase(next.member(id).address())) {
      moveToNewMachine(now, next, execution.epochs().firstView(), at);
      return;
    }
    EpochCores.Entered entered = epochCores.enter(id, next);
    if (disk != null) {
      entered.core().enableDurability(); // its first effects compact the log to the new epoch's
    }
    entered.core().startEpoch(next.epoch(), at, old.lastStableCheckpointDigest(), execution.clientTable(),
        execution.epochs().firstView());
    retired.put(old.epoch(), replica);
    // The summary counts what every core of this replica did, the retired ones' included.
    priorViewChanges += old.viewChangesStarted();
    priorTransfers += old.stateTransfers();
    signing = Behaviour.Signing.of(id, entered.signer(), next.epoch());
    replica = wrap(entered.core(), execution);
    epochEntered.entered(id, next, execution.epochs().firstView(), at);
    List<io.pbft.replica.verify.VerifiedRequest> held = old.unexecutedRequests();
    replica.run(now, core -> {
      core.tick(now);
      for (io.pbft.replica.verify.VerifiedRequest r : held) {
        core.onRequest(now, r, true); // what the old core held and did not order goes on here
      }
    });
  }

  /**
   * The epoch that begins moves this replica to another address: a new machine takes over, as
   * {@code pbft replica --join} does (docs/RECONFIGURATION.md). Its application, executor and disk
   * start empty, its core of the new epoch joins without state ({@link ReplicaCore#joinEpoch}, in
   * the view and at the checkpoint the group began the epoch in, which the real joiner learns from
   * the members) and takes
   * the state by state transfer; the old machine keeps helping laggards with its cores for a while.
   */
  private void moveToNewMachine(long now, io.pbft.config.Membership next, long view, long genesis) {
    priorViewChanges += core().viewChangesStarted();
    priorTransfers += core().stateTransfers();
    viewChangesSigned = 0;
    lastViewChangeTarget = -1;
    moves++;
    // The old machine keeps helping replicas still in the epochs it left for a while, as a
    // replica process does for ReplicaServer.DEPARTED_GRACE_MS after it steps down; then it is gone.
    java.util.TreeMap<Long, InlineReplica> oldMachine = new java.util.TreeMap<>(retired);
    oldMachine.put(replica.core().epoch(), replica);
    retired.putAll(oldMachine);
    scheduler.after(OLD_MACHINE_GRACE_MS, () -> oldMachine.forEach((epoch, r) -> retired.remove(epoch, r)));
    startWithoutState(now, next, view, genesis);
  }

  /**
   * This machine starts empty in epoch {@code next}, which names it, as {@code pbft replica --join}
   * does: application, executor and disk empty, its core of that epoch joining without state ({@link
   * ReplicaCore#joinEpoch}, in the view and at the checkpoint the group began the epoch in, which
   * the real joiner learns from the members), to take the state by state transfer.
   */
  private void startWithoutState(long now, io.pbft.config.Membership next, long view, long genesis) {
    joined = next;
    joinedView = view;
    joinedAt = genesis;
    app = apps.get();
    if (disk != null) {
      disk.wipe();
      disk.attach(app);
    }
    Execution execution = executions.create(app, disk != null ? disk : CheckpointStore.NONE);
    EpochCores.Entered entered = epochCores.enter(id, next);
    if (disk != null) {
      entered.core().enableDurability();
    }
    signing = Behaviour.Signing.of(id, entered.signer(), next.epoch());
    replica = null;
    replica = wrap(entered.core(), execution);
    executionLog.restarted(id, 0);
    recorder.restarted(id, localNow());
    replica.run(now, core -> {
      core.joinEpoch(next.epoch(), view, genesis);
      core.tick(now);
    });
  }

  /**
   * The spare replica the administrator adds (not a member of epoch 0, down until then) starts as
   * the group's new member in epoch {@code next}, which names it, without state.
   */
  void joinAsAddedMember(long now, io.pbft.config.Membership next, long view, long genesis) {
    if (joined != null || !next.hasMember(id)) {
      return; // started already, or not named
    }
    down = false;
    downForever = false;
    startWithoutState(now, next, view, genesis);
  }

  /** Whether this replica's machine started (every replica but a spare that no epoch added yet). */
  boolean started() {
    return !spare || joined != null;
  }

  private boolean spare;

  /** This replica is the administrator's spare: no member of epoch 0, down until an epoch adds it. */
  void spare() {
    spare = true;
    down = true;
    downForever = true;
  }

  /**
   * The epoch that begins leaves this replica out: it takes no further part, as a replica process
   * steps down ({@code ReplicaServer.depart}). Its ended core keeps helping replicas still in the
   * epoch it left for {@link #OLD_MACHINE_GRACE_MS}; then the machine stops for good.
   */
  private void leaveTheGroup(io.pbft.config.Membership next) {
    removedIn = next.epoch();
    scheduler.after(OLD_MACHINE_GRACE_MS, () -> crash(true));
  }

  /** Whether an epoch left this replica out (it stops for good shortly after). */
  boolean removed() {
    return removedIn >= 0;
  }

  /** The epoch that left this replica out (-1: none did). */
  private long removedIn = -1;

  /** Told of each epoch this replica enters at a handover (the simulation starts an added member then). */
  interface EpochEntered {
    void entered(int replica, io.pbft.config.Membership epoch, long firstView, long genesis);
  }

  private EpochEntered epochEntered = (r, m, v, g) -> { };

  void whenEpochEntered(EpochEntered hook) {
    epochEntered = hook;
  }

  /** How long a moved replica's old machine keeps helping laggards (virtual ms). */
  private static final long OLD_MACHINE_GRACE_MS = 10_000;

  /** The epoch this replica's machine joined without state when it moved (null: never moved). */
  private io.pbft.config.Membership joined;
  private long joinedView;
  private long joinedAt;
  private int moves;

  /** How many times this replica moved to a new machine. */
  int moves() {
    return moves;
  }

  /** " at Class.method(File:line) < ..." for the first frames of the core: where a bug threw. */
  private static String where(Throwable e) {
    StringBuilder b = new StringBuilder();
    int shown = 0;
    for (StackTraceElement f : e.getStackTrace()) {
      if (shown == 3 || f.getClassName().startsWith("io.pbft.chaos")) {
        break;
      }
      b.append(shown++ == 0 ? " at " : " < ").append(f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1))
          .append('.').append(f.getMethodName()).append('(').append(f.getFileName()).append(':')
          .append(f.getLineNumber()).append(')');
    }
    return b.toString();
  }

  /** Parses an outgoing message once, for the network's fault rules and the checkers' records. */
  private ReplicaMessage inspect(Effects.Outgoing out) {
    ReplicaMessage parsed = payloads.apply(out.message().getPayload()).message();
    if (parsed == null) {
      if (!traitor) {
        violation.accept(label + " sent a message that does not parse");
      }
      return ReplicaMessage.getDefaultInstance(); // a traitor's garbage still goes out
    }
    if (!traitor && parsed.hasCheckpoint() && out.message().getSender() == id
        && parsed.getCheckpoint().getReplicaId() == id) {
      // A correct replica's own CHECKPOINT tells its state digest at that checkpoint (a correct
      // replica's behaviour passes everything through, so this is what its core said).
      checkpointLog.announced(id, parsed.getCheckpoint().getSequence(), parsed.getCheckpoint().getStateDigest());
    }
    if (parsed.hasViewChange()) {
      certificatesCarried += parsed.getViewChange().getPreparedCount();
      if (!traitor && out.message().getSender() == id && parsed.getViewChange().getNewView() > lastViewChangeTarget) {
        lastViewChangeTarget = parsed.getViewChange().getNewView();
        viewChangesSigned++;
        highestViewChangeSigned = Math.max(highestViewChangeSigned, lastViewChangeTarget);
      }
    }
    if (parsed.hasNewView()) {
      highestNewViewSent = Math.max(highestNewViewSent, parsed.getNewView().getView());
    }
    if (!traitor) {
      equivocationLog.sent(out.message(), parsed);
    }
    if (parsed.hasPrePrepare() && crashAfterPrePrepares > 0 && !network.healed()
        && ++prePreparesSent == crashAfterPrePrepares) {
      crashNow = true;
    }
    return parsed;
  }

  private void transmit(Effects.Outgoing out, ReplicaMessage parsed) {
    if (down) {
      return; // held back by a slow traitor and crashed meanwhile
    }
    if (out.broadcast()) {
      for (int to = 0; to < n; to++) {
        if (to != id) {
          network.sendReplica(id, to, out.message(), parsed);
        }
      }
    } else if (out.to() >= 0 && out.to() < n && out.to() != id) {
      network.sendReplica(id, out.to(), out.message(), parsed);
    }
  }
}

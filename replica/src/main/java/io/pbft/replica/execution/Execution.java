package io.pbft.replica.execution;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.pbft.crypto.Digests;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.core.Effects;
import io.pbft.replica.core.Executed;
import io.pbft.replica.core.StateChunkRead;
import io.pbft.replica.core.StateInstalled;
import io.pbft.replica.verify.VerifiedRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Carries out what the core hands out for the application: runs committed batches strictly in
 * sequence order with exactly-once bookkeeping per client (section 4.1: the timestamp of the last
 * request executed for each client and its result; an older or equal timestamp is not executed
 * again, and a retransmission of the last one gets its result again), takes checkpoints, installs
 * states fetched from peers and reads chunks of its checkpoints for them.
 *
 * <p>The client table is part of the replicated state: it is covered by the state digest and
 * travels with the application snapshot in state transfer. So is the agreed time of the last
 * batch executed: each batch's time is {@code max(proposed, previous + 1)}, and a replica that
 * restarts from a checkpoint or installs one from peers continues from the same previous time.
 * Each batch's random seed is SHA-256 over its sequence number, its agreed digest and the state
 * digest of the last checkpoint before it (none in the first interval), which every correct
 * replica knows alike. One thread at a time calls this class
 * (the runtime's execution thread, or the simulator); it calls nothing back.
 */
public final class Execution {
  private record Last(long timestamp, ByteString result) {}

  private final StateMachine app;
  private final CheckpointStore store;
  private final TreeMap<Integer, Last> clients = new TreeMap<>();
  /** The state of each checkpoint the core may still ask chunks of, frozen when it was taken. */
  private final Map<Long, StateMachine.Frozen> frozen = new HashMap<>();
  private long lastExecuted;
  private long executedRequests;
  /** The agreed time of the last batch executed (0 before the first). */
  private long lastTimeMs;
  /** The state digest of the last checkpoint at or below {@link #lastExecuted} (empty for none yet). */
  private byte[] checkpointDigest = new byte[0];

  private final ExecutionRules rules;
  /** The configuration epoch and the pending reconfiguration: replicated state like the client table. */
  private final Epochs epochs;

  /** A batch run while only prepared (protocol.tentativeExecution), with its results. */
  private record Tentative(Effects.Execute batch, List<Executed.ClientResult> results) {}

  /**
   * The committed state to go back to, frozen after {@code sequence} (the last checkpoint, an
   * installed state, or the first batch after a start), with the counters then: a tentative batch
   * rolls back to it, and a batch the application threw on restarts from it.
   */
  private record Base(long sequence, StateMachine.Frozen state, byte[] checkpointDigest, long executedRequests) {}

  /** The tentative batch run and not yet committed, or null: at most one, the lowest uncommitted. */
  private Tentative tentative;
  private Base base;
  /** The committed batches executed since {@link #base}, replayed on it after a rollback. */
  private final List<Effects.Execute> sinceBase = new ArrayList<>();
  private long rollbacks;
  private long applicationFailures;
  /** Above 0 while batches that ran before run again on a restored state. */
  private int replaying;
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Execution.class);

  /** Without a membership: every reconfiguration command is refused. */
  public Execution(StateMachine app, CheckpointStore store) {
    this(app, store, Epochs.none());
  }

  /** @param epochs the group's epoch 0 and protocol settings, which reconfiguration commands change */
  public Execution(StateMachine app, CheckpointStore store, Epochs epochs) {
    this(app, store, ExecutionRules.PAPER, epochs);
  }

  /** With other rules: only test code, compiled into this package, passes any but the paper's. */
  Execution(StateMachine app, CheckpointStore store, ExecutionRules rules) {
    this(app, store, rules, Epochs.none());
  }

  private Execution(StateMachine app, CheckpointStore store, ExecutionRules rules, Epochs epochs) {
    this.app = app;
    this.store = store;
    this.rules = rules;
    this.epochs = epochs;
  }

  /**
   * The state as of a configuration epoch's first checkpoint, for the thread that builds that
   * epoch's core: where it began, its membership, the view it began in and the client table there.
   */
  public record Switched(long sequence, io.pbft.config.Membership membership, long firstView,
      List<Executed.ClientResult> clientTable) {}

  /** The last epoch switch this executor carried out or installed (null: none). */
  private volatile Switched switched;

  /** The last epoch switch this executor carried out or installed (null: none); safe from any thread. */
  public Switched switched() {
    return switched;
  }

  /** The configuration epoch as the executed state has it (its {@link Epochs#summary} is safe to read from any thread). */
  public Epochs epochs() {
    return epochs;
  }

  /**
   * Requests run (not answered from the client table) since this executor started, counted on the
   * execution thread so that it always matches {@link #lastExecuted()}.
   */
  public long executedRequests() {
    return executedRequests;
  }

  public long lastExecuted() {
    return lastExecuted;
  }

  public StateMachine app() {
    return app;
  }

  /**
   * Answers a read-only operation from the current state ({@link StateMachine#query}); the state
   * and the client table stay as they are. See {@link ReadOnlyQueries} for when it may be asked.
   */
  public byte[] query(byte[] operation) {
    byte[] result = app.query(operation);
    if (result == null) {
      throw new IllegalStateException("application returned no result for a query");
    }
    return result;
  }

  /** The agreed time of the last batch executed, 0 before the first. */
  public long lastTimeMs() {
    return lastTimeMs;
  }

  /**
   * The context of batch {@code e}, the next to execute: its agreed time (the proposed time, kept
   * strictly above the previous batch's) and its seed.
   */
  ExecutionContext contextOf(Effects.Execute e) {
    long time = agreedTime(e.proposedTimeMs(), lastTimeMs);
    return new ExecutionContext(e.sequence(), time, seed(e.sequence(), e.digest(), checkpointDigest));
  }

  /** max(proposed, previous + 1): deterministic, strictly increasing, whatever the primaries proposed. */
  static long agreedTime(long proposedMs, long previousMs) {
    return Math.max(proposedMs, previousMs + 1);
  }

  /** SHA-256("pbft-batch-seed" || sequence || agreed batch digest || previous checkpoint's state digest). */
  static byte[] seed(long sequence, ByteString batchDigest, byte[] checkpointDigest) {
    MessageDigest md = Digests.newSha256();
    md.update("pbft-batch-seed".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    md.update(Digests.bigEndian(sequence));
    md.update(batchDigest.toByteArray());
    md.update(checkpointDigest);
    return md.digest();
  }

  /**
   * Executes one batch handed out by the core and reports what ran. A tentative batch runs on the
   * committed state and is kept until the same sequence number comes committed: with the same
   * digest its results stand (reported again, now final); with another, or when another
   * tentative batch comes for it (a view change), it is rolled back first (section 5.1.2 of
   * Castro and Liskov, TOCS 2002).
   */
  public Executed execute(Effects.Execute e) {
    if (tentative != null) {
      Tentative t = tentative;
      if (!e.tentative() && e.sequence() == t.batch().sequence() && e.digest().equals(t.batch().digest())) {
        tentative = null; // committed as it ran
        sinceBase.add(t.batch());
        return new Executed(e.sequence(), e.view(), t.results(), null, false, epochs.endsAt(e.sequence()));
      }
      rollback();
    }
    if (e.tentative() && e.checkpoint()) {
      throw new IllegalArgumentException("batch " + e.sequence() + " is a checkpoint: it runs committed only");
    }
    if (base == null) {
      // After a start, a restart or a state transfer: the first batch's state is the one to go back to.
      moveBase(new Base(lastExecuted, freeze(), checkpointDigest, executedRequests));
    }
    Executed ran = run(e);
    if (e.tentative()) {
      tentative = new Tentative(e, ran.results());
      return new Executed(ran.sequence(), ran.view(), ran.results(), null, true);
    }
    if (!e.checkpoint()) {
      sinceBase.add(e); // a checkpoint moved the base to itself
    }
    return ran;
  }

  /** Whether a tentative batch ran and has neither committed nor been rolled back. */
  public boolean hasTentative() {
    return tentative != null;
  }

  /** Tentative batches rolled back since this executor started. */
  public long rollbacks() {
    return rollbacks;
  }

  /**
   * Whether a read with read floor {@code floor} may be answered now: the state reflects every
   * batch up to the floor, and nothing in it is tentative (a read must not see what a view change
   * may still undo).
   */
  public boolean readable(long floor) {
    return lastExecuted >= floor && tentative == null;
  }

  /**
   * Undoes the tentative batch: the state frozen at {@link #base} comes back, and the committed
   * batches since it run again (the same batches in the same order: the same state).
   */
  private void rollback() {
    tentative = null;
    restoreBase();
    rollbacks++;
  }

  /** Back to the state after the last batch of {@link #sinceBase}: {@link #base}'s, then those batches again. */
  private void restoreBase() {
    Base b = base;
    Snapshot snap;
    try {
      snap = Snapshot.parse(b.state().bytes());
    } catch (IOException e) {
      throw new IllegalStateException("the state frozen at " + b.sequence() + " does not parse", e);
    }
    app.restore(snap.app());
    clients.clear();
    clients.putAll(snap.clients());
    lastTimeMs = snap.timeMs();
    try {
      epochs.decode(snap.epochs());
    } catch (IOException e) {
      throw new IllegalStateException("the epoch state frozen at " + b.sequence() + " does not parse", e);
    }
    lastExecuted = b.sequence();
    checkpointDigest = b.checkpointDigest();
    executedRequests = b.executedRequests();
    List<Effects.Execute> replay = new ArrayList<>(sinceBase);
    sinceBase.clear();
    replaying++;
    try {
      for (Effects.Execute c : replay) {
        run(c);
        sinceBase.add(c);
      }
    } finally {
      replaying--;
    }
  }

  /**
   * {@code next} becomes the state to go back to (null: none until the next batch). A frozen state
   * may also be a checkpoint's kept for peers ({@link #frozen}): it is released by whichever lets
   * go of it last.
   */
  private void moveBase(Base next) {
    Base old = base;
    base = next;
    sinceBase.clear();
    if (old != null && (next == null || old.state() != next.state()) && !frozen.containsValue(old.state())) {
      old.state().release();
    }
  }

  /**
   * Runs {@code ops} through the application. If it throws, the operations run again one at a time
   * on the state before the batch, and each one it throws on is answered with {@link #failed} and
   * leaves no trace: what one client sends cannot stop the replicas, nor half-apply on them.
   * Every correct replica's application fails alike (it is deterministic), so all do the same.
   */
  private List<byte[]> executeGuarded(ExecutionContext context, List<Operation> ops) {
    try {
      return resultsOf(app.execute(context, ops), ops.size());
    } catch (RuntimeException failure) {
      long sequence = lastExecuted;
      long time = lastTimeMs;
      long requests = executedRequests;
      List<Operation> ran = new ArrayList<>();
      Runnable back = () -> {
        restoreBase();
        lastExecuted = sequence;
        lastTimeMs = time;
        executedRequests = requests;
        for (Operation r : ran) {
          app.execute(context, List.of(r));
        }
      };
      back.run();
      List<byte[]> out = new ArrayList<>(ops.size());
      for (Operation op : ops) {
        try {
          out.add(resultsOf(app.execute(context, List.of(op)), 1).get(0));
          ran.add(op);
        } catch (RuntimeException again) {
          if (replaying > 0) {
            out.add(failed(again)); // counted and logged when it first ran
            back.run();
            continue;
          }
          applicationFailures++;
          log.warn("the application threw on client {}'s operation t={} at n={}; it is undone and answered as failed: {}",
              op.clientId(), op.timestamp(), sequence, again.toString());
          out.add(failed(again));
          back.run();
        }
      }
      return out;
    }
  }

  private static List<byte[]> resultsOf(List<byte[]> out, int operations) {
    if (out == null || out.size() != operations) {
      throw new IllegalStateException("application returned " + (out == null ? "no list" : out.size())
          + " results for " + operations + " operations");
    }
    return out;
  }

  /** The result of an operation the application threw on: the same bytes on every replica. */
  static byte[] failed(RuntimeException e) {
    return ("pbft: the application failed on this operation (" + e.getClass().getName() + ")")
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Operations the application threw on, answered as failed and undone, since this executor started. */
  public long applicationFailures() {
    return applicationFailures;
  }

  private Executed run(Effects.Execute e) {
    long sequence = e.sequence();
    if (sequence != lastExecuted + 1) {
      throw new IllegalStateException("executing " + sequence + " after " + lastExecuted);
    }
    List<Operation> ops = new ArrayList<>();
    List<VerifiedRequest> fresh = new ArrayList<>();
    List<VerifiedRequest> changes = new ArrayList<>();
    List<Executed.ClientResult> results = new ArrayList<>();
    Map<Integer, Long> inBatch = new HashMap<>();
    for (VerifiedRequest r : e.requests()) {
      int c = r.clientId();
      long t = r.timestamp();
      long last = Math.max(lastTimestamp(c), inBatch.getOrDefault(c, Long.MIN_VALUE));
      if (rules.executedAlready(t, last)) {
        // Ordered twice (a retransmission) or older than what ran: at most once per timestamp.
        Last l = clients.get(c);
        if (l != null && t == l.timestamp()) {
          results.add(new Executed.ClientResult(c, t, l.result(), false));
        }
        continue;
      }
      inBatch.put(c, t);
      if (r.request().hasReconfiguration()) {
        changes.add(r); // the group's business, not the application's: after the batch's operations
        continue;
      }
      ops.add(new Operation(c, t, r.request().getOperation().toByteArray()));
      fresh.add(r);
    }
    ExecutionContext context = contextOf(e);
    lastExecuted = sequence;
    lastTimeMs = context.timeMillis();
    executedRequests += fresh.size();
    if (!ops.isEmpty()) {
      List<byte[]> out = executeGuarded(context, ops);
      for (int i = 0; i < fresh.size(); i++) {
        VerifiedRequest r = fresh.get(i);
        ByteString result = ByteString.copyFrom(out.get(i));
        clients.put(r.clientId(), new Last(r.timestamp(), result));
        results.add(new Executed.ClientResult(r.clientId(), r.timestamp(), result, true));
      }
    }
    // Reconfigurations run after the application's operations: a rollback inside executeGuarded
    // (an operation the application threw on) restores the state before the batch, changes and all.
    for (VerifiedRequest r : changes) {
      String verdict = epochs.apply(r.request().getReconfiguration(), sequence);
      if (replaying == 0) {
        log.info("client {} t={} at n={}: {}", r.clientId(), r.timestamp(), sequence, verdict);
      }
      ByteString result = ByteString.copyFromUtf8(verdict);
      // The client's entry is its newest request's: one batch can hold an older command and a
      // newer operation of one client (only a faulty client has two requests in flight), whose
      // entry the command must not replace, or the operation could run again.
      Last newest = clients.get(r.clientId());
      if (newest == null || newest.timestamp() < r.timestamp()) {
        clients.put(r.clientId(), new Last(r.timestamp(), result));
      }
      results.add(new Executed.ClientResult(r.clientId(), r.timestamp(), result, true));
      executedRequests++;
    }
    if (epochs.switchIfDue(sequence, e.proposedView())) {
      if (replaying == 0) {
        log.info("n={}: epoch {} begins with this checkpoint, in view {}", sequence, epochs.current().epoch(),
            e.proposedView());
      }
      switched = new Switched(sequence, epochs.current(), e.proposedView(), clientTable());
    }
    ByteString digest = null;
    if (e.checkpoint()) {
      digest = stateDigest();
      checkpointDigest = digest.toByteArray();
      store.checkpoint(sequence, clientTableBytes());
      StateMachine.Frozen state = freeze();
      retain(sequence, state);
      moveBase(new Base(sequence, state, checkpointDigest, executedRequests));
    }
    return new Executed(sequence, e.view(), List.copyOf(results), digest, false, epochs.endsAt(sequence));
  }

  /** Installs a state fetched from peers if its digest is the certified one. */
  public StateInstalled install(Effects.InstallState s) {
    if (!restore(s.sequence(), s.state(), s.digest())) {
      return new StateInstalled(s.sequence(), false, List.of());
    }
    tentative = null; // replaced with the rest of the state
    store.checkpoint(s.sequence(), clientTableBytes());
    byte[] installed = s.state();
    StateMachine.Frozen state = new StateMachine.Frozen() {
      @Override
      public byte[] bytes() {
        return installed;
      }

      @Override
      public void release() {}
    };
    retain(s.sequence(), state);
    moveBase(new Base(s.sequence(), state, checkpointDigest, executedRequests));
    if (epochs.summary().epoch() > 0 && epochs.beganAt() == s.sequence()) {
      switched = new Switched(s.sequence(), epochs.current(), epochs.firstView(), clientTable());
    }
    return new StateInstalled(s.sequence(), true, clientTable(), epochs.endsAt(s.sequence()), epochs.summary().epoch());
  }

  /** Reads a chunk of a frozen checkpoint's state for a peer. */
  public StateChunkRead read(Effects.ReadStateChunk r) {
    StateMachine.Frozen state = frozen.get(r.sequence());
    if (state == null) {
      return new StateChunkRead(r.to(), r.sequence(), r.digest(), r.offset(), 0, ByteString.EMPTY, false);
    }
    byte[] bytes = state.bytes();
    if (r.offset() > bytes.length) {
      return new StateChunkRead(r.to(), r.sequence(), r.digest(), r.offset(), bytes.length, ByteString.EMPTY, false);
    }
    int length = (int) Math.min(r.bytesMax(), bytes.length - r.offset());
    return new StateChunkRead(r.to(), r.sequence(), r.digest(), r.offset(), bytes.length,
        ByteString.copyFrom(bytes, (int) r.offset(), length), true);
  }

  /** The core no longer needs checkpoint {@code sequence}'s frozen state. */
  public void release(long sequence) {
    if (sequence > 0 && sequence == epochs.beganAt()) {
      return; // where the epoch began: replicas still in the previous epoch fetch it to switch
    }
    StateMachine.Frozen f = frozen.remove(sequence);
    if (f != null && (base == null || f != base.state())) {
      f.release();
    }
  }

  /** Checkpoint {@code sequence} is stable: older durable checkpoints may go. */
  public void stable(long sequence) {
    store.stable(sequence);
  }

  /** Carries out the effects meant for the application, in the order the contract gives. */
  public void apply(Effects effects, Reports reports) {
    for (Effects.Execute e : effects.executions()) {
      reports.executed(execute(e));
    }
    if (effects.install() != null) {
      reports.installed(install(effects.install()));
    }
    for (Effects.ReadStateChunk r : effects.serves()) {
      reports.chunkRead(read(r));
    }
    for (long s : effects.releasedSnapshots()) {
      release(s);
    }
    if (effects.stableCheckpoint() >= 0) {
      stable(effects.stableCheckpoint());
    }
  }

  /** Where {@link #apply} sends its reports (back to the core, as events). */
  public interface Reports {
    void executed(Executed e);

    void installed(StateInstalled s);

    void chunkRead(StateChunkRead r);
  }

  private void retain(long sequence, StateMachine.Frozen state) {
    StateMachine.Frozen previous = frozen.put(sequence, state);
    if (previous != null && previous != state && (base == null || previous != base.state())) {
      previous.release();
    }
  }

  private long lastTimestamp(int clientId) {
    Last l = clients.get(clientId);
    return l == null ? Long.MIN_VALUE : l.timestamp();
  }

  /** Each client's last timestamp and result, for the core. */
  public List<Executed.ClientResult> clientTable() {
    List<Executed.ClientResult> out = new ArrayList<>(clients.size());
    clients.forEach((c, l) -> out.add(new Executed.ClientResult(c, l.timestamp(), l.result(), false)));
    return out;
  }

  /**
   * SHA-256 over the application's digest, the client table (id, timestamp, result) and the
   * agreed time of the last batch executed.
   */
  public ByteString stateDigest() {
    MessageDigest md = Digests.newSha256();
    md.update(app.stateDigest());
    for (Map.Entry<Integer, Last> e : clients.entrySet()) {
      md.update(Digests.bigEndian(e.getKey()));
      md.update(Digests.bigEndian(e.getValue().timestamp()));
      md.update(Digests.sha256(e.getValue().result().toByteArray()));
    }
    md.update(Digests.bigEndian(lastTimeMs));
    byte[] epoch = epochs.digestPart();
    if (epoch != null) {
      md.update(epoch); // a group that never changed keeps the digests it always had
    }
    return ByteString.copyFrom(md.digest());
  }

  /**
   * The replicated state as it is now, serialized (client table, then the application snapshot)
   * only when a peer asks for it: the client table is copied (it is small), the application
   * freezes itself.
   */
  private StateMachine.Frozen freeze() {
    TreeMap<Integer, Last> table = new TreeMap<>(clients);
    long time = lastTimeMs;
    byte[] epoch = epochs.encode();
    StateMachine.Frozen appState = this.app.freeze();
    return new StateMachine.Frozen() {
      private byte[] bytes;

      @Override
      public synchronized byte[] bytes() {
        if (bytes == null) {
          try {
            byte[] appBytes = appState.bytes();
            ByteArrayOutputStream out = new ByteArrayOutputStream(appBytes.length + 64 * table.size() + 16);
            CodedOutputStream coded = CodedOutputStream.newInstance(out);
            writeClients(coded, table);
            coded.writeInt64NoTag(time);
            coded.writeByteArrayNoTag(epoch);
            coded.writeByteArrayNoTag(appBytes);
            coded.flush();
            bytes = out.toByteArray();
          } catch (IOException e) {
            throw new IllegalStateException("writing to memory failed", e);
          }
        }
        return bytes;
      }

      @Override
      public synchronized void release() {
        bytes = null;
        appState.release();
      }
    };
  }

  /**
   * The client table and the last agreed time, as durable checkpoints keep them beside the
   * application's state.
   */
  public byte[] clientTableBytes() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      writeClients(out, clients);
      out.writeInt64NoTag(lastTimeMs);
      byte[] epoch = epochs.encode();
      if (epoch.length > 0) {
        out.writeByteArrayNoTag(epoch); // absent for epoch 0 with nothing pending, as before epochs existed
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException("writing to memory failed", e);
    }
  }

  /**
   * After a restart: the application recovered its checkpoint at {@code sequence} by itself;
   * this restores the client table saved with it.
   *
   * @throws IllegalArgumentException if the table does not parse
   */
  public void recoverAt(long sequence, byte[] clientTable) {
    if (sequence == 0 && clientTable.length == 0) {
      return; // nothing was ever checkpointed: the initial state
    }
    try {
      CodedInputStream in = CodedInputStream.newInstance(clientTable);
      TreeMap<Integer, Last> table = readClients(in);
      // Written before agreed time existed: no time yet.
      long time = in.isAtEnd() ? 0 : in.readInt64();
      // Written before epochs existed, or in epoch 0 with nothing pending: no epoch state.
      byte[] epoch = in.isAtEnd() ? new byte[0] : in.readByteArray();
      if (!in.isAtEnd()) {
        throw new IllegalArgumentException("trailing bytes after the client table");
      }
      epochs.decode(epoch);
      clients.clear();
      clients.putAll(table);
      if (epochs.summary().epoch() > 0 && epochs.beganAt() == sequence) {
        // Restarted at the checkpoint its epoch began: a core of the epoch before may still
        // have to see that checkpoint stable, and then enters this one from here.
        switched = new Switched(sequence, epochs.current(), epochs.firstView(), clientTable());
      }
      lastTimeMs = time;
      lastExecuted = sequence;
      checkpointDigest = stateDigest().toByteArray();
      tentative = null;
      moveBase(null);
    } catch (IOException e) {
      throw new IllegalArgumentException("client table does not parse: " + e.getMessage(), e);
    }
  }

  private static void writeClients(CodedOutputStream out, TreeMap<Integer, Last> table) throws IOException {
    out.writeUInt32NoTag(table.size());
    for (Map.Entry<Integer, Last> e : table.entrySet()) {
      out.writeUInt32NoTag(e.getKey());
      out.writeInt64NoTag(e.getValue().timestamp());
      out.writeBytesNoTag(e.getValue().result());
    }
  }

  private static TreeMap<Integer, Last> readClients(CodedInputStream in) throws IOException {
    TreeMap<Integer, Last> table = new TreeMap<>();
    int count = in.readUInt32();
    for (int i = 0; i < count; i++) {
      int client = in.readUInt32();
      long timestamp = in.readInt64();
      table.put(client, new Last(timestamp, in.readBytes()));
    }
    return table;
  }

  /**
   * Replaces the state with a snapshot taken at {@code sequence} by some replica, if its digest
   * is {@code expected}; otherwise leaves everything as it was and returns false.
   */
  private boolean restore(long sequence, byte[] snapshot, ByteString expected) {
    TreeMap<Integer, Last> table;
    long time;
    byte[] epochBytes;
    byte[] appSnapshot;
    try {
      Snapshot parsed = Snapshot.parse(snapshot);
      table = parsed.clients();
      time = parsed.timeMs();
      epochBytes = parsed.epochs();
      appSnapshot = parsed.app();
    } catch (IOException | RuntimeException e) {
      return false;
    }
    byte[] before = app.snapshot();
    TreeMap<Integer, Last> clientsBefore = new TreeMap<>(clients);
    long timeBefore = lastTimeMs;
    byte[] epochsBefore = epochs.encode();
    try {
      epochs.decode(epochBytes);
    } catch (IOException | RuntimeException e) {
      return false;
    }
    try {
      app.restore(appSnapshot);
    } catch (RuntimeException e) {
      decodeOwn(epochsBefore);
      return false;
    }
    clients.clear();
    clients.putAll(table);
    lastTimeMs = time;
    if (!rules.fetchedStateMatches(stateDigest(), expected)) {
      app.restore(before);
      clients.clear();
      clients.putAll(clientsBefore);
      lastTimeMs = timeBefore;
      decodeOwn(epochsBefore);
      return false;
    }
    lastExecuted = sequence;
    checkpointDigest = expected.toByteArray();
    return true;
  }

  /** Puts back this replica's own epoch state, which {@link Epochs#encode} wrote. */
  private void decodeOwn(byte[] own) {
    try {
      epochs.decode(own);
    } catch (IOException e) {
      throw new IllegalStateException("this replica's own epoch state does not parse", e);
    }
  }

  /**
   * The replicated state as {@link #freeze} serializes it: client table, last agreed time, epoch
   * state ({@link Epochs#encode}), application.
   */
  private record Snapshot(TreeMap<Integer, Last> clients, long timeMs, byte[] epochs, byte[] app) {
    static Snapshot parse(byte[] bytes) throws IOException {
      CodedInputStream in = CodedInputStream.newInstance(bytes);
      in.setSizeLimit(Integer.MAX_VALUE);
      TreeMap<Integer, Last> table = readClients(in);
      long time = in.readInt64();
      byte[] epochs = in.readByteArray();
      byte[] app = in.readByteArray();
      if (!in.isAtEnd()) {
        throw new IOException("trailing bytes after the state");
      }
      return new Snapshot(table, time, epochs, app);
    }
  }
}

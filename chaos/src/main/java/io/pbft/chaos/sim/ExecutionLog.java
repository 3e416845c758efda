package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * What every correct replica's application executed, checked as it happens (so a violation is
 * reported with the trace that led to it):
 *
 * <ul>
 *   <li>agreement: at each sequence number every replica executes the same batch, as the core
 *       ordered it (the batch digest of its requests; a null request is the empty batch), so a
 *       batch whose operations the executor all filtered out (retransmissions of requests that
 *       ran already) and a null request still count, and differ; and the same operations (the
 *       digest of the (client, timestamp, operation) list the executor handed to the
 *       application: equal batches give equal lists at equal states);
 *   <li>exactly once: no replica executes the same (client, timestamp) twice (a replica restarted
 *       from its disk re-executes what followed its last checkpoint: that is not twice);
 *   <li>validity: what executes under (client, timestamp) is what that client signed, so no
 *       request a client never sent (forged, or replayed under another timestamp) ever runs. An
 *       honest client signs one operation per timestamp; a Byzantine client may sign several
 *       (it equivocates), and then any one of them may run, but every correct replica runs the
 *       same one (the agreement check sees it too, through the operations' digest);
 *   <li>agreed context: at each sequence number every correct replica's application gets the
 *       same time and the same random seed, and that time is sane: not before any of the
 *       batch's operations was issued minus {@code protocol.clockSkewMs} (a correct backup
 *       accepted the batch after its requests existed, checking the proposed time against its
 *       clock, which in the simulator is the virtual time), and not after the virtual time of
 *       its execution plus twice the skew (the proposal was within the skew of a correct clock
 *       then; the second skew leaves room for the executor's +1 ms per batch).
 * </ul>
 *
 * It also keeps the committed order (the operations of each sequence number, as the first correct
 * replica executed them), which the linearizability checker replays.
 */
final class ExecutionLog {
  /** An operation's identity: its client and timestamp. */
  record Key(int client, long timestamp) {}

  private record First(int replica, ByteString digest, String summary, List<Key> ops, long timeMs,
      ByteString seed) {}

  private record FirstBatch(int replica, long view, List<SignedRequest> batch) {}

  private final Map<Long, First> bySequence = new HashMap<>();
  /** The batch the first correct replica executed at each sequence number, empty ones included. */
  private final Map<Long, FirstBatch> batches = new HashMap<>();
  private long batchesCompared;
  /** Per replica: each (client, timestamp) it executed, and at which sequence number. */
  private final List<Map<Key, Long>> executed = new ArrayList<>();
  /** What each client signed under each timestamp: one operation, or several for a Byzantine client. */
  private final Map<Key, List<ByteString>> issued = new HashMap<>();
  /** The operation the first correct replica executed under each (client, timestamp). */
  private final Map<Key, Ran> executedOps = new HashMap<>();

  private record Ran(ByteString operation, long sequence) {}
  private final Set<Integer> byzantineClients;
  private final long[] operations;
  private final Set<Integer> traitors;
  private long crossView;
  private final Consumer<String> violation;
  private final MessageDigest sha256;
  /** The virtual time, and the clock skew correct replicas allow: for the agreed-time check. */
  private java.util.function.LongSupplier nowMs;
  private long clockSkewMs;
  /** When each (client, timestamp) was first issued, in virtual time. */
  private final Map<Key, Long> issuedAtMs = new HashMap<>();
  private long contextsCompared;

  /**
   * Tentative execution (protocol.tentativeExecution): per replica, the batch handed out
   * tentatively and not yet committed, and what its application ran for it, held back from the
   * checks until the same batch commits (then checked) or another takes its place (then the
   * executor rolls it back, and it never happened).
   */
  private record Tentative(long sequence, ByteString digest, List<HeldRun> ran) {}

  /** One call of the application for a tentative batch, checked once the batch commits. */
  private record HeldRun(ExecutionContext context, List<Operation> ops) {}

  private final Map<Integer, Tentative> tentative = new HashMap<>();
  /**
   * Per replica, after a tentative batch at n was discarded: what the application runs at or
   * below n - 1 next is the executor replaying committed batches after rolling it back (the same
   * batches on the same state, checked the first time they ran).
   */
  private final Map<Integer, Long> replayThrough = new HashMap<>();
  private long tentativeConfirmed;
  private long tentativeDiscarded;

  ExecutionLog(int replicas, Set<Integer> traitors, Consumer<String> violation) {
    this(replicas, traitors, Set.of(), violation);
  }

  /** {@code byzantineClients} may sign several operations under one timestamp; the others may not. */
  ExecutionLog(int replicas, Set<Integer> traitors, Set<Integer> byzantineClients, Consumer<String> violation) {
    this.traitors = Set.copyOf(traitors);
    this.byzantineClients = Set.copyOf(byzantineClients);
    for (int i = 0; i < replicas; i++) {
      executed.add(new HashMap<>());
    }
    this.operations = new long[replicas];
    this.violation = violation;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A client signed {@code operation} under (client, timestamp). Only a Byzantine client signs a
   * second, different operation under one timestamp; an honest one doing so is a simulator bug.
   */
  void issued(int client, long timestamp, byte[] operation) {
    if (nowMs != null) {
      issuedAtMs.putIfAbsent(new Key(client, timestamp), nowMs.getAsLong());
    }
    ByteString op = ByteString.copyFrom(operation);
    List<ByteString> ops = issued.computeIfAbsent(new Key(client, timestamp), k -> new ArrayList<>(1));
    if (ops.contains(op)) {
      return;
    }
    if (!ops.isEmpty() && !byzantineClients.contains(client)) {
      throw new IllegalStateException("honest client " + client + " signed two operations under timestamp " + timestamp);
    }
    ops.add(op);
  }

  /** Checks agreed times against the virtual clock {@code nowMs}, allowing {@code clockSkewMs}. */
  void checkTimes(java.util.function.LongSupplier nowMs, long clockSkewMs) {
    this.nowMs = nowMs;
    this.clockSkewMs = clockSkewMs;
  }

  /** Executions whose context (time and seed) was compared with the first correct replica's. */
  long contextsCompared() {
    return contextsCompared;
  }

  /** The operation correct replicas executed under (client, timestamp), or null if none did yet. */
  ByteString executedOperation(int client, long timestamp) {
    Ran ran = executedOps.get(new Key(client, timestamp));
    return ran == null ? null : ran.operation();
  }

  /** The sequence number at which correct replicas executed (client, timestamp), or -1. */
  long executedAt(int client, long timestamp) {
    Ran ran = executedOps.get(new Key(client, timestamp));
    return ran == null ? -1 : ran.sequence();
  }

  long operationsExecuted(int replica) {
    return operations[replica];
  }

  /**
   * How often a replica executed a sequence number in another view than the first replica that
   * executed it: the batch was carried across a view change (and must be the same batch).
   */
  long crossViewExecutions() {
    return crossView;
  }

  /** Sequence numbers at which some replica executed a non-empty batch. */
  int sequencesExecuted() {
    return bySequence.size();
  }

  /** The operations correct replicas executed, in the order they executed them. */
  List<Key> committedOrder() {
    List<Key> order = new ArrayList<>();
    new TreeMap<>(bySequence).values().forEach(f -> order.addAll(f.ops()));
    return order;
  }

  /** The sequence number at which each operation of the committed order executed. */
  Map<Key, Long> sequenceOf() {
    Map<Key, Long> out = new HashMap<>();
    bySequence.forEach((s, f) -> f.ops().forEach(k -> out.put(k, s)));
    return out;
  }

  /** Executions of a batch (null requests and batches filtered down to nothing included) compared. */
  long batchesCompared() {
    return batchesCompared;
  }

  /**
   * Replica {@code replica}'s core handed its executor {@code batch} to execute at {@code sequence}
   * (committed in {@code view}), before the executor filtered out what ran already: at each
   * sequence number, every correct replica executes the same batch.
   */
  void batchExecuted(int replica, long sequence, long view, List<SignedRequest> batch) {
    batchExecuted(replica, sequence, view, batch, false, null);
  }

  /**
   * As {@link #batchExecuted(int, long, long, List)}, for a batch handed out {@code tentative}ly
   * or committed, with its agreed {@code digest}. A tentative batch is compared once it commits.
   */
  void batchExecuted(int replica, long sequence, long view, List<SignedRequest> batch, boolean tentative,
      ByteString digest) {
    if (traitors.contains(replica)) {
      return;
    }
    Tentative held = this.tentative.get(replica);
    if (tentative) {
      if (held != null) {
        tentativeDiscarded++; // another batch tentatively at its place: the first is rolled back
        replayThrough.put(replica, held.sequence() - 1);
      }
      this.tentative.put(replica, new Tentative(sequence, digest, new ArrayList<>()));
      return;
    }
    if (held != null && sequence >= held.sequence()) {
      this.tentative.remove(replica);
      if (sequence == held.sequence() && digest != null && digest.equals(held.digest())) {
        tentativeConfirmed++; // it committed as it ran: check what ran now
        for (HeldRun r : held.ran()) {
          check(replica, r.context(), r.ops());
        }
      } else {
        tentativeDiscarded++; // another batch committed at its place: the executor rolls it back
        replayThrough.put(replica, held.sequence() - 1);
      }
    }
    batchesCompared++;
    FirstBatch first = batches.get(sequence);
    if (first == null) {
      batches.put(sequence, new FirstBatch(replica, view, List.copyOf(batch)));
      return;
    }
    if (first.view() != view) {
      crossView++;
    }
    if (!sameBatch(first.batch(), batch)) {
      violation.accept("agreement: at n=" + sequence + " replica " + first.replica() + " executed "
          + describe(first.batch()) + " (view " + first.view() + ") but replica " + replica + " executed "
          + describe(batch) + " (view " + view + ")");
    }
  }

  /**
   * Whether two replicas executed the same batch: the same batch digest (what the protocol
   * agrees on). Replicas of one simulation usually hold the very same request objects, which
   * {@code equals} compares by reference first, so the digests are computed only when the lists
   * differ somewhere.
   */
  private static boolean sameBatch(List<SignedRequest> a, List<SignedRequest> b) {
    return a.equals(b) || java.util.Arrays.equals(Digests.batchDigest(a), Digests.batchDigest(b));
  }

  private void checkTime(int replica, long s, long timeMs, List<Key> keys) {
    if (nowMs == null) {
      return;
    }
    long now = nowMs.getAsLong();
    if (timeMs > now + 2 * clockSkewMs) {
      violation.accept("agreed time: replica " + replica + " executed n=" + s + " at agreed time " + timeMs
          + ", more than twice the clock skew (" + clockSkewMs + " ms) after the virtual time " + now);
    }
    for (Key k : keys) {
      Long issued = issuedAtMs.get(k);
      if (issued != null && timeMs < issued - clockSkewMs) {
        violation.accept("agreed time: replica " + replica + " executed n=" + s + " at agreed time " + timeMs
            + ", more than the clock skew (" + clockSkewMs + " ms) before client " + k.client() + " issued timestamp "
            + k.timestamp() + " at " + issued);
        return;
      }
    }
  }

  private static String hex(ByteString b) {
    return Digests.hex(b.substring(0, Math.min(4, b.size())).toByteArray());
  }

  /** "[c0:t1 c3:t2]", as the scripts print a batch; "[]" is the null request. */
  private static String describe(List<SignedRequest> batch) {
    StringJoiner j = new StringJoiner(" ", "[", "]");
    for (SignedRequest r : batch) {
      j.add("c" + Trace.clientOf(r) + ":t" + timestampOf(r));
    }
    return j.toString();
  }

  private static long timestampOf(SignedRequest r) {
    try {
      return Request.parseFrom(r.getRequest()).getTimestamp();
    } catch (InvalidProtocolBufferException e) {
      return -1;
    }
  }

  /**
   * Replica {@code replica} restarted from its disk with its application at checkpoint
   * {@code appSequence}: what it executed after that is undone, and it will execute it again.
   */
  void restarted(int replica, long appSequence) {
    executed.get(replica).values().removeIf(s -> s > appSequence);
    tentative.remove(replica);
    replayThrough.remove(replica);
  }

  /** Tentative batches that committed as they ran, and those rolled back (or dropped by a state transfer). */
  long tentativeConfirmed() {
    return tentativeConfirmed;
  }

  long tentativeDiscarded() {
    return tentativeDiscarded;
  }

  void onExecute(int replica, ExecutionContext context, List<Operation> ops) {
    if (traitors.contains(replica)) {
      operations[replica] += ops.size();
      return; // what a traitor executes proves nothing either way
    }
    long s = context.sequence();
    Tentative held = tentative.get(replica);
    if (held != null && held.sequence() == s) {
      held.ran().add(new HeldRun(context, List.copyOf(ops)));
      return;
    }
    Long replay = replayThrough.get(replica);
    if (replay != null) {
      if (s <= replay) {
        return; // replayed after a rollback
      }
      replayThrough.remove(replica);
    }
    check(replica, context, ops);
  }

  private void check(int replica, ExecutionContext context, List<Operation> ops) {
    long s = context.sequence();
    StringJoiner summary = new StringJoiner(" ", "[", "]");
    List<Key> keys = new ArrayList<>(ops.size());
    sha256.reset();
    for (Operation op : ops) {
      Key key = new Key(op.clientId(), op.timestamp());
      keys.add(key);
      summary.add("c" + op.clientId() + ":t" + op.timestamp());
      sha256.update(ByteBuffer.allocate(12).putInt(op.clientId()).putLong(op.timestamp()).array());
      sha256.update(op.payload());
      Long before = executed.get(replica).putIfAbsent(key, s);
      if (before != null) {
        violation.accept("exactly-once: replica " + replica + " executed client " + op.clientId() + " timestamp "
            + op.timestamp() + " a second time, at n=" + s + " (first at n=" + before + ")");
      }
      ByteString payload = ByteString.copyFrom(op.payload());
      List<ByteString> signed = issued.get(key);
      if (signed == null || !signed.contains(payload)) {
        violation.accept("validity: replica " + replica + " executed at n=" + s + " an operation client "
            + op.clientId() + " never issued with timestamp " + op.timestamp());
        continue; // which signed operation ran is a question for signed operations only
      }
      Ran firstRan = executedOps.putIfAbsent(key, new Ran(payload, s));
      if (firstRan != null && !firstRan.operation().equals(payload)) {
        violation.accept("exactly-once: replica " + replica + " executed at n=" + s + " client " + op.clientId()
            + " timestamp " + op.timestamp() + " as a different operation than another correct replica did"
            + " (the client signed " + signed.size() + " under that timestamp)");
      }
    }
    operations[replica] += ops.size();
    ByteString digest = ByteString.copyFrom(sha256.digest());
    ByteString seed = ByteString.copyFrom(context.seed());
    checkTime(replica, s, context.timeMillis(), keys);
    First first = bySequence.putIfAbsent(s, new First(replica, digest, summary.toString(),
        List.copyOf(keys), context.timeMillis(), seed));
    if (first != null) {
      contextsCompared++;
      if (first.timeMs() != context.timeMillis() || !first.seed().equals(seed)) {
        violation.accept("agreement: at n=" + s + " replica " + first.replica() + " executed at time "
            + first.timeMs() + " with seed " + hex(first.seed()) + " but replica " + replica + " at time "
            + context.timeMillis() + " with seed " + hex(seed));
      }
    }
    if (first != null && !first.digest().equals(digest)) {
      violation.accept("agreement: at n=" + s + " replica " + first.replica() + " executed " + first.summary()
          + " but replica " + replica + " executed " + summary);
    }
  }
}

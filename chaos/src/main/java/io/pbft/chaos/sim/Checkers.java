package io.pbft.chaos.sim;

import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.kv.KvOperations;
import java.nio.charset.StandardCharsets;
import com.google.protobuf.ByteString;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The end-of-run checks (agreement, exactly-once and validity are checked as execution happens,
 * by {@link ExecutionLog}; equal state at checkpoints by {@link CheckpointLog}; what correct
 * replicas sign by {@link EquivocationLog}):
 *
 * <ul>
 *   <li>linearizability: the operations correct replicas executed, in the order they executed
 *       them, run through the workload's sequential model give every completed operation the
 *       result its client accepted; every completed operation is in that order; and the order
 *       respects real time (an operation that completed before another was invoked comes first);
 *       and each read-only operation a client completed (answered from the replicas' states, never
 *       ordered) returned what the committed order's state gives at some point that real time
 *       allows: after every operation that completed before the read was invoked, before every
 *       operation invoked after it completed, and not before an earlier read-only read that
 *       completed before it was invoked ({@link #readOnly});
 *   <li>liveness bound: once the faults heal, every operation completes within a bound
 *       ({@link LivenessBound});
 *   <li>final state: the replicas that executed furthest hold what the model holds after the
 *       whole order (and the application's own invariants, such as the bank's total, hold);
 *   <li>client results: each completed operation returned what executing the client's completed
 *       operations exactly once, in order, returns;
 *   <li>convergence: every correct replica not crashed for good ends, after the quiet period,
 *       in the same view, none of them still changing views, with the same last executed
 *       sequence number and state digest;
 *   <li>durability: every acknowledged write is in the final state of the replicas that executed
 *       furthest, at least f + 1 of them (each client writes only its own keys, so the expected
 *       value is the client's model).
 * </ul>
 */
final class Checkers {
  private Checkers() {}

  static void clientResults(List<SimClient> clients, Consumer<String> violation) {
    for (SimClient client : clients) {
      Map<String, String> model = new HashMap<>();
      for (OpRecord o : client.history()) {
        if (!o.completed()) {
          break;
        }
        KvOp op = (KvOp) o.op();
        KvResult expected = op.expectedResult(model);
        KvResult got = parse(o.result());
        if (!expected.equals(got)) {
          violation.accept("client result: " + o + " but executing client " + o.client()
              + "'s operations once each, in order, gives " + Trace.describeResult(expected.toByteString()));
        }
        op.apply(model);
      }
    }
  }

  /** Where a correct replica (not crashed for good) ended, as convergence compares it. */
  record EndState(int id, long view, boolean viewChanging, long lastExecuted, byte[] stateDigest,
      boolean fetchingState) {}

  /**
   * After the quiet period every correct replica that is up has settled: no state transfer and no
   * view change still under way (a group at rest has no reason to leave its view, and a view
   * change that started completes within its timers), all in one view, at one sequence number
   * and state. A replica alone in a higher view, or one that still waits for a NEW-VIEW, is a
   * replica the group left behind.
   */
  static void convergence(List<EndState> replicas, Consumer<String> violation) {
    Map<Long, Integer> inView = new java.util.TreeMap<>();
    replicas.forEach(r -> inView.merge(r.view(), 1, Integer::sum));
    long groupView = inView.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(0L);
    for (EndState r : replicas) {
      if (r.view() != groupView) {
        violation.accept("convergence: replica " + r.id() + " ended in view " + r.view() + ", "
            + inView.get(groupView) + " of the " + replicas.size() + " correct replicas up in view " + groupView);
      }
    }
    EndState first = null;
    for (EndState r : replicas) {
      if (r.fetchingState()) {
        violation.accept("convergence: replica " + r.id() + " is still fetching state at the end");
      }
      if (r.viewChanging()) {
        violation.accept("convergence: replica " + r.id() + " is still changing to view " + r.view() + " at the end");
      }
      if (first == null) {
        first = r;
        continue;
      }
      if (r.lastExecuted() != first.lastExecuted()
          || !Arrays.equals(r.stateDigest(), first.stateDigest())) {
        violation.accept("convergence: replica " + r.id() + " ended at n=" + r.lastExecuted() + " digest "
            + Digests.hex(r.stateDigest()).substring(0, 12) + ", replica " + first.id() + " at n="
            + first.lastExecuted() + " digest " + Digests.hex(first.stateDigest()).substring(0, 12));
      }
    }
  }

  /**
   * Checked at the replicas that executed furthest (a replica behind them is the convergence
   * check's business); at least f + 1 replicas must be there, or an acknowledged write could be
   * held by faulty replicas only.
   */
  static void durability(List<SimClient> clients, List<SimReplica> replicas, int f, int keysPerClient,
      Consumer<String> violation) {
    List<SimReplica> correct = replicas.stream().filter(r -> !r.downForever() && !r.traitor()).toList();
    long furthest = correct.stream().mapToLong(r -> r.lastExecuted()).max().orElse(0);
    List<SimReplica> upToDate = correct.stream().filter(r -> r.lastExecuted() == furthest).toList();
    if (upToDate.size() < f + 1) {
      violation.accept("durability: only " + upToDate.size() + " replicas executed up to n=" + furthest);
    }
    for (SimClient client : clients) {
      Map<String, String> model = new HashMap<>();
      Map<String, String> ifPendingRan = null;
      Set<String> pendingKeys = new HashSet<>();
      for (OpRecord o : client.history()) {
        KvOp op = (KvOp) o.op();
        if (o.completed()) {
          op.apply(model);
        } else {
          // Outstanding at the end: it may or may not have executed; either state is correct.
          ifPendingRan = new HashMap<>(model);
          op.apply(ifPendingRan);
          pendingKeys.add(op.key());
        }
      }
      for (SimReplica r : upToDate) {
        for (int k = 0; k < keysPerClient; k++) {
          String key = "c" + client.id() + "/k" + k;
          String actual = read(r, key);
          boolean fine = java.util.Objects.equals(actual, model.get(key))
              || (pendingKeys.contains(key) && java.util.Objects.equals(actual, ifPendingRan.get(key)));
          if (!fine) {
            violation.accept("durability: replica " + r.id() + " holds " + key + "=" + actual + " but client "
                + client.id() + "'s acknowledged operations leave " + model.get(key));
          }
        }
      }
    }
  }

  private static String read(SimReplica r, String key) {
    KvResult result = parse(com.google.protobuf.ByteString.copyFrom(
        r.app().app().query(KvOperations.get(key.getBytes(StandardCharsets.UTF_8)))));
    return result.getFound() ? result.getValue().toStringUtf8() : null;
  }

  /**
   * Replays the committed order through the workload's model and checks every operation a client
   * completed against it, and that the order respects real time. PBFT's order is the
   * linearization, so no search is needed: one pass in order, one check per operation.
   */
  static void linearizability(List<OpRecord> history, ExecutionLog log, Workload workload,
      Consumer<String> violation) {
    Map<ExecutionLog.Key, OpRecord> byKey = new HashMap<>();
    for (OpRecord o : history) {
      byKey.put(new ExecutionLog.Key(o.client(), o.timestamp()), o);
      if (o.completed()) {
        workload.checkResult(o, violation);
      }
    }
    Map<ExecutionLog.Key, Long> sequenceOf = log.sequenceOf();
    Workload.Model model = workload.newModel();
    Set<ExecutionLog.Key> placed = new HashSet<>();
    List<OpRecord> ordered = new java.util.ArrayList<>();
    long latestInvokeMs = Long.MIN_VALUE;
    OpRecord latestInvoked = null;
    for (ExecutionLog.Key key : log.committedOrder()) {
      OpRecord o = byKey.get(key);
      if (o == null || !placed.add(key)) {
        violation.accept("linearizability: client " + key.client() + " timestamp " + key.timestamp()
            + (o == null ? " executed but never issued" : " appears twice in the committed order"));
        return;
      }
      if (o.readOnly()) {
        violation.accept("linearizability: " + o + " was sent read-only, yet ordered (n=" + sequenceOf.get(key) + ")");
        return;
      }
      ordered.add(o);
      ByteString expected = model.apply(o.op());
      if (o.completed() && !workload.sameResult(expected, o.result())) {
        violation.accept("linearizability: " + o + " but in the committed order (n=" + sequenceOf.get(key)
            + ") it returns " + o.op().describeResult(expected));
        return;
      }
      if (o.completed() && o.completeMs() < latestInvokeMs) {
        violation.accept("linearizability: " + o + " completed before " + latestInvoked
            + " was invoked, yet is ordered after it (n=" + sequenceOf.get(key) + ")");
        return;
      }
      if (o.invokeMs() > latestInvokeMs) {
        latestInvokeMs = o.invokeMs();
        latestInvoked = o;
      }
    }
    for (OpRecord o : history) {
      if (o.completed() && !o.readOnly() && !placed.contains(new ExecutionLog.Key(o.client(), o.timestamp()))) {
        violation.accept("linearizability: " + o + " completed but no correct replica executed it");
        return;
      }
    }
    readOnly(history, ordered, workload, violation);
  }

  /**
   * Read-only operations against the committed order ({@code ordered}, which the caller checked
   * respects real time and gives every ordered operation its result). A read may sit at position
   * p (after the first p operations of the order) if the state there gives its result and p is
   * within its real-time window: at least one past every operation that completed before it was
   * invoked, at most the position of every operation invoked after it completed. Reads are placed
   * in invocation order, each at the earliest such position not before any read that completed
   * before it was invoked; earliest is best for every later read, so the history is linearizable
   * exactly when this placement succeeds.
   */
  static void readOnly(List<OpRecord> history, List<OpRecord> ordered, Workload workload,
      Consumer<String> violation) {
    List<OpRecord> reads = history.stream().filter(o -> o.readOnly() && o.completed())
        .sorted(java.util.Comparator.comparingLong(OpRecord::invokeMs)).toList();
    if (reads.isEmpty()) {
      return;
    }
    int n = ordered.size();
    // lo: 1 + the highest index of an ordered operation completed before the read's invocation.
    Integer[] byComplete = new Integer[n];
    Integer[] byInvoke = new Integer[n];
    for (int i = 0; i < n; i++) {
      byComplete[i] = i;
      byInvoke[i] = i;
    }
    java.util.Arrays.sort(byComplete, java.util.Comparator.comparingLong(
        i -> ordered.get(i).completed() ? ordered.get(i).completeMs() : Long.MAX_VALUE));
    java.util.Arrays.sort(byInvoke, java.util.Comparator.comparingLong(i -> ordered.get(i).invokeMs()));
    long[] completeAt = new long[n];
    int[] prefixMax = new int[n];
    for (int k = 0; k < n; k++) {
      OpRecord o = ordered.get(byComplete[k]);
      completeAt[k] = o.completed() ? o.completeMs() : Long.MAX_VALUE;
      prefixMax[k] = Math.max(k > 0 ? prefixMax[k - 1] : 0, o.completed() ? byComplete[k] + 1 : 0);
    }
    long[] invokeAt = new long[n];
    int[] suffixMin = new int[n + 1];
    suffixMin[n] = n;
    for (int k = n - 1; k >= 0; k--) {
      invokeAt[k] = ordered.get(byInvoke[k]).invokeMs();
      suffixMin[k] = Math.min(suffixMin[k + 1], byInvoke[k]);
    }
    int[] lo = new int[reads.size()];
    int[] hi = new int[reads.size()];
    for (int r = 0; r < reads.size(); r++) {
      OpRecord read = reads.get(r);
      int before = firstAtLeast(completeAt, read.invokeMs()); // operations [0, before) completed earlier
      lo[r] = before == 0 ? 0 : prefixMax[before - 1];
      hi[r] = suffixMin[firstAbove(invokeAt, read.completeMs())];
    }
    // The positions within its window where the order's state gives each read its result.
    List<List<Integer>> fits = new java.util.ArrayList<>();
    List<List<Integer>> startingAt = new java.util.ArrayList<>();
    for (int p = 0; p <= n; p++) {
      startingAt.add(new java.util.ArrayList<>());
    }
    for (int r = 0; r < reads.size(); r++) {
      fits.add(new java.util.ArrayList<>());
      if (lo[r] <= hi[r]) {
        startingAt.get(lo[r]).add(r);
      }
    }
    Workload.Model model = workload.newModel();
    Set<Integer> active = new java.util.TreeSet<>();
    for (int p = 0; p <= n; p++) {
      active.addAll(startingAt.get(p));
      for (java.util.Iterator<Integer> it = active.iterator(); it.hasNext(); ) {
        int r = it.next();
        if (p > hi[r]) {
          it.remove();
          continue;
        }
        if (workload.sameResult(model.query(reads.get(r).op()), reads.get(r).result())) {
          fits.get(r).add(p);
        }
      }
      if (p < n) {
        model.apply(ordered.get(p).op());
      }
    }
    // Place them: a read after every read that completed before it was invoked.
    java.util.TreeMap<Long, Integer> placedByCompletion = new java.util.TreeMap<>();
    for (int r = 0; r < reads.size(); r++) {
      OpRecord read = reads.get(r);
      int floor = lo[r];
      for (int p : placedByCompletion.headMap(read.invokeMs(), false).values()) {
        floor = Math.max(floor, p);
      }
      Integer at = null;
      for (int p : fits.get(r)) {
        if (p >= floor) {
          at = p;
          break;
        }
      }
      if (at == null) {
        violation.accept("linearizability: read-only " + read + ", but no state of the committed order between n="
            + floor + " and n=" + hi[r] + " operations (its real-time window" + (floor > lo[r]
                ? ", after an earlier read" : "") + ") gives that"
            + (fits.get(r).isEmpty() ? "" : " (it fits at " + fits.get(r).get(0) + " operations)"));
        return;
      }
      placedByCompletion.merge(read.completeMs(), at, Math::max);
    }
  }

  /** The first index whose value is at least {@code v} in an ascending array. */
  private static int firstAtLeast(long[] a, long v) {
    int lo = 0;
    int hi = a.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (a[mid] < v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** The first index whose value is above {@code v} in an ascending array. */
  private static int firstAbove(long[] a, long v) {
    int lo = 0;
    int hi = a.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (a[mid] <= v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /**
   * After healing, each operation completes within {@code boundMs} of its start or the healing
   * ({@code explained} says how the bound was derived, for the report).
   */
  static void livenessBound(List<OpRecord> history, long healedAtMs, long boundMs, String explained,
      Consumer<String> violation) {
    if (healedAtMs < 0) {
      return;
    }
    for (OpRecord o : history) {
      if (o.completed() && o.completeMs() > healedAtMs
          && o.completeMs() - Math.max(o.invokeMs(), healedAtMs) > boundMs) {
        violation.accept("liveness: " + o + " took " + (o.completeMs() - Math.max(o.invokeMs(), healedAtMs))
            + " ms after the faults healed at " + healedAtMs + " ms, bound " + explained);
        return;
      }
    }
  }

  /**
   * The correct replicas that executed furthest hold the state the committed order leads to (they
   * executed all of it: the order holds only what correct replicas executed).
   */
  static void finalState(List<OpRecord> history, ExecutionLog log, List<SimReplica> replicas, Workload workload,
      Consumer<String> violation) {
    Map<ExecutionLog.Key, OpRecord> byKey = new HashMap<>();
    history.forEach(o -> byKey.put(new ExecutionLog.Key(o.client(), o.timestamp()), o));
    Workload.Model model = workload.newModel();
    for (ExecutionLog.Key key : log.committedOrder()) {
      OpRecord o = byKey.get(key);
      if (o == null) {
        return; // reported by linearizability
      }
      model.apply(o.op());
    }
    List<SimReplica> correct = replicas.stream().filter(r -> !r.downForever() && !r.traitor()).toList();
    long furthest = correct.stream().mapToLong(r -> r.lastExecuted()).max().orElse(0);
    for (SimReplica r : correct) {
      if (r.lastExecuted() == furthest && !r.core().fetchingState()) {
        workload.checkFinalState(model, r.app().app(), r.label(), violation);
      }
    }
  }

  private static KvResult parse(com.google.protobuf.ByteString bytes) {
    try {
      return KvResult.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      return KvResult.newBuilder().setStatus(KvResult.Status.BAD_OPERATION).build();
    }
  }
}

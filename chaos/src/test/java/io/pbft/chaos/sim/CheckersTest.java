package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The checkers on hand-made histories: each must pass a correct one and name what is wrong with
 * a broken one. (The simulations elsewhere show they pass real correct runs; the planted bugs
 * and the collusion tests show they catch real broken ones.)
 */
class CheckersTest {
  private final List<String> violations = new ArrayList<>();
  private final ExecutionLog log = new ExecutionLog(4, Set.of(3), violations::add);
  private final Workload kv = KvWorkload.shared(4);

  private static KvOp put(String key, String value) {
    return new KvOp(KvOp.Kind.PUT, key, value, null);
  }

  private static KvOp get(String key) {
    return new KvOp(KvOp.Kind.GET, key, null, null);
  }

  private static ByteString result(KvOp op, java.util.Map<String, String> before) {
    return op.expectedResult(before).toByteString();
  }

  /** Client {@code client} issued op as timestamp t; replica 0 executes it at sequence s. */
  private void executed(long s, int client, long t, KvOp op) {
    log.issued(client, t, op.encode());
    log.onExecute(0, new ExecutionContext(s), List.of(new Operation(client, t, op.encode())));
  }

  @Test
  void historyThatFollowsTheCommittedOrderInRealTimeIsLinearizable() {
    KvOp write = put("k0", "a");
    KvOp read = get("k0");
    executed(1, 0, 1, write);
    executed(2, 1, 1, read);
    List<OpRecord> history = List.of(
        new OpRecord(0, 1, write, result(write, java.util.Map.of()), 0, 10, 1),
        new OpRecord(1, 1, read, result(read, java.util.Map.of("k0", "a")), 5, 20, 1));
    Checkers.linearizability(history, log, kv, violations::add);
    assertEquals(List.of(), violations);
  }

  @Test
  void staleReadIsNotLinearizable() {
    KvOp write = put("k0", "a");
    KvOp read = get("k0");
    executed(1, 0, 1, write);
    executed(2, 1, 1, read);
    // The read ran after the write, yet its client accepted "not found".
    List<OpRecord> history = List.of(
        new OpRecord(0, 1, write, result(write, java.util.Map.of()), 0, 10, 1),
        new OpRecord(1, 1, read, result(read, java.util.Map.of()), 5, 20, 1));
    Checkers.linearizability(history, log, kv, violations::add);
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).startsWith("linearizability: client 1 t=1 get k0"), violations::toString);
  }

  @Test
  void orderThatContradictsRealTimeIsNotLinearizable() {
    KvOp first = put("k0", "a");
    KvOp second = put("k1", "b");
    // Client 1's put completed at 10, before client 0's was invoked at 15, yet it is ordered after.
    executed(1, 0, 1, first);
    executed(2, 1, 1, second);
    List<OpRecord> history = List.of(
        new OpRecord(0, 1, first, result(first, java.util.Map.of()), 15, 30, 1),
        new OpRecord(1, 1, second, result(second, java.util.Map.of()), 0, 10, 1));
    Checkers.linearizability(history, log, kv, violations::add);
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).contains("completed before"), violations::toString);
  }

  /** A completed read-only read (never ordered) of {@code key} that returned {@code value} (null: absent). */
  private OpRecord readOnly(int client, long t, String key, String value, long invokeMs, long completeMs) {
    KvOp read = get(key);
    java.util.Map<String, String> state = value == null ? java.util.Map.of() : java.util.Map.of(key, value);
    return new OpRecord(client, t, read, result(read, state), invokeMs, completeMs, 1, true);
  }

  @Test
  void readOnlyReadOfTheLatestWriteIsLinearizable() {
    KvOp a = put("k0", "a");
    KvOp b = put("k0", "b");
    executed(1, 0, 1, a);
    executed(2, 0, 2, b);
    List<OpRecord> history = List.of(
        new OpRecord(0, 1, a, result(a, java.util.Map.of()), 0, 10, 1),
        new OpRecord(0, 2, b, result(b, java.util.Map.of("k0", "a")), 20, 30, 1),
        readOnly(1, 1, "k0", "a", 12, 18),   // between the writes
        readOnly(1, 2, "k0", "a", 19, 40),   // concurrent with b: the old value is allowed
        readOnly(2, 1, "k0", "b", 25, 40),   // concurrent with b: the new one too
        readOnly(2, 2, "k0", "b", 41, 50));  // after b
    Checkers.linearizability(history, log, kv, violations::add);
    assertEquals(List.of(), violations);
  }

  @Test
  void readOnlyReadOfAValueOverwrittenBeforeItStartedIsReported() {
    KvOp a = put("k0", "a");
    KvOp b = put("k0", "b");
    executed(1, 0, 1, a);
    executed(2, 0, 2, b);
    List<OpRecord> history = List.of(
        new OpRecord(0, 1, a, result(a, java.util.Map.of()), 0, 10, 1),
        new OpRecord(0, 2, b, result(b, java.util.Map.of("k0", "a")), 20, 30, 1),
        readOnly(1, 1, "k0", "a", 35, 40)); // b completed at 30: "a" is stale
    Checkers.linearizability(history, log, kv, violations::add);
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).startsWith("linearizability: read-only client 1 t=1 get k0"), violations::toString);
  }

  @Test
  void readOnlyReadOfAValueWrittenOnlyAfterItCompletedIsReported() {
    KvOp a = put("k0", "a");
    executed(1, 0, 1, a);
    List<OpRecord> history = List.of(
        new OpRecord(0, 1, a, result(a, java.util.Map.of()), 50, 60, 1),
        readOnly(1, 1, "k0", "a", 10, 20)); // saw the future
    Checkers.linearizability(history, log, kv, violations::add);
    assertEquals(1, violations.size(), violations::toString);
  }

  @Test
  void readOnlyReadsMustNotGoBackInTimeAfterEachOther() {
    KvOp a = put("k0", "a");
    KvOp b = put("k0", "b");
    executed(1, 0, 1, a);
    executed(2, 0, 2, b);
    // b is in flight from 20 to 100; one reader sees "b" and then, later, another sees "a" again.
    List<OpRecord> history = List.of(
        new OpRecord(0, 1, a, result(a, java.util.Map.of()), 0, 10, 1),
        new OpRecord(0, 2, b, result(b, java.util.Map.of("k0", "a")), 20, 100, 1),
        readOnly(1, 1, "k0", "b", 30, 40),
        readOnly(2, 1, "k0", "a", 50, 60));
    Checkers.linearizability(history, log, kv, violations::add);
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).contains("after an earlier read"), violations::toString);
  }

  @Test
  void readOnlyRequestInTheCommittedOrderIsReported() {
    KvOp read = get("k0");
    executed(1, 0, 1, read);
    List<OpRecord> history = List.of(new OpRecord(0, 1, read, result(read, java.util.Map.of()), 0, 10, 1, true));
    Checkers.linearizability(history, log, kv, violations::add);
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).contains("read-only, yet ordered"), violations::toString);
  }

  @Test
  void completedOperationThatNoCorrectReplicaExecutedIsReported() {
    KvOp write = put("k0", "a");
    log.issued(0, 1, write.encode());
    log.onExecute(3, new ExecutionContext(1), List.of(new Operation(0, 1, write.encode()))); // a traitor
    List<OpRecord> history = List.of(new OpRecord(0, 1, write, result(write, java.util.Map.of()), 0, 10, 1));
    Checkers.linearizability(history, log, kv, violations::add);
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).contains("no correct replica executed it"), violations::toString);
  }

  @Test
  void executionLogReportsDisagreementRepeatsAndForgeries() {
    KvOp a = put("k0", "a");
    KvOp b = put("k0", "b");
    log.issued(0, 1, a.encode());
    log.issued(1, 1, b.encode());
    log.onExecute(0, new ExecutionContext(1), List.of(new Operation(0, 1, a.encode())));
    log.onExecute(1, new ExecutionContext(1), List.of(new Operation(1, 1, b.encode())));
    log.onExecute(0, new ExecutionContext(2), List.of(new Operation(0, 1, a.encode())));
    log.onExecute(2, new ExecutionContext(1), List.of(new Operation(0, 1, b.encode())));
    assertEquals(4, violations.size(), violations::toString);
    assertTrue(violations.get(0).startsWith("agreement: at n=1"), violations::toString);
    assertTrue(violations.get(1).startsWith("exactly-once: replica 0"), violations::toString);
    assertTrue(violations.get(2).startsWith("validity: replica 2"), violations::toString);
    assertTrue(violations.get(3).startsWith("agreement: at n=1"), violations::toString);
  }

  @Test
  void replicaRestartedFromItsCheckpointMayExecuteWhatFollowedItAgain() {
    KvOp a = put("k0", "a");
    executed(5, 0, 1, a);
    log.restarted(0, 4);
    log.onExecute(0, new ExecutionContext(5), List.of(new Operation(0, 1, a.encode())));
    assertEquals(List.of(), violations);
    log.restarted(0, 5);
    log.onExecute(0, new ExecutionContext(6), List.of(new Operation(0, 1, a.encode())));
    assertEquals(1, violations.size(), "executed at 5, kept by checkpoint 5, executed again at 6");
  }

  @Test
  void checkpointDigestsMustBeEqualAmongCorrectReplicas() {
    CheckpointLog checkpoints = new CheckpointLog(violations::add);
    ByteString one = ByteString.copyFrom(new byte[32]);
    ByteString other = ByteString.copyFrom(new byte[] {1}).concat(ByteString.copyFrom(new byte[31]));
    checkpoints.announced(0, 16, one);
    checkpoints.announced(1, 16, one);
    checkpoints.announced(2, 32, other);
    assertEquals(List.of(), violations);
    checkpoints.announced(2, 16, other);
    assertEquals(1, violations.size());
    assertTrue(violations.get(0).startsWith("checkpoint: at n=16 replica 0"), violations::toString);
    assertEquals(4, checkpoints.checked());
  }

  @Test
  void operationSlowerThanTheBoundAfterHealingIsALivenessViolation() {
    KvOp op = put("k0", "a");
    List<OpRecord> history = List.of(
        new OpRecord(0, 1, op, ByteString.EMPTY, 0, 900, 1),          // done before healing
        new OpRecord(0, 2, op, ByteString.EMPTY, 500, 1_400, 3),      // 400 ms after healing at 1000
        new OpRecord(1, 1, op, ByteString.EMPTY, 1_200, 1_800, 1));   // 600 ms after its start
    Checkers.livenessBound(history, 1_000, 600, "600 ms", violations::add);
    assertEquals(List.of(), violations);
    Checkers.livenessBound(history, 1_000, 599, "599 ms", violations::add);
    assertEquals(1, violations.size());
    assertTrue(violations.get(0).contains("took 600 ms"), violations::toString);
  }

  // ---------------------------------------------------------------- agreement on every batch

  private static SignedRequest request(int client, long timestamp, KvOp op) {
    return SignedRequest.newBuilder().setRequest(Request.newBuilder().setClientId(client).setTimestamp(timestamp)
        .setOperation(ByteString.copyFrom(op.encode())).build().toByteString()).build();
  }

  @Test
  void aBatchWhoseOperationsAllRanAlreadyIsNotTheNullRequest() {
    // Replica 0 executes at n=7 a batch holding only a retransmission of client 0's t=1, which ran
    // at n=3: the executor filters it out and the application sees nothing, as for a null request.
    SignedRequest retransmitted = request(0, 1, put("k0", "a"));
    log.batchExecuted(0, 7, 1, List.of(retransmitted));
    log.batchExecuted(1, 7, 1, List.of(retransmitted));
    assertEquals(List.of(), violations);
    log.batchExecuted(2, 7, 2, List.of());
    assertEquals(1, violations.size(), violations::toString);
    assertEquals("agreement: at n=7 replica 0 executed [c0:t1] (view 1) but replica 2 executed [] (view 2)",
        violations.get(0));
  }

  @Test
  void batchesInAnotherOrderDisagreeAndFaultyReplicasAreNotCompared() {
    SignedRequest a = request(0, 1, put("k0", "a"));
    SignedRequest b = request(1, 1, put("k1", "b"));
    log.batchExecuted(0, 2, 0, List.of(a, b));
    log.batchExecuted(3, 2, 0, List.of()); // replica 3 is a traitor here: it may execute anything
    assertEquals(List.of(), violations);
    log.batchExecuted(1, 2, 0, List.of(b, a));
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).startsWith("agreement: at n=2 replica 0 executed [c0:t1 c1:t1]"), violations::toString);
    assertEquals(2, log.batchesCompared(), "the traitor's batch is not compared");
  }

  // ---------------------------------------------------------------- convergence of views and states

  private static Checkers.EndState end(int id, long view, boolean changing) {
    return new Checkers.EndState(id, view, changing, 40, new byte[32], false);
  }

  @Test
  void replicasThatSettledInOneViewConverge() {
    Checkers.convergence(List.of(end(0, 2, false), end(1, 2, false), end(2, 2, false)), violations::add);
    assertEquals(List.of(), violations);
  }

  @Test
  void replicaAloneInAHigherViewDoesNotConverge() {
    Checkers.convergence(List.of(end(0, 1, false), end(1, 1, false), end(2, 2, false)), violations::add);
    assertEquals(List.of("convergence: replica 2 ended in view 2, 2 of the 3 correct replicas up in view 1"),
        violations);
  }

  @Test
  void replicaStillChangingViewsDoesNotConverge() {
    Checkers.convergence(List.of(end(0, 3, true), end(1, 3, false), end(2, 3, false)), violations::add);
    assertEquals(List.of("convergence: replica 0 is still changing to view 3 at the end"), violations);
  }

  @Test
  void bankReadOfAllAccountsMustShowTheInitialTotal() {
    BankWorkload bank = new BankWorkload(3, 100);
    BankWorkload.BankOp readAll = new BankWorkload.BankOp(io.pbft.chaos.bank.BankOps.decode(
        io.pbft.chaos.bank.BankOps.readAll()), io.pbft.chaos.bank.BankOps.readAll());
    ByteString fine = balances(150, 50, 100);
    ByteString money = balances(150, 50, 101);
    bank.checkResult(new OpRecord(0, 1, readAll, fine, 0, 1, 1), violations::add);
    assertEquals(List.of(), violations);
    bank.checkResult(new OpRecord(0, 2, readAll, money, 0, 1, 1), violations::add);
    assertEquals(1, violations.size());
    assertTrue(violations.get(0).contains("sums to 301"), violations::toString);
  }

  private static ByteString balances(long... values) {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(5 + 8 * values.length).put((byte) 0).putInt(values.length);
    for (long v : values) {
      b.putLong(v);
    }
    return ByteString.copyFrom(b.array());
  }
}

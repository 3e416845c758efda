package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The execution checks with a Byzantine client (id 9) that signs several operations under one
 * timestamp: any one may run, once per replica, the same one everywhere; nothing unsigned runs.
 */
class ByzantineClientCheckersTest {
  private static final int BYZANTINE = 9;
  private final List<String> violations = new ArrayList<>();
  private final ExecutionLog log = new ExecutionLog(4, Set.of(), Set.of(BYZANTINE), violations::add);
  private final KvOp a = new KvOp(KvOp.Kind.PUT, "c9/k0", "a", null);
  private final KvOp b = new KvOp(KvOp.Kind.PUT, "c9/k0", "b", null);

  private void execute(int replica, long sequence, int client, long timestamp, KvOp op) {
    log.onExecute(replica, new ExecutionContext(sequence), List.of(new Operation(client, timestamp, op.encode())));
  }

  @Test
  void anyOneOfAByzantineClientsOperationsUnderATimestampMayRun() {
    log.issued(BYZANTINE, 5, a.encode());
    log.issued(BYZANTINE, 5, b.encode());
    for (int replica = 0; replica < 4; replica++) {
      execute(replica, 1, BYZANTINE, 5, b);
    }
    assertEquals(List.of(), violations);
    assertEquals(com.google.protobuf.ByteString.copyFrom(b.encode()), log.executedOperation(BYZANTINE, 5));
    assertEquals(1, log.executedAt(BYZANTINE, 5));
  }

  @Test
  void twoOfThemRunningAtDifferentReplicasIsCaught() {
    log.issued(BYZANTINE, 5, a.encode());
    log.issued(BYZANTINE, 5, b.encode());
    execute(0, 1, BYZANTINE, 5, a);
    execute(1, 2, BYZANTINE, 5, b);
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).startsWith("exactly-once: replica 1 executed at n=2 client 9 timestamp 5 as a "
        + "different operation"), violations::toString);
  }

  @Test
  void bothOfThemRunningAtOneReplicaIsCaught() {
    log.issued(BYZANTINE, 5, a.encode());
    log.issued(BYZANTINE, 5, b.encode());
    execute(0, 1, BYZANTINE, 5, a);
    execute(0, 2, BYZANTINE, 5, b);
    assertTrue(violations.get(0).startsWith("exactly-once: replica 0 executed client 9 timestamp 5 a second time"),
        violations::toString);
  }

  @Test
  void anOperationItNeverSignedIsCaught() {
    log.issued(BYZANTINE, 5, a.encode());
    execute(0, 1, BYZANTINE, 5, b);
    assertTrue(violations.get(0).startsWith("validity: replica 0 executed at n=1 an operation client 9 never issued"),
        violations::toString);
  }

  @Test
  void anHonestClientSigningTwoOperationsUnderOneTimestampIsASimulatorBug() {
    log.issued(0, 5, a.encode());
    log.issued(0, 5, a.encode()); // the same operation again is a retransmission, fine
    assertThrows(IllegalStateException.class, () -> log.issued(0, 5, b.encode()));
  }
}

package io.pbft.replica.execution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Digests;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.app.kv.KvOperations;
import io.pbft.replica.app.kv.KvStateMachine;
import io.pbft.replica.app.kv.RocksKvStateMachine;
import io.pbft.replica.core.Effects;
import io.pbft.replica.core.Executed;
import io.pbft.replica.verify.VerifiedRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executor's side of tentative execution (protocol.tentativeExecution): a tentative batch
 * that commits as it ran keeps its results; one that another batch replaces is rolled back, and
 * the state, the client table and the agreed time are then exactly those of a replica that never
 * ran it, for the in-memory and the durable key-value store alike.
 */
class TentativeExecutionTest {
  @TempDir
  Path dir;

  private static VerifiedRequest put(int client, long timestamp, String key, String value) {
    Request r = Request.newBuilder().setClientId(client).setTimestamp(timestamp)
        .setOperation(ByteString.copyFrom(KvOperations.put(key.getBytes(StandardCharsets.UTF_8),
            value.getBytes(StandardCharsets.UTF_8)))).build();
    return new VerifiedRequest(SignedRequest.newBuilder().setRequest(r.toByteString()).build(), r);
  }

  private static Effects.Execute batch(long sequence, boolean tentative, boolean checkpoint, VerifiedRequest... rs) {
    List<VerifiedRequest> requests = List.of(rs);
    long time = 1_000 * sequence;
    ByteString digest = ByteString.copyFrom(Digests.batchDigest(requests.stream().map(VerifiedRequest::signed).toList(),
        time));
    return new Effects.Execute(sequence, 0, requests, checkpoint, time, digest, tentative);
  }

  /** The value a read of {@code key} answers, "" when absent. */
  private static String get(Execution e, String key) {
    try {
      return io.pbft.proto.KvResult.parseFrom(e.query(KvOperations.get(key.getBytes(StandardCharsets.UTF_8))))
          .getValue().toStringUtf8();
    } catch (com.google.protobuf.InvalidProtocolBufferException x) {
      throw new AssertionError(x);
    }
  }

  @Test
  void aTentativeBatchThatCommitsKeepsItsResultsAndRunsOnce() {
    Execution e = new Execution(new KvStateMachine(), CheckpointStore.NONE);
    e.execute(batch(1, false, false, put(0, 1, "a", "1")));
    Executed ran = e.execute(batch(2, true, false, put(0, 2, "a", "2")));
    assertTrue(ran.tentative());
    assertTrue(e.hasTentative());
    assertFalse(e.readable(2), "a read waits while the state holds a tentative batch");
    Executed committed = e.execute(batch(2, false, false, put(0, 2, "a", "2")));
    assertFalse(committed.tentative());
    assertEquals(ran.results(), committed.results(), "the same results, now final");
    assertFalse(e.hasTentative());
    assertTrue(e.readable(2));
    assertEquals(2, e.executedRequests(), "run once");
    assertEquals(0, e.rollbacks());
  }

  @Test
  void tentativeBatchesMayNotBeCheckpoints() {
    Execution e = new Execution(new KvStateMachine(), CheckpointStore.NONE);
    assertThrows(IllegalArgumentException.class, () -> e.execute(batch(1, true, true, put(0, 1, "a", "1"))));
  }

  @Test
  void aReplacedTentativeBatchIsRolledBackInMemory() {
    rolledBackAsIfNeverRun(KvStateMachine::new);
  }

  @Test
  void aReplacedTentativeBatchIsRolledBackInTheDurableStore() {
    int[] n = {0};
    List<RocksKvStateMachine> opened = new java.util.ArrayList<>();
    try {
      rolledBackAsIfNeverRun(() -> {
        RocksKvStateMachine m = RocksKvStateMachine.open(dir.resolve("state-" + n[0]++));
        m.recover();
        opened.add(m);
        return m;
      });
    } finally {
      opened.forEach(RocksKvStateMachine::close);
    }
  }

  /**
   * Two replicas run the same committed batches, with a checkpoint between; one of them also runs
   * batch 5 tentatively, and then another batch commits at 5 (a view change), or another is run
   * tentatively there first. Afterwards both have the same state digest, values and client table.
   */
  private void rolledBackAsIfNeverRun(Supplier<StateMachine> apps) {
    Execution plain = new Execution(apps.get(), CheckpointStore.NONE);
    Execution tentative = new Execution(apps.get(), CheckpointStore.NONE);
    List<Effects.Execute> committed = List.of(
        batch(1, false, false, put(0, 1, "a", "1")),
        batch(2, false, true, put(1, 1, "b", "1")),
        batch(3, false, false, put(0, 2, "a", "2")),
        batch(4, false, false, put(1, 2, "c", "1")));
    for (Effects.Execute b : committed) {
      plain.execute(b);
      tentative.execute(b);
    }
    Executed ran = tentative.execute(batch(5, true, false, put(0, 3, "a", "lost"), put(2, 1, "d", "lost")));
    assertEquals("lost", get(tentative, "a"));
    // The new view's primary ordered another batch at 5: client 0's request there was never prepared.
    Effects.Execute other = batch(5, true, false, put(1, 3, "b", "2"));
    tentative.execute(other);
    assertEquals(1, tentative.rollbacks());
    assertEquals("2", get(tentative, "a"), "the first tentative batch is undone");
    Effects.Execute otherCommitted = batch(5, false, false, put(1, 3, "b", "2"));
    plain.execute(otherCommitted);
    tentative.execute(otherCommitted);
    assertEquals(1, tentative.rollbacks(), "the second committed as it ran");
    assertEquals(plain.stateDigest(), tentative.stateDigest(), "state, client table and time as if never run");
    assertEquals(plain.clientTable(), tentative.clientTable());
    assertEquals(plain.lastTimeMs(), tentative.lastTimeMs());
    assertEquals(plain.executedRequests(), tentative.executedRequests());
    assertEquals(get(plain, "d"), get(tentative, "d"), "client 2's put never happened");
    // Client 0's timestamp 3 never ran: it runs when ordered again.
    Effects.Execute again = batch(6, false, true, put(0, 3, "a", "3"));
    Executed p = plain.execute(again);
    Executed t = tentative.execute(again);
    assertEquals(p.results(), t.results());
    assertEquals(p.checkpointDigest(), t.checkpointDigest(), "the next checkpoint agrees");
    assertEquals("3", get(tentative, "a"));
    assertFalse(ran.results().isEmpty());
  }

  @Test
  void aCommittedBatchWithAnotherDigestRollsTheTentativeOneBackToo() {
    Execution plain = new Execution(new KvStateMachine(), CheckpointStore.NONE);
    Execution tentative = new Execution(new KvStateMachine(), CheckpointStore.NONE);
    Effects.Execute first = batch(1, false, false, put(0, 1, "a", "1"));
    plain.execute(first);
    tentative.execute(first);
    tentative.execute(batch(2, true, false, put(0, 2, "a", "lost")));
    Effects.Execute nullBatch = batch(2, false, false);
    plain.execute(nullBatch);
    tentative.execute(nullBatch);
    assertEquals(1, tentative.rollbacks());
    assertEquals(plain.stateDigest(), tentative.stateDigest());
    assertEquals("1", get(tentative, "a"));
  }
}

package io.pbft.replica.execution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Digests;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.core.Effects;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What the executor agrees on for the application besides the order: the batch's time, kept
 * strictly increasing, and its seed; both carried through checkpoints, restarts and state transfer.
 */
class AgreedContextTest {
  /** Records every context; its state is a counter of operations, so every replica's digest matches. */
  private static final class ContextApp implements StateMachine {
    final List<ExecutionContext> contexts = new ArrayList<>();
    long count;

    @Override
    public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
      contexts.add(context);
      List<byte[]> out = new ArrayList<>();
      for (Operation op : operations) {
        count++;
        out.add(new byte[] {1});
      }
      return out;
    }

    @Override
    public byte[] query(byte[] operation) {
      return new byte[0];
    }

    @Override
    public byte[] stateDigest() {
      return Digests.sha256(Long.toString(count).getBytes());
    }

    @Override
    public byte[] snapshot() {
      return Long.toString(count).getBytes();
    }

    @Override
    public void restore(byte[] snapshot) {
      count = Long.parseLong(new String(snapshot));
    }
  }

  private static VerifiedRequest request(int client, long timestamp) {
    Request r = Request.newBuilder().setClientId(client).setTimestamp(timestamp)
        .setOperation(ByteString.copyFromUtf8("op" + timestamp)).build();
    return new VerifiedRequest(SignedRequest.newBuilder().setRequest(r.toByteString()).build(), r);
  }

  private static Effects.Execute batch(long sequence, long proposedMs, boolean checkpoint) {
    List<VerifiedRequest> requests = List.of(request(0, sequence));
    List<SignedRequest> signed = requests.stream().map(VerifiedRequest::signed).toList();
    return new Effects.Execute(sequence, 0, requests, checkpoint, proposedMs,
        ByteString.copyFrom(Digests.batchDigest(signed, proposedMs)));
  }

  @Test
  void agreedTimeIsTheProposalKeptAboveThePreviousBatch() {
    assertEquals(1000, Execution.agreedTime(1000, 999));
    assertEquals(1000, Execution.agreedTime(1000, 0));
    assertEquals(1001, Execution.agreedTime(1000, 1000), "equal to the previous: one more");
    assertEquals(1001, Execution.agreedTime(5, 1000), "far in the past: the previous plus one");
    assertEquals(1001, Execution.agreedTime(0, 1000), "a null batch: the previous plus one");
  }

  @Test
  void timesAndSeedsSurviveStateTransferAndRestart() {
    ContextApp sourceApp = new ContextApp();
    Execution source = new Execution(sourceApp, CheckpointStore.NONE);
    List<Long> proposed = List.of(5_000L, 4_000L, 0L, 7_000L);
    for (int s = 1; s <= 4; s++) {
      source.execute(batch(s, proposed.get(s - 1), s == 2));
    }
    assertEquals(List.of(5_000L, 5_001L, 5_002L, 7_000L),
        sourceApp.contexts.stream().map(ExecutionContext::timeMillis).toList());

    // A replica that fetched checkpoint 2 from the source runs batches 3 and 4 exactly alike.
    byte[] state = source.read(new Effects.ReadStateChunk(1, 2, ByteString.EMPTY, 0, Integer.MAX_VALUE)).data()
        .toByteArray();
    ContextApp fetchedApp = new ContextApp();
    Execution fetched = new Execution(fetchedApp, CheckpointStore.NONE);
    // The certified digest is the one the source computed at checkpoint 2.
    Execution replay = new Execution(new ContextApp(), CheckpointStore.NONE);
    replay.execute(batch(1, 5_000, false));
    ByteString atTwo = replay.execute(batch(2, 4_000, true)).checkpointDigest();
    assertTrue(fetched.install(new Effects.InstallState(2, atTwo, state)).installed());
    assertEquals(5_001, fetched.lastTimeMs());
    fetched.execute(batch(3, 0, false));
    fetched.execute(batch(4, 7_000, false));
    assertEquals(sourceApp.contexts.subList(2, 4), fetchedApp.contexts, "same times and seeds after the install");

    // A replica restarting from its durable checkpoint 2 (client table and time beside the state).
    ContextApp restartedApp = new ContextApp();
    restartedApp.restore("2".getBytes());
    Execution restarted = new Execution(restartedApp, CheckpointStore.NONE);
    restarted.recoverAt(2, replay.clientTableBytes());
    assertEquals(5_001, restarted.lastTimeMs());
    restarted.execute(batch(3, 0, false));
    restarted.execute(batch(4, 7_000, false));
    assertEquals(sourceApp.contexts.subList(2, 4), restartedApp.contexts, "same times and seeds after a restart");
  }

  @Test
  void aStateWithAnotherTimeDoesNotMatchTheCertifiedDigest() {
    Execution a = new Execution(new ContextApp(), CheckpointStore.NONE);
    Execution b = new Execution(new ContextApp(), CheckpointStore.NONE);
    assertNotEquals(a.execute(batch(1, 5_000, true)).checkpointDigest(), b.execute(batch(1, 5_500, true)).checkpointDigest(),
        "the agreed time is part of the replicated state");
  }

  @Test
  void theSeedDependsOnTheBatchAndTheCheckpointBeforeIt() {
    byte[] cp = new byte[32];
    ByteString d1 = ByteString.copyFrom(Digests.sha256(new byte[] {1}));
    ByteString d2 = ByteString.copyFrom(Digests.sha256(new byte[] {2}));
    assertArrayEquals(Execution.seed(1, d1, cp), Execution.seed(1, d1, cp));
    assertNotEquals(ByteString.copyFrom(Execution.seed(1, d1, cp)), ByteString.copyFrom(Execution.seed(1, d2, cp)));
    assertNotEquals(ByteString.copyFrom(Execution.seed(1, d1, cp)), ByteString.copyFrom(Execution.seed(2, d1, cp)));
    assertNotEquals(ByteString.copyFrom(Execution.seed(1, d1, cp)),
        ByteString.copyFrom(Execution.seed(1, d1, new byte[0])));
  }

  @Test
  void theGeneratorIsDeterministicAndCannotBeReseeded() {
    byte[] seed = Digests.sha256(new byte[] {42});
    ExecutionContext a = new ExecutionContext(1, 1000, seed);
    ExecutionContext b = new ExecutionContext(1, 1000, seed);
    long[] fromA = a.random().longs(5).toArray();
    assertArrayEquals(fromA, b.random().longs(5).toArray());
    assertEquals(a.random(3).nextInt(1000), b.random(3).nextInt(1000), "per-operation streams match");
    assertNotEquals(a.random(3).nextLong(), a.random(4).nextLong(), "and differ between operations");
    Random r = a.random();
    assertThrows(UnsupportedOperationException.class, () -> r.setSeed(1));
    // Roughly uniform: 10 000 draws into 10 buckets, each within 20 % of 1000.
    int[] buckets = new int[10];
    Random g = new ExecutionContext(2, 0, seed).random();
    for (int i = 0; i < 10_000; i++) {
      buckets[g.nextInt(10)]++;
    }
    for (int count : buckets) {
      assertTrue(count > 800 && count < 1200, java.util.Arrays.toString(buckets));
    }
  }
}

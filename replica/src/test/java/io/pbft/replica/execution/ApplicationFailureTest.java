package io.pbft.replica.execution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Digests;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.core.Effects;
import io.pbft.replica.core.Executed;
import io.pbft.replica.verify.VerifiedRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * An application that throws on some input: the operation it throws on is answered as failed and
 * leaves no trace, even though the application changed its state before throwing; the others in
 * the batch run; every replica ends in the same state; a retransmission gets the same answer.
 */
class ApplicationFailureTest {
  /**
   * "key=value" puts into a sorted map. A value "boom" is written and then thrown on, so a batch
   * that reaches it is half applied when the exception comes.
   */
  private static final class Fragile implements StateMachine {
    final TreeMap<String, String> map = new TreeMap<>();

    @Override
    public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
      List<byte[]> out = new ArrayList<>();
      for (Operation op : operations) {
        String[] kv = new String(op.payload(), StandardCharsets.UTF_8).split("=", 2);
        map.put(kv[0], kv[1]);
        if (kv[1].equals("boom")) {
          throw new IllegalArgumentException("cannot store " + kv[1]);
        }
        out.add(("ok " + kv[0]).getBytes(StandardCharsets.UTF_8));
      }
      return out;
    }

    @Override
    public byte[] query(byte[] operation) {
      String v = map.get(new String(operation, StandardCharsets.UTF_8));
      return (v == null ? "" : v).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] stateDigest() {
      return Digests.sha256(map.toString().getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public byte[] snapshot() {
      StringBuilder b = new StringBuilder();
      map.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
      return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void restore(byte[] snapshot) {
      map.clear();
      for (String line : new String(snapshot, StandardCharsets.UTF_8).split("\n")) {
        if (!line.isEmpty()) {
          String[] kv = line.split("=", 2);
          map.put(kv[0], kv[1]);
        }
      }
    }
  }

  private static VerifiedRequest op(int client, long timestamp, String text) {
    Request r = Request.newBuilder().setClientId(client).setTimestamp(timestamp)
        .setOperation(ByteString.copyFromUtf8(text)).build();
    return new VerifiedRequest(SignedRequest.newBuilder().setRequest(r.toByteString()).build(), r);
  }

  private static Effects.Execute batch(long sequence, boolean checkpoint, VerifiedRequest... rs) {
    List<VerifiedRequest> requests = List.of(rs);
    ByteString digest = ByteString.copyFrom(Digests.batchDigest(requests.stream().map(VerifiedRequest::signed).toList(),
        sequence));
    return new Effects.Execute(sequence, 0, requests, checkpoint, sequence, digest);
  }

  private static String text(Executed e, int i) {
    return e.results().get(i).result().toStringUtf8();
  }

  @Test
  void theOperationThrownOnIsAnsweredAsFailedAndUndoneAndTheOthersRun() {
    Fragile app = new Fragile();
    Execution e = new Execution(app, CheckpointStore.NONE);
    e.execute(batch(1, false, op(0, 1, "a=1")));
    e.execute(batch(2, true, op(0, 2, "b=1"))); // a checkpoint: the state to go back to
    e.execute(batch(3, false, op(0, 3, "c=1")));
    Executed ran = e.execute(batch(4, false, op(1, 1, "d=1"), op(2, 1, "x=boom"), op(3, 1, "e=1")));
    assertEquals("ok d", text(ran, 0));
    assertEquals("pbft: the application failed on this operation (java.lang.IllegalArgumentException)", text(ran, 1));
    assertEquals("ok e", text(ran, 2));
    assertEquals(1, e.applicationFailures());
    assertEquals("{a=1, b=1, c=1, d=1, e=1}", app.map.toString(), "x=boom is undone, batch 3 is kept");
    assertEquals(4, e.lastExecuted());

    // A replica whose application never saw the bad operation has the same application state;
    // a second replica with the same fragile application has the same replicated state, client
    // table included (client 2's timestamp 1 ran, with its failure as result).
    Fragile plainApp = new Fragile();
    Execution plain = new Execution(plainApp, CheckpointStore.NONE);
    plain.execute(batch(1, false, op(0, 1, "a=1")));
    plain.execute(batch(2, true, op(0, 2, "b=1")));
    plain.execute(batch(3, false, op(0, 3, "c=1")));
    plain.execute(batch(4, false, op(1, 1, "d=1"), op(3, 1, "e=1")));
    assertArrayEquals(plainApp.stateDigest(), app.stateDigest());
    Execution twin = new Execution(new Fragile(), CheckpointStore.NONE);
    twin.execute(batch(1, false, op(0, 1, "a=1")));
    twin.execute(batch(2, true, op(0, 2, "b=1")));
    twin.execute(batch(3, false, op(0, 3, "c=1")));
    twin.execute(batch(4, false, op(1, 1, "d=1"), op(2, 1, "x=boom"), op(3, 1, "e=1")));
    assertEquals(twin.stateDigest(), e.stateDigest());

    // Ordered again (a retransmission): the same answer from the client table, nothing runs.
    Executed again = e.execute(batch(5, false, op(2, 1, "x=boom")));
    assertEquals(text(ran, 1), text(again, 0));
    assertEquals(1, e.applicationFailures());
    // The next checkpoint agrees with the twin's.
    Effects.Execute six = batch(6, true, op(1, 2, "f=1"));
    twin.execute(batch(5, false, op(2, 1, "x=boom")));
    assertEquals(twin.execute(six).checkpointDigest(), e.execute(six).checkpointDigest());
  }

  @Test
  void aFailureBeforeAnyCheckpointGoesBackToTheStartingState() {
    Fragile app = new Fragile();
    Execution e = new Execution(app, CheckpointStore.NONE);
    Executed ran = e.execute(batch(1, false, op(0, 1, "x=boom"), op(1, 1, "a=1")));
    assertEquals("ok a", text(ran, 1));
    assertEquals("{a=1}", app.map.toString());
    Executed two = e.execute(batch(2, false, op(0, 2, "y=boom"), op(1, 2, "z=boom")));
    assertEquals(3, e.applicationFailures());
    assertEquals("{a=1}", app.map.toString());
    assertEquals(2, two.results().size());
  }
}

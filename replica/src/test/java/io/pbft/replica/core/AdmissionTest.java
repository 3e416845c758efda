package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.payloadOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ProtocolSettings;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.verify.Rejection;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Admission at the primary: each client gets a short queue of its own and batches take clients
 * in turn, so a client that floods delays only itself; a request the primary could not queue is
 * not taken as being ordered, so its retransmission gets in later.
 */
class AdmissionTest {
  private static ProtocolSettings settings(int pendingMax) {
    return ProtocolSettings.newBuilder().batchSizeMax(4).pipelineDepthMax(1).windowSize(64).checkpointInterval(16)
        .pendingRequestsMax(pendingMax).clientRequestsQueuedMax(2).build();
  }

  private static List<PrePrepare> prePrepares(TestReplica r) {
    return r.takeEffects().messages().stream().map(m -> payloadOf(m.message())).filter(ReplicaMessage::hasPrePrepare)
        .map(ReplicaMessage::getPrePrepare).toList();
  }

  private static List<String> batch(PrePrepare pp) {
    return pp.getBatch().getRequestsList().stream().map(CoreFixture::parse)
        .map(q -> "c" + q.getClientId() + ":t" + q.getTimestamp()).toList();
  }

  private static void send(TestReplica r, SignedRequest q) {
    r.onClientRequest(q, CoreFixture.parse(q));
  }

  @Test
  void aFloodingClientOnlyPushesOutItsOwnOlderRequests() {
    CoreFixture fx = new CoreFixture(4, 4, settings(1000));
    TestReplica primary = fx.core(0, new RecordingApp());
    send(primary, fx.request(0, 1, "first")); // goes out at once: the pipeline (depth 1) is then full
    assertEquals(List.of("c0:t1"), batch(prePrepares(primary).get(0)));
    for (long t = 1; t <= 500; t++) {
      send(primary, fx.request(1, t, "flood" + t));
    }
    send(primary, fx.request(2, 1, "honest"));
    send(primary, fx.request(3, 1, "honest"));
    assertEquals(4, primary.pendingRequests(), "client 1 keeps its 2 newest queued, clients 2 and 3 one each");
    commitEverywhere(fx, primary, 1, List.of(fx.request(0, 1, "first")));
    assertEquals(List.of("c1:t499", "c2:t1", "c3:t1", "c1:t500"), batch(prePrepares(primary).get(0)),
        "the honest clients ride in the very next batch");
  }

  @Test
  void batchesTakeClientsInTurn() {
    CoreFixture fx = new CoreFixture(4, 4, settings(1000));
    TestReplica primary = fx.core(0, new RecordingApp());
    send(primary, fx.request(0, 1, "first"));
    prePrepares(primary);
    send(primary, fx.request(1, 1, "a"));
    send(primary, fx.request(1, 2, "b"));
    send(primary, fx.request(2, 1, "c"));
    send(primary, fx.request(3, 1, "d"));
    // The pipeline opens when n=1 executes; the next batch holds at most 4 requests.
    List<io.pbft.proto.SignedRequest> b1 = List.of(fx.request(0, 1, "first"));
    commitEverywhere(fx, primary, 1, b1);
    List<PrePrepare> next = prePrepares(primary);
    assertEquals(1, next.size());
    assertEquals(List.of("c1:t1", "c2:t1", "c3:t1", "c1:t2"), batch(next.get(0)),
        "one request of each client in turn, client 1's second one last");
  }

  /** The backups' PREPAREs and everybody's COMMITs for the primary's batch at {@code seq}. */
  private static void commitEverywhere(CoreFixture fx, TestReplica primary, long seq, List<SignedRequest> batch) {
    commitEverywhere(fx, primary, seq, CoreFixture.digest(batch));
  }

  /** The same, for the batch the primary proposed with digest {@code d} (its time included). */
  private static void commitEverywhere(CoreFixture fx, TestReplica primary, long seq, com.google.protobuf.ByteString d) {
    for (int r = 1; r <= 2; r++) {
      fx.deliver(primary, r, CoreFixture.prepare(0, seq, d, r));
    }
    for (int r = 1; r <= 2; r++) {
      fx.deliver(primary, r, CoreFixture.commit(0, seq, d, r));
    }
    assertEquals(seq, primary.lastExecuted());
  }

  @Test
  void aRequestRefusedByAFullQueueIsTakenWhenItIsRetransmitted() {
    CoreFixture fx = new CoreFixture(4, 4, settings(2));
    TestReplica primary = fx.core(0, new RecordingApp());
    SignedRequest first = fx.request(0, 1, "first");
    send(primary, first);
    prePrepares(primary);
    send(primary, fx.request(1, 1, "a"));
    send(primary, fx.request(2, 1, "b"));
    SignedRequest refused = fx.request(3, 1, "refused");
    send(primary, refused);
    assertEquals(1, primary.rejections().get(Rejection.REQUEST_QUEUE_FULL));
    commitEverywhere(fx, primary, 1, List.of(first));
    PrePrepare second = prePrepares(primary).get(0);
    // Room again: the client's retransmission of the same request gets in.
    send(primary, refused);
    commitEverywhere(fx, primary, 2, second.getDigest());
    List<PrePrepare> after = prePrepares(primary);
    assertTrue(after.stream().anyMatch(pp -> batch(pp).contains("c3:t1")),
        "the retransmission is proposed: " + after.stream().map(AdmissionTest::batch).toList());
  }
}

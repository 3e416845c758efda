package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.commit;
import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.Reply;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Rejection;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Read-only requests (TOCS 2002, section 5.1.3): answered by the executor's side from the current
 * state, never ordered, and only once the replica executed everything it prepared.
 */
class ReadOnlyTest {
  private final CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());

  private static String text(Reply r) {
    return r.getResult().toStringUtf8();
  }

  private void read(TestReplica replica, int client, long timestamp, String op) {
    SignedRequest r = fx.readOnlyRequest(client, timestamp, op);
    replica.onReadOnly(r, CoreFixture.parse(r));
  }

  @Test
  void anIdleReplicaAnswersAtOnceFromItsStateFlaggedReadOnly() {
    TestReplica backup = fx.core(1, new RecordingApp());
    read(backup, 0, 5, "get x");
    List<Effects.ClientReply> replies = backup.takeEffects().replies();
    assertEquals(1, replies.size());
    Reply reply = replies.get(0).reply();
    assertTrue(reply.getReadOnly());
    assertEquals(0, reply.getClientId());
    assertEquals(5, reply.getTimestamp());
    assertEquals(1, reply.getReplicaId());
    assertEquals(0, reply.getView());
    assertEquals("seen 0:get x", text(reply));
    assertEquals(0, backup.pendingRequests(), "nothing was handed to ordering");
  }

  @Test
  void aQueryTheApplicationThrowsOnIsLeftUnansweredAndTheReplicaGoesOn() {
    // An application's query is the client's input: one that throws must not stop the replica.
    RecordingApp app = new RecordingApp() {
      @Override
      public byte[] query(byte[] operation) {
        if (new String(operation, java.nio.charset.StandardCharsets.UTF_8).startsWith("bad")) {
          throw new IllegalArgumentException("cannot parse " + new String(operation, java.nio.charset.StandardCharsets.UTF_8));
        }
        return super.query(operation);
      }
    };
    TestReplica backup = fx.core(1, app);
    read(backup, 0, 5, "bad query");
    assertTrue(backup.takeEffects().replies().isEmpty(), "no answer: the client falls back to ordering it");
    read(backup, 0, 6, "get x");
    List<Effects.ClientReply> replies = backup.takeEffects().replies();
    assertEquals(1, replies.size());
    assertEquals("seen 0:get x", text(replies.get(0).reply()));
  }

  @Test
  void aReplicaThatPreparedABatchAnswersOnlyOnceItExecutedIt() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(2, 1, "put x"));
    ByteString d = digest(batch);
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    fx.deliver(backup, 2, prepare(0, 1, d, 2));
    fx.deliver(backup, 3, prepare(0, 1, d, 3));
    backup.takeEffects();
    assertEquals(1, backup.core().readFloor(), "prepared at 1: a read must reflect it");
    assertEquals(0, backup.lastExecuted());

    read(backup, 0, 7, "get x");
    assertTrue(backup.takeEffects().replies().isEmpty(), "not answered from a state without what it prepared");
    assertEquals(1, backup.readsWaiting());

    fx.deliver(backup, 0, commit(0, 1, d, 0));
    fx.deliver(backup, 2, commit(0, 1, d, 2));
    List<Effects.ClientReply> replies = backup.takeEffects().replies();
    assertEquals(1, backup.lastExecuted());
    Reply read = replies.stream().map(Effects.ClientReply::reply).filter(Reply::getReadOnly).findFirst().orElseThrow();
    assertEquals("seen 1:get x", text(read), "answered right after the batch it waited for");
    assertEquals(7, read.getTimestamp());
    assertEquals(0, backup.readsWaiting());
  }

  @Test
  void aNewerReadDisplacesItsClientsWaitingOneAndAnOlderOneIsDropped() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(2, 1, "put x"));
    ByteString d = digest(batch);
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    fx.deliver(backup, 2, prepare(0, 1, d, 2));
    fx.deliver(backup, 3, prepare(0, 1, d, 3));
    read(backup, 0, 7, "first");
    read(backup, 0, 9, "second");
    read(backup, 0, 8, "late");
    read(backup, 1, 3, "other client");
    assertEquals(2, backup.readsWaiting(), "one waiting read per client");
    backup.takeEffects();
    fx.deliver(backup, 0, commit(0, 1, d, 0));
    fx.deliver(backup, 2, commit(0, 1, d, 2));
    List<String> answered = backup.takeEffects().replies().stream().map(Effects.ClientReply::reply)
        .filter(Reply::getReadOnly).map(ReadOnlyTest::text).sorted().toList();
    assertEquals(List.of("seen 1:other client", "seen 1:second"), answered);
  }

  @Test
  void aReadOnlyRequestHandedToTheCoreIsRefusedAndDisturbsNothing() {
    TestReplica primary = fx.core(0, new RecordingApp());
    SignedRequest write = fx.request(0, 1, "put x");
    primary.onClientRequest(write, CoreFixture.parse(write));
    primary.takeEffects();
    int pending = primary.pendingRequests();
    SignedRequest r = fx.readOnlyRequest(0, 2, "get x");
    primary.onClientRequest(r, CoreFixture.parse(r));
    Effects e = primary.takeEffects();
    assertTrue(e.messages().isEmpty(), "not ordered");
    assertTrue(e.replies().isEmpty());
    assertEquals(1, primary.rejections().get(Rejection.READ_ONLY_AT_CORE));
    assertEquals(pending, primary.pendingRequests(), "the client's write still waits as it did");
  }

  @Test
  void theVerifierRefusesAReadOnlyRequestInAPrePrepareOrARelay() {
    InboundVerifier verifier = new InboundVerifier(fx.config);
    SignedRequest r = fx.readOnlyRequest(0, 1, "get x");
    var verdict = verifier.verify(fx.signed(0, prePrepare(0, 1, List.of(r))));
    assertFalse(verdict.isOk());
    assertEquals(Rejection.EMBEDDED_INVALID_REQUEST, verdict.reason());
    assertTrue(verdict.describe().contains(Rejection.READ_ONLY_ORDERED.label()), verdict.describe());
    var relayed = verifier.verify(fx.signed(2, io.pbft.proto.ReplicaMessage.newBuilder()
        .setForwardedRequest(io.pbft.proto.ForwardedRequest.newBuilder().setRequest(r)).build()));
    assertEquals(Rejection.EMBEDDED_INVALID_REQUEST, relayed.reason());
    assertTrue(verifier.verify(r, 0).isOk(), "from the client itself it is a valid request");
  }
}

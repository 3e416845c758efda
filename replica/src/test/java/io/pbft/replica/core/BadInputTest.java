package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import java.util.List;
import java.util.function.Consumer;
import io.pbft.replica.verify.Rejection;
import org.junit.jupiter.api.Test;

/**
 * Untrusted input the core must refuse: each case is dropped with a named reason, produces no
 * effect, and leaves the replica's state as it was.
 */
class BadInputTest {
  /** Without the request timer's warm-up, so that a timeout is the configured one. */
  private final CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults().toBuilder()
      .requestTimerWarmUpBatches(0).build());

  /** Snapshot of everything observable about a core's state. */
  private record State(long view, long lastExecuted, long low, int logSize, int pending, String digest) {
    static State of(TestReplica c) {
      return new State(c.view(), c.lastExecuted(), c.lowWatermark(), c.logSize(), c.pendingRequests(),
          ByteString.copyFrom(c.stateDigest()).toStringUtf8());
    }
  }

  private void assertRejected(TestReplica core, Rejection reason, Consumer<TestReplica> input) {
    core.takeEffects();
    State before = State.of(core);
    long count = core.rejections().get(reason);
    input.accept(core);
    assertEquals(count + 1, core.rejections().get(reason), "rejected as '" + reason + "'");
    assertTrue(core.takeEffects().isEmpty(), "no message or reply results from rejected input");
    assertEquals(before, State.of(core), "state unchanged");
  }

  @Test
  void prePrepareFromNonPrimaryIsRejected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    assertRejected(backup, Rejection.PRE_PREPARE_FROM_NON_PRIMARY, c -> fx.deliver(c, 2, prePrepare(0, 1, batch)));
  }

  /**
   * Moves a backup to view 1: a request waits, its view-change timer expires, it complains, and
   * another replica's complaint makes f + 1.
   */
  private void suspectPrimary(TestReplica backup) {
    SignedRequest r = fx.request(3, 1, "waiting");
    backup.onClientRequest(r, CoreFixture.parse(r));
    backup.tick(ProtocolSettings.defaults().viewChangeTimeoutMs() + 1);
    int other = backup.id() == 1 ? 3 : 1;
    fx.deliver(backup, other, CoreFixture.complaint(0, other));
    assertEquals(1, backup.view());
  }

  @Test
  void prePrepareForAnOlderViewIsRejected() {
    TestReplica backup = fx.core(2, new RecordingApp());
    suspectPrimary(backup);
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    assertRejected(backup, Rejection.WRONG_VIEW, c -> fx.deliver(c, 0, prePrepare(0, 1, batch)));
  }

  @Test
  void prePrepareOutsideTheWatermarkWindowIsRejected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    long beyond = backup.highWatermark() + 1;
    assertRejected(backup, Rejection.OUTSIDE_WINDOW, c -> fx.deliver(c, 0, prePrepare(0, beyond, batch)));
    assertRejected(backup, Rejection.OUTSIDE_WINDOW, c -> fx.deliver(c, 0, prePrepare(0, 0, batch)));
  }

  @Test
  void prePrepareWhoseDigestDoesNotMatchItsBatchIsRejected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    ByteString wrong = digest(List.of(fx.request(0, 1, "b")));
    assertRejected(backup, Rejection.DIGEST_MISMATCH, c -> fx.deliver(c, 0, prePrepare(0, 1, wrong, batch)));
  }

  @Test
  void secondPrePrepareForSameViewAndSequenceIsRejected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    fx.deliver(backup, 0, prePrepare(0, 1, List.of(fx.request(0, 1, "a"))));
    List<SignedRequest> other = List.of(fx.request(1, 1, "b"));
    assertRejected(backup, Rejection.CONFLICTING_PRE_PREPARE, c -> fx.deliver(c, 0, prePrepare(0, 1, other)));
  }

  @Test
  void oversizedBatchIsRejected() {
    ProtocolSettings s = ProtocolSettings.defaults().withBatchSizeMax(2);
    CoreFixture small = new CoreFixture(4, 4, s);
    TestReplica backup = small.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(small.request(0, 1, "a"), small.request(1, 1, "b"), small.request(2, 1, "c"));
    assertRejected(backup, Rejection.OVERSIZED_BATCH, c -> small.deliver(c, 0, prePrepare(0, 1, batch)));
  }

  @Test
  void requestFromUnknownClientIsRejected() {
    TestReplica primary = fx.core(0, new RecordingApp());
    SignedRequest r = fx.requestSignedBy(77, 1, "a", fx.clientKeys.get(0));
    assertRejected(primary, Rejection.UNKNOWN_CLIENT, c -> c.onClientRequest(r, CoreFixture.parse(r)));
  }

  @Test
  void oversizedOperationIsRejected() {
    TestReplica primary = fx.core(0, new RecordingApp());
    SignedRequest r = fx.request(0, 1, "x".repeat(ProtocolSettings.defaults().operationBytesMax() + 1));
    assertRejected(primary, Rejection.OVERSIZED_OPERATION, c -> c.onClientRequest(r, CoreFixture.parse(r)));
  }

  @Test
  void messageClaimingToBeFromItselfOrOutOfRangeIsRejected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    ByteString d = digest(List.of(fx.request(0, 1, "a")));
    assertRejected(backup, Rejection.UNKNOWN_SENDER, c -> fx.deliver(c, 1, prepare(0, 1, d, 1)));
    ReplicaMessage m = prepare(0, 1, d, 2);
    assertRejected(backup, Rejection.UNKNOWN_SENDER, c -> c.onMessage(9, m, fx.signed(2, m)));
  }

  @Test
  void voteNamingAnotherReplicaThanItsSignerIsRejected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    ByteString d = digest(List.of(fx.request(0, 1, "a")));
    assertRejected(backup, Rejection.SENDER_NOT_SIGNER, c -> fx.deliver(c, 2, prepare(0, 1, d, 3)));
  }

  @Test
  void prepareWithMalformedDigestIsRejected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    assertRejected(backup, Rejection.MALFORMED, c -> fx.deliver(c, 2, prepare(0, 1, ByteString.copyFromUtf8("short"), 2)));
  }

  @Test
  void emptyMessageIsRejected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    assertRejected(backup, Rejection.MALFORMED, c -> fx.deliver(c, 2, ReplicaMessage.getDefaultInstance()));
  }

  @Test
  void prepareForAnOlderViewIsRejected() {
    TestReplica backup = fx.core(2, new RecordingApp());
    suspectPrimary(backup);
    ByteString d = digest(List.of(fx.request(0, 1, "a")));
    assertRejected(backup, Rejection.WRONG_VIEW, c -> fx.deliver(c, 1, prepare(0, 1, d, 1)));
  }

  @Test
  void conflictingPrepareFromTheSameReplicaIsRejected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    fx.deliver(backup, 2, prepare(0, 1, digest(List.of(fx.request(0, 1, "a"))), 2));
    ByteString other = digest(List.of(fx.request(0, 1, "b")));
    assertRejected(backup, Rejection.CONFLICTING_PREPARE, c -> fx.deliver(c, 2, prepare(0, 1, other, 2)));
  }

  @Test
  void forwardedRequestAtABackupIsOnlyNotedAsHeldByItsSender() {
    TestReplica backup = fx.core(1, new RecordingApp());
    ReplicaMessage m = ReplicaMessage.newBuilder().setForwardedRequest(
        io.pbft.proto.ForwardedRequest.newBuilder().setRequest(fx.request(0, 1, "a"))).build();
    fx.deliver(backup, 2, m);
    Effects e = backup.takeEffects();
    assertTrue(e.messages().isEmpty(), "a backup neither orders nor passes on what a peer relayed");
    assertEquals(0, backup.core().pendingRequests());
  }
}

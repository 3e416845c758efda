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
import org.junit.jupiter.api.Test;

/**
 * Untrusted input the core must refuse: each case is dropped with a named reason, produces no
 * effect, and leaves the replica's state as it was.
 */
class BadInputTest {
  private final CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());

  /** Snapshot of everything observable about a core's state. */
  private record State(long view, long lastExecuted, long low, int logSize, int pending, String digest) {
    static State of(ReplicaCore c) {
      return new State(c.view(), c.lastExecuted(), c.lowWatermark(), c.logSize(), c.pendingRequests(),
          ByteString.copyFrom(c.stateDigest()).toStringUtf8());
    }
  }

  private void assertRejected(ReplicaCore core, String reason, Consumer<ReplicaCore> input) {
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
    ReplicaCore backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    assertRejected(backup, "pre-prepare from non-primary", c -> fx.deliver(c, 2, prePrepare(0, 1, batch)));
  }

  /** Moves a backup to view 1: a request waits, its view-change timer expires. */
  private void suspectPrimary(ReplicaCore backup) {
    SignedRequest r = fx.request(3, 1, "waiting");
    backup.onClientRequest(r, CoreFixture.parse(r));
    backup.tick(ProtocolSettings.defaults().viewChangeTimeoutMs() + 1);
    assertEquals(1, backup.view());
  }

  @Test
  void prePrepareForAnOlderViewIsRejected() {
    ReplicaCore backup = fx.core(2, new RecordingApp());
    suspectPrimary(backup);
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    assertRejected(backup, "wrong view", c -> fx.deliver(c, 0, prePrepare(0, 1, batch)));
  }

  @Test
  void prePrepareOutsideTheWatermarkWindowIsRejected() {
    ReplicaCore backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    long beyond = backup.highWatermark() + 1;
    assertRejected(backup, "sequence number outside window", c -> fx.deliver(c, 0, prePrepare(0, beyond, batch)));
    assertRejected(backup, "sequence number outside window", c -> fx.deliver(c, 0, prePrepare(0, 0, batch)));
  }

  @Test
  void prePrepareWhoseDigestDoesNotMatchItsBatchIsRejected() {
    ReplicaCore backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    ByteString wrong = digest(List.of(fx.request(0, 1, "b")));
    assertRejected(backup, "digest mismatch", c -> fx.deliver(c, 0, prePrepare(0, 1, wrong, batch)));
  }

  @Test
  void secondPrePrepareForSameViewAndSequenceIsRejected() {
    ReplicaCore backup = fx.core(1, new RecordingApp());
    fx.deliver(backup, 0, prePrepare(0, 1, List.of(fx.request(0, 1, "a"))));
    List<SignedRequest> other = List.of(fx.request(1, 1, "b"));
    assertRejected(backup, "conflicting pre-prepare", c -> fx.deliver(c, 0, prePrepare(0, 1, other)));
  }

  @Test
  void prePrepareCarryingARequestFromAnUnknownClientIsRejected() {
    ReplicaCore backup = fx.core(1, new RecordingApp());
    SignedRequest stranger = fx.requestSignedBy(99, 1, "a", fx.clientKeys.get(0));
    assertRejected(backup, "pre-prepare with invalid request", c -> fx.deliver(c, 0, prePrepare(0, 1, List.of(stranger))));
  }

  @Test
  void oversizedBatchIsRejected() {
    ProtocolSettings s = ProtocolSettings.defaults().withBatchSizeMax(2);
    CoreFixture small = new CoreFixture(4, 4, s);
    ReplicaCore backup = small.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(small.request(0, 1, "a"), small.request(1, 1, "b"), small.request(2, 1, "c"));
    assertRejected(backup, "oversized batch", c -> small.deliver(c, 0, prePrepare(0, 1, batch)));
  }

  @Test
  void requestFromUnknownClientIsRejected() {
    ReplicaCore primary = fx.core(0, new RecordingApp());
    SignedRequest r = fx.requestSignedBy(77, 1, "a", fx.clientKeys.get(0));
    assertRejected(primary, "request from unknown client", c -> c.onClientRequest(r, CoreFixture.parse(r)));
  }

  @Test
  void oversizedOperationIsRejected() {
    ReplicaCore primary = fx.core(0, new RecordingApp());
    SignedRequest r = fx.request(0, 1, "x".repeat(ProtocolSettings.defaults().operationBytesMax() + 1));
    assertRejected(primary, "oversized operation", c -> c.onClientRequest(r, CoreFixture.parse(r)));
  }

  @Test
  void messageClaimingToBeFromItselfOrOutOfRangeIsRejected() {
    ReplicaCore backup = fx.core(1, new RecordingApp());
    ByteString d = digest(List.of(fx.request(0, 1, "a")));
    assertRejected(backup, "unknown sender", c -> fx.deliver(c, 1, prepare(0, 1, d, 1)));
    ReplicaMessage m = prepare(0, 1, d, 2);
    assertRejected(backup, "unknown sender", c -> c.onMessage(9, m, fx.signed(2, m)));
  }

  @Test
  void voteNamingAnotherReplicaThanItsSignerIsRejected() {
    ReplicaCore backup = fx.core(1, new RecordingApp());
    ByteString d = digest(List.of(fx.request(0, 1, "a")));
    assertRejected(backup, "sender does not match signer", c -> fx.deliver(c, 2, prepare(0, 1, d, 3)));
  }

  @Test
  void prepareWithMalformedDigestIsRejected() {
    ReplicaCore backup = fx.core(1, new RecordingApp());
    assertRejected(backup, "malformed message", c -> fx.deliver(c, 2, prepare(0, 1, ByteString.copyFromUtf8("short"), 2)));
  }

  @Test
  void emptyMessageIsRejected() {
    ReplicaCore backup = fx.core(1, new RecordingApp());
    assertRejected(backup, "malformed message", c -> fx.deliver(c, 2, ReplicaMessage.getDefaultInstance()));
  }

  @Test
  void prepareForAnOlderViewIsRejected() {
    ReplicaCore backup = fx.core(2, new RecordingApp());
    suspectPrimary(backup);
    ByteString d = digest(List.of(fx.request(0, 1, "a")));
    assertRejected(backup, "wrong view", c -> fx.deliver(c, 1, prepare(0, 1, d, 1)));
  }

  @Test
  void conflictingPrepareFromTheSameReplicaIsRejected() {
    ReplicaCore backup = fx.core(1, new RecordingApp());
    fx.deliver(backup, 2, prepare(0, 1, digest(List.of(fx.request(0, 1, "a"))), 2));
    ByteString other = digest(List.of(fx.request(0, 1, "b")));
    assertRejected(backup, "conflicting prepare", c -> fx.deliver(c, 2, prepare(0, 1, other, 2)));
  }

  @Test
  void forwardedRequestAtABackupIsRejected() {
    ReplicaCore backup = fx.core(1, new RecordingApp());
    ReplicaMessage m = ReplicaMessage.newBuilder().setForwardedRequest(
        io.pbft.proto.ForwardedRequest.newBuilder().setRequest(fx.request(0, 1, "a"))).build();
    assertRejected(backup, "forwarded request at a backup", c -> fx.deliver(c, 2, m));
  }
}

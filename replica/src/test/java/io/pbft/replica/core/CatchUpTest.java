package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.commit;
import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.payloadOf;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.Heartbeat;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Answers to a peer's heartbeat that shows it behind: committed certificates of what it lacks,
 * bounded in count and bytes, and at most one answer per peer per half view-change timeout, so a
 * faulty peer or a replayed heartbeat cannot make a replica resend its log without end.
 */
class CatchUpTest {
  private static final int TIMEOUT_MS = 1000;
  /**
   * A window of 32, checkpoints every 16 (beyond the sequence numbers these tests reach, so they
   * do not interfere), batches of at most 2 KiB.
   */
  private static final ProtocolSettings SETTINGS = ProtocolSettings.newBuilder().batchSizeMax(10).batchBytesMax(2048)
      .windowSize(32).pipelineDepthMax(4).checkpointInterval(16).pendingRequestsMax(100).operationBytesMax(1024)
      .viewChangeTimeoutMs(TIMEOUT_MS).stateChunkBytesMax(1 << 20).build();
  private final CoreFixture fx = new CoreFixture(4, 8, SETTINGS);

  /** Backup 1 commits sequence {@code seq} with the primary's and replica 2's votes. */
  private void commitAt(TestReplica backup, long seq, String op) {
    List<SignedRequest> batch = List.of(fx.request((int) (seq % 8), seq, op));
    ByteString d = digest(batch);
    fx.deliver(backup, 0, prePrepare(0, seq, batch));
    fx.deliver(backup, 2, prepare(0, seq, d, 2));
    fx.deliver(backup, 0, commit(0, seq, d, 0));
    fx.deliver(backup, 2, commit(0, seq, d, 2));
  }

  private static ReplicaMessage heartbeat(int from, long lastExecuted) {
    return ReplicaMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder().setView(0).setLastExecuted(lastExecuted)
        .setReplicaId(from)).build();
  }

  /** Sequence numbers of the committed certificates the core sends to {@code to}. */
  private static List<Long> certificatesTo(TestReplica core, int to) {
    return core.takeEffects().messages().stream().filter(m -> m.to() == to)
        .map(m -> payloadOf(m.message())).filter(ReplicaMessage::hasCommitted)
        .map(m -> payloadOf(m.getCommitted().getPrePrepare()).getPrePrepare().getSequence()).toList();
  }

  @Test
  void peerBehindGetsCertificatesAtMostOncePerHalfTimeout() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(10_000);
    for (long s = 1; s <= 3; s++) {
      commitAt(backup, s, "op" + s);
    }
    assertEquals(3, backup.lastExecuted());
    backup.takeEffects();

    fx.deliver(backup, 3, heartbeat(3, 0));
    assertEquals(List.of(1L, 2L, 3L), certificatesTo(backup, 3));
    fx.deliver(backup, 3, heartbeat(3, 0));
    assertEquals(List.of(), certificatesTo(backup, 3), "the same heartbeat again (a replay): no second answer");

    fx.deliver(backup, 2, heartbeat(2, 1));
    assertEquals(List.of(2L, 3L), certificatesTo(backup, 2), "the limit is per peer");

    backup.tick(10_000 + TIMEOUT_MS / 2 - 1);
    fx.deliver(backup, 3, heartbeat(3, 0));
    assertEquals(List.of(), certificatesTo(backup, 3));
    backup.tick(10_000 + TIMEOUT_MS / 2);
    fx.deliver(backup, 3, heartbeat(3, 1));
    assertEquals(List.of(2L, 3L), certificatesTo(backup, 3), "half a timeout later it is answered again");
  }

  @Test
  void peerThatIsNotBehindUsesUpNoAnswer() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(10_000);
    commitAt(backup, 1, "a");
    backup.takeEffects();
    fx.deliver(backup, 3, heartbeat(3, 1));
    assertEquals(List.of(), certificatesTo(backup, 3));
    commitAt(backup, 2, "b");
    backup.takeEffects();
    fx.deliver(backup, 3, heartbeat(3, 1));
    assertEquals(List.of(2L), certificatesTo(backup, 3), "an up-to-date heartbeat was no answer, so this one is served");
  }

  @Test
  void oneAnswerIsBoundedInBytes() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(10_000);
    String big = "x".repeat(900); // ~1 KiB certificates against a budget of 2 x 2048 bytes
    for (long s = 1; s <= 8; s++) {
      commitAt(backup, s, big + s);
    }
    assertEquals(8, backup.lastExecuted());
    backup.takeEffects();

    fx.deliver(backup, 3, heartbeat(3, 0));
    List<Long> first = certificatesTo(backup, 3);
    assertTrue(first.size() >= 1 && first.size() < 8, "stops at the byte budget: " + first);
    assertEquals(1L, first.get(0));

    backup.tick(10_000 + TIMEOUT_MS);
    long caughtUpTo = first.get(first.size() - 1);
    fx.deliver(backup, 3, heartbeat(3, caughtUpTo));
    List<Long> second = certificatesTo(backup, 3);
    assertEquals(caughtUpTo + 1, second.get(0), "the next answer goes on where the peer now is");
  }

  @Test
  void stableProofSentToAPeerLeavesOutItsOwnCheckpoint() {
    CoreFixture small = new CoreFixture(4, 8, SETTINGS.toBuilder().windowSize(8).checkpointInterval(2).build());
    TestReplica backup = small.core(1, new RecordingApp());
    backup.tick(10_000);
    for (long s = 1; s <= 2; s++) {
      List<SignedRequest> batch = List.of(small.request((int) s, s, "op" + s));
      ByteString d = digest(batch);
      small.deliver(backup, 0, prePrepare(0, s, batch));
      small.deliver(backup, 2, prepare(0, s, d, 2));
      small.deliver(backup, 0, commit(0, s, d, 0));
      small.deliver(backup, 2, commit(0, s, d, 2));
    }
    ByteString state = ByteString.copyFrom(backup.stateDigest());
    for (int r : new int[] {2, 3}) {
      small.deliver(backup, r, ReplicaMessage.newBuilder().setCheckpoint(io.pbft.proto.Checkpoint.newBuilder()
          .setSequence(2).setStateDigest(state).setReplicaId(r)).build());
    }
    assertEquals(2, backup.lowWatermark(), "stable with the votes of 1, 2 and 3");
    backup.takeEffects();

    // Replica 3 restarted empty: behind the stable checkpoint, it is sent the proof.
    small.deliver(backup, 3, heartbeat(3, 0));
    List<Integer> signers = backup.takeEffects().messages().stream().filter(m -> m.to() == 3)
        .filter(m -> payloadOf(m.message()).hasCheckpoint()).map(m -> m.message().getSender()).sorted().toList();
    assertEquals(List.of(1, 2), signers);
  }

  /**
   * A backup that f + 1 peers show far ahead defers suspecting the primary while it catches up,
   * but not while catching up gets it nowhere: the batches it lacks may be held by one replica
   * alone (in MAC mode a batch runs on f + 1 claims), with the replicas ahead waiting for this
   * one. Simulator seed 436 (n = 4, MACs, a crash, a restart and a partial-authenticator client)
   * stood still for 198 s without a view change that way.
   */
  @Test
  void aReplicaBehindPeersSuspectsThePrimaryOnceCatchingUpGetsItNowhere() {
    TestReplica backup = fx.core(1, new RecordingApp());
    long timeout = backup.core().requestTimeoutMs();
    backup.tick(100);
    fx.deliver(backup, 2, heartbeat(2, 50));
    fx.deliver(backup, 3, heartbeat(3, 50));
    SignedRequest r = fx.request(0, 1, "waits");
    backup.onClientRequestSentToAll(r, CoreFixture.parse(r));
    backup.takeEffects();
    backup.tick(100 + timeout + 3 * TestReplica.TICK_MS);
    assertFalse(complained(backup), "behind f + 1 peers: it catches up first");
    backup.tick(100 + 4 * timeout);
    assertTrue(complained(backup), "nothing executed since it deferred: it suspects the primary after all");
  }

  private static boolean complained(TestReplica r) {
    return r.takeEffects().messages().stream().map(o -> payloadOf(o.message())).anyMatch(ReplicaMessage::hasComplaint);
  }
}

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
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import io.pbft.replica.verify.Rejection;
import org.junit.jupiter.api.Test;

/** The normal-case operation of PBFT, OSDI 1999 section 4.2, rule by rule. */
class NormalCaseTest {
  private final CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());

  private static List<ReplicaMessage> sent(Effects e) {
    return e.messages().stream().map(o -> payloadOf(o.message())).toList();
  }

  @Test
  void primaryOfViewVIsVModN() {
    TestReplica core = fx.core(1, new RecordingApp());
    assertEquals(0, core.primaryOf(0));
    assertEquals(1, core.primaryOf(1));
    assertEquals(3, core.primaryOf(7));
  }

  @Test
  void primaryAssignsNextSequenceNumberAndMulticastsSignedPrePrepare() {
    TestReplica primary = fx.core(0, new RecordingApp());
    SignedRequest r = fx.request(0, 1, "a");
    primary.onClientRequest(r, CoreFixture.parse(r));
    Effects e = primary.takeEffects();
    assertEquals(1, e.messages().size());
    Effects.Outgoing out = e.messages().get(0);
    assertTrue(out.broadcast());
    ReplicaMessage m = payloadOf(out.message());
    assertTrue(m.hasPrePrepare());
    assertEquals(0, m.getPrePrepare().getView());
    assertEquals(1, m.getPrePrepare().getSequence());
    assertEquals(digest(List.of(r)), m.getPrePrepare().getDigest());
    assertTrue(fx.replicaKeys.get(0).verifier().verify(out.message().getPayload().toByteArray(),
        out.message().getSignature().toByteArray()), "pre-prepare carries the primary's valid signature");
  }

  @Test
  void backupAcceptsValidPrePrepareAndMulticastsPrepare() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    List<ReplicaMessage> out = sent(backup.takeEffects());
    assertEquals(1, out.size());
    assertTrue(out.get(0).hasPrepare());
    assertEquals(digest(batch), out.get(0).getPrepare().getDigest());
    assertEquals(1, out.get(0).getPrepare().getReplicaId());
  }

  @Test
  void backupPreparesABatchItCannotAuthenticateOnlyOnceFOtherBackupsHave() {
    TestReplica backup = fx.core(1, new RecordingApp());
    SignedRequest unchecked = fx.request(0, 1, "a").toBuilder().clearSignature().build();
    List<SignedRequest> batch = List.of(unchecked);
    ByteString d = digest(batch);
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasPrepare),
        "the primary alone does not vouch for a request this backup cannot authenticate");
    fx.deliver(backup, 2, prepare(0, 1, d, 2));
    List<ReplicaMessage> out = sent(backup.takeEffects());
    assertTrue(out.stream().anyMatch(ReplicaMessage::hasPrepare),
        "the pre-prepare and f = 1 other backup's prepare vouch for it: it prepares");
    assertTrue(out.stream().anyMatch(ReplicaMessage::hasCommit), "its own prepare and replica 2's make 2f");
  }

  @Test
  void aBatchNoOtherBackupVouchesForIsNeverPreparedHere() {
    TestReplica backup = fx.core(1, new RecordingApp());
    SignedRequest madeUp = fx.request(0, 1, "steal").toBuilder().clearSignature().build();
    fx.deliver(backup, 0, prePrepare(0, 1, List.of(madeUp)));
    backup.tick(5_000);
    List<ReplicaMessage> out = sent(backup.takeEffects());
    assertTrue(out.stream().noneMatch(m -> m.hasPrepare() || m.hasCommit()), out::toString);
    assertEquals(0, backup.lastExecuted());
  }

  @Test
  void preparedNeedsTwoFMatchingPreparesFromDistinctBackups() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    ByteString d = digest(batch);
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    backup.takeEffects();
    // Its own prepare is one of 2f = 2; the same replica repeating itself adds nothing.
    fx.deliver(backup, 2, prepare(0, 1, d, 2));
    fx.deliver(backup, 2, prepare(0, 1, d, 2));
    List<ReplicaMessage> out = sent(backup.takeEffects());
    assertEquals(1, out.size(), "2f prepares (its own and replica 2's): it sends COMMIT");
    assertTrue(out.get(0).hasCommit());
  }

  @Test
  void prepareRepeatedBySameReplicaCountsOnce() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    ByteString d = digest(batch);
    // Prepares first (they may overtake the pre-prepare), from the same replica twice.
    fx.deliver(backup, 2, prepare(0, 1, d, 2));
    fx.deliver(backup, 2, prepare(0, 1, d, 2));
    assertTrue(backup.takeEffects().isEmpty());
    TestReplica primary = fx.core(0, new RecordingApp());
    assertEquals(0, primary.lastExecuted());
    // Primary's pre-prepare plus one other backup's prepare: 2f distinct backups (1 and 2).
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    List<ReplicaMessage> out = sent(backup.takeEffects());
    assertTrue(out.stream().anyMatch(ReplicaMessage::hasCommit));
  }

  @Test
  void prepareFromThePrimaryIsRejected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    fx.deliver(backup, 0, prepare(0, 1, digest(batch), 0));
    assertEquals(1, backup.rejections().get(Rejection.PREPARE_FROM_PRIMARY));
  }

  @Test
  void prepareWithAnotherDigestDoesNotCountTowardsPrepared() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    List<SignedRequest> other = List.of(fx.request(0, 1, "b"));
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    backup.takeEffects();
    fx.deliver(backup, 2, prepare(0, 1, digest(other), 2));
    fx.deliver(backup, 3, prepare(0, 1, digest(other), 3));
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasCommit),
        "prepares for a digest other than the pre-prepared one never make it prepared");
  }

  @Test
  void executesOnlyAfterTwoFPlusOneCommitsAndReplies() {
    RecordingApp app = new RecordingApp();
    TestReplica backup = fx.core(1, app);
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    ByteString d = digest(batch);
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    fx.deliver(backup, 2, prepare(0, 1, d, 2));
    backup.takeEffects();
    fx.deliver(backup, 0, commit(0, 1, d, 0));
    assertEquals(0, backup.lastExecuted(), "own commit + 1 = 2 < 2f + 1");
    fx.deliver(backup, 0, commit(0, 1, d, 0));
    assertEquals(0, backup.lastExecuted(), "a repeated commit from the same replica counts once");
    fx.deliver(backup, 3, commit(0, 1, d, 3));
    assertEquals(1, backup.lastExecuted());
    Effects e = backup.takeEffects();
    assertEquals(1, e.replies().size());
    assertEquals("ok:a", e.replies().get(0).reply().getResult().toString(StandardCharsets.UTF_8));
    assertEquals(1, e.replies().get(0).reply().getTimestamp());
    assertEquals(1, e.replies().get(0).reply().getReplicaId());
  }

  @Test
  void withFiveReplicasAndFOfOneAQuorumIsFourNotTwoFPlusOne() {
    // n = 5, f = 1: two sets of 2f + 1 = 3 replicas share one, maybe the faulty one, so the
    // paper's counts would let a later view miss a committed batch. A quorum is 4.
    CoreFixture five = new CoreFixture(5, ProtocolSettings.defaults());
    RecordingApp app = new RecordingApp();
    TestReplica backup = five.core(1, app);
    List<SignedRequest> batch = List.of(five.request(0, 1, "a"));
    ByteString d = digest(batch);
    five.deliver(backup, 0, prePrepare(0, 1, batch));
    backup.takeEffects();
    five.deliver(backup, 2, prepare(0, 1, d, 2));
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasCommit),
        "the pre-prepare and two prepares are 3 of 5: not prepared");
    five.deliver(backup, 3, prepare(0, 1, d, 3));
    assertTrue(sent(backup.takeEffects()).stream().anyMatch(ReplicaMessage::hasCommit),
        "the pre-prepare and three prepares are a quorum of 4");
    five.deliver(backup, 0, commit(0, 1, d, 0));
    five.deliver(backup, 2, commit(0, 1, d, 2));
    assertEquals(0, backup.lastExecuted(), "three commits of five are not committed-local");
    five.deliver(backup, 3, commit(0, 1, d, 3));
    assertEquals(1, backup.lastExecuted(), "four commits are");
  }

  @Test
  void executionIsStrictlyInSequenceOrder() {
    RecordingApp app = new RecordingApp();
    TestReplica backup = fx.core(1, app);
    List<SignedRequest> b1 = List.of(fx.request(0, 1, "first"));
    List<SignedRequest> b2 = List.of(fx.request(1, 1, "second"));
    commitAt(backup, 2, b2);
    assertEquals(0, backup.lastExecuted(), "sequence 2 committed but 1 missing: nothing runs");
    assertTrue(app.executed.isEmpty());
    commitAt(backup, 1, b1);
    assertEquals(2, backup.lastExecuted());
    assertEquals("first", new String(app.executed.get(0).payload(), StandardCharsets.UTF_8));
    assertEquals("second", new String(app.executed.get(1).payload(), StandardCharsets.UTF_8));
  }

  private void commitAt(TestReplica backup, long seq, List<SignedRequest> batch) {
    ByteString d = digest(batch);
    fx.deliver(backup, 0, prePrepare(0, seq, batch));
    fx.deliver(backup, 2, prepare(0, seq, d, 2));
    fx.deliver(backup, 0, commit(0, seq, d, 0));
    fx.deliver(backup, 2, commit(0, seq, d, 2));
  }

  @Test
  void retransmittedRequestGetsTheCachedReplyWithoutExecutingAgain() {
    RecordingApp app = new RecordingApp();
    TestReplica backup = fx.core(1, app);
    SignedRequest r = fx.request(0, 5, "x");
    commitAt(backup, 1, List.of(r));
    backup.takeEffects();
    backup.onClientRequest(r, CoreFixture.parse(r));
    Effects e = backup.takeEffects();
    assertEquals(1, e.replies().size());
    assertEquals(5, e.replies().get(0).reply().getTimestamp());
    assertTrue(e.messages().isEmpty(), "not forwarded again");
    assertEquals(1, app.executed.size());
  }

  @Test
  void requestOrderedTwiceExecutesOnce() {
    RecordingApp app = new RecordingApp();
    TestReplica backup = fx.core(1, app);
    SignedRequest r = fx.request(0, 5, "x");
    commitAt(backup, 1, List.of(r));
    commitAt(backup, 2, List.of(r));
    assertEquals(2, backup.lastExecuted());
    assertEquals(1, app.executed.size(), "at most once per client timestamp");
  }

  @Test
  void requestWithOlderTimestampIsIgnored() {
    RecordingApp app = new RecordingApp();
    TestReplica backup = fx.core(1, app);
    commitAt(backup, 1, List.of(fx.request(0, 5, "x")));
    backup.takeEffects();
    SignedRequest old = fx.request(0, 4, "old");
    backup.onClientRequest(old, CoreFixture.parse(old));
    assertTrue(backup.takeEffects().isEmpty());
    assertEquals(1, backup.rejections().get(Rejection.STALE_TIMESTAMP));
    commitAt(backup, 2, List.of(old));
    assertEquals(1, app.executed.size(), "an older request ordered by a faulty primary is not executed");
  }

  @Test
  void backupForwardsClientRequestToPrimaryOnce() {
    TestReplica backup = fx.core(2, new RecordingApp());
    SignedRequest r = fx.request(0, 1, "a");
    backup.onClientRequest(r, CoreFixture.parse(r));
    backup.onClientRequest(r, CoreFixture.parse(r));
    Effects e = backup.takeEffects();
    assertEquals(1, e.messages().size());
    assertEquals(0, e.messages().get(0).to());
    assertTrue(payloadOf(e.messages().get(0).message()).hasForwardedRequest());
  }

  @Test
  void primaryBatchesRequestsThatArriveWhilePipelineIsFull() {
    ProtocolSettings s = ProtocolSettings.defaults().withPipelineDepthMax(2).withBatchSizeMax(3);
    CoreFixture small = new CoreFixture(4, 10, s);
    TestReplica primary = small.core(0, new RecordingApp());
    for (int c = 0; c < 10; c++) {
      SignedRequest r = small.request(c, 1, "op" + c);
      primary.onClientRequest(r, CoreFixture.parse(r));
    }
    List<ReplicaMessage> out = sent(primary.takeEffects());
    assertEquals(2, out.size(), "pipeline depth 2: two pre-prepares in flight");
    assertEquals(1, out.get(0).getPrePrepare().getBatch().getRequestsCount(), "an idle primary proposes at once");
    assertEquals(1, out.get(1).getPrePrepare().getBatch().getRequestsCount());
    assertEquals(8, primary.pendingRequests(), "the rest waits for the pipeline");
    ByteString d = out.get(0).getPrePrepare().getDigest();
    small.deliver(primary, 1, prepare(0, 1, d, 1));
    small.deliver(primary, 2, prepare(0, 1, d, 2));
    small.deliver(primary, 1, commit(0, 1, d, 1));
    small.deliver(primary, 2, commit(0, 1, d, 2));
    List<ReplicaMessage> next = sent(primary.takeEffects()).stream().filter(ReplicaMessage::hasPrePrepare).toList();
    assertEquals(1, next.size(), "one slot freed: one new pre-prepare");
    assertEquals(3, next.get(0).getPrePrepare().getBatch().getRequestsCount(), "waiting requests ride together, up to batchSizeMax");
    assertEquals(5, primary.pendingRequests());
  }

  @Test
  void batchIsBoundedByBytes() {
    ProtocolSettings s = ProtocolSettings.newBuilder().batchSizeMax(100).batchBytesMax(1000).pipelineDepthMax(1)
        .operationBytesMax(600).viewChangeTimeoutMs(1000).stateChunkBytesMax(1 << 20).build();
    CoreFixture small = new CoreFixture(4, 4, s);
    TestReplica primary = small.core(0, new RecordingApp());
    String big = "x".repeat(400);
    for (int c = 0; c < 4; c++) {
      SignedRequest r = small.request(c, 1, big);
      primary.onClientRequest(r, CoreFixture.parse(r));
    }
    // Only one in flight; when it executes, the next batch may take at most 1000 bytes: 2 requests.
    List<ReplicaMessage> out = sent(primary.takeEffects());
    assertEquals(1, out.size());
    assertEquals(3, primary.pendingRequests());
    ByteString d = out.get(0).getPrePrepare().getDigest();
    small.deliver(primary, 1, prepare(0, 1, d, 1));
    small.deliver(primary, 2, prepare(0, 1, d, 2));
    small.deliver(primary, 1, commit(0, 1, d, 1));
    small.deliver(primary, 2, commit(0, 1, d, 2));
    assertEquals(1, primary.lastExecuted());
    List<ReplicaMessage> next = sent(primary.takeEffects()).stream().filter(ReplicaMessage::hasPrePrepare).toList();
    assertEquals(1, next.size());
    assertEquals(2, next.get(0).getPrePrepare().getBatch().getRequestsCount());
    assertTrue(next.get(0).getPrePrepare().getBatch().getSerializedSize() <= 1000);
  }

  @Test
  void primaryNeverAssignsSequenceNumbersAboveTheHighWatermark() {
    // A window of 4 (checkpoints every 2, which nothing here reaches: no batch executes).
    ProtocolSettings s = ProtocolSettings.newBuilder().batchSizeMax(1).windowSize(4).pipelineDepthMax(4)
        .checkpointInterval(2).viewChangeTimeoutMs(1000).stateChunkBytesMax(1 << 20).build();
    CoreFixture small = new CoreFixture(4, 10, s);
    TestReplica primary = small.core(0, new RecordingApp());
    for (int c = 0; c < 10; c++) {
      SignedRequest r = small.request(c, 1, "op");
      primary.onClientRequest(r, CoreFixture.parse(r));
    }
    List<ReplicaMessage> out = sent(primary.takeEffects());
    assertEquals(4, out.size());
    assertEquals(4, out.get(3).getPrePrepare().getSequence());
    assertFalse(out.stream().anyMatch(m -> m.getPrePrepare().getSequence() > primary.highWatermark()));
  }

  /** Sequence numbers of the pre-prepares, prepares and commits the core sent to every peer. */
  private static List<String> votesSent(Effects e) {
    return e.messages().stream().filter(Effects.Outgoing::broadcast).map(o -> payloadOf(o.message()))
        .filter(m -> m.hasPrePrepare() || m.hasPrepare() || m.hasCommit())
        .map(m -> m.hasPrePrepare() ? "pre-prepare " + m.getPrePrepare().getSequence()
            : m.hasPrepare() ? "prepare " + m.getPrepare().getSequence() : "commit " + m.getCommit().getSequence())
        .toList();
  }

  /**
   * Lost votes are sent again: a slot still waiting at two heartbeats in a row has this replica's
   * own PREPARE and COMMIT multicast again at each heartbeat until it commits. Without it, a
   * COMMIT lost at enough replicas left a slot that no replica could prove committed, and a
   * simulator seed (13002, request timer floor 500 ms) changed view a hundred times.
   */
  @Test
  void backupSendsItsVotesAgainForASlotStillWaitingAtTheNextHeartbeat() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(500);
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    ByteString d = digest(batch);
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    fx.deliver(backup, 2, prepare(0, 1, d, 2));
    assertEquals(List.of("prepare 1", "commit 1"), votesSent(backup.takeEffects()), "sent once, then lost");

    backup.tick(1_500);
    assertEquals(List.of(), votesSent(backup.takeEffects()), "the first heartbeat only notes that it waits");
    backup.tick(2_500);
    assertEquals(List.of("prepare 1", "commit 1"), votesSent(backup.takeEffects()), "still waiting: sent again");
    backup.tick(3_500);
    assertEquals(List.of("prepare 1", "commit 1"), votesSent(backup.takeEffects()), "and at every heartbeat");

    fx.deliver(backup, 0, commit(0, 1, d, 0));
    fx.deliver(backup, 2, commit(0, 1, d, 2));
    assertEquals(1, backup.lastExecuted());
    backup.takeEffects();
    backup.tick(6_500);
    assertEquals(List.of(), votesSent(backup.takeEffects()), "committed: nothing more to send");
  }

  /** "pre-prepare N to R" for each pre-prepare the core sent to one replica. */
  private static List<String> prePreparesSentTo(Effects e) {
    return e.messages().stream().filter(o -> !o.broadcast()).filter(o -> payloadOf(o.message()).hasPrePrepare())
        .map(o -> "pre-prepare " + payloadOf(o.message()).getPrePrepare().getSequence() + " to " + o.to()).toList();
  }

  @Test
  void primarySendsAWaitingPrePrepareAgainOnlyToBackupsThatShowedNoSignOfIt() {
    TestReplica primary = fx.core(0, new RecordingApp());
    primary.tick(500);
    SignedRequest r = fx.request(0, 1, "a");
    primary.onClientRequest(r, CoreFixture.parse(r));
    Effects proposed = primary.takeEffects();
    assertEquals(List.of("pre-prepare 1"), votesSent(proposed));
    var d = proposed.messages().stream().map(o -> payloadOf(o.message())).filter(ReplicaMessage::hasPrePrepare)
        .findFirst().orElseThrow().getPrePrepare().getDigest();
    fx.deliver(primary, 1, prepare(0, 1, d, 1)); // backup 1 has it; 2 and 3 are silent
    primary.tick(1_500);
    assertEquals(List.of(), prePreparesSentTo(primary.takeEffects()), "the first heartbeat only notes it");
    primary.tick(2_500);
    assertEquals(List.of("pre-prepare 1 to 2", "pre-prepare 1 to 3"), prePreparesSentTo(primary.takeEffects()),
        "not to backup 1, whose PREPARE shows it has the batch");
  }

  @Test
  void retransmissionCoversAtMostPipelineDepthSlotsPerHeartbeatTheOldestFirst() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(500);
    int depth = ProtocolSettings.defaults().pipelineDepthMax();
    for (int s = 1; s <= depth + 2; s++) {
      fx.deliver(backup, 0, prePrepare(0, s, List.of(fx.request(s % 4, 1 + s / 4, "op" + s))));
    }
    assertEquals(depth + 2, votesSent(backup.takeEffects()).size(), "a PREPARE for each");
    backup.tick(1_500);
    backup.takeEffects();
    backup.tick(2_500);
    List<String> expected = new java.util.ArrayList<>();
    for (int s = 1; s <= depth; s++) {
      expected.add("prepare " + s);
    }
    assertEquals(expected, votesSent(backup.takeEffects()), "pipelineDepthMax slots, the oldest first");
  }
}

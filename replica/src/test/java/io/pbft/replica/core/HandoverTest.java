package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.payloadOf;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.crypto.Digests;
import io.pbft.proto.Batch;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.verify.Rejection;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The core's side of a configuration change (docs/RECONFIGURATION.md): once the executed state
 * holds a change pending with handover checkpoint c, the high watermark stops at c, the primary
 * fills the window up to c (with empty batches if no request waits), backups time it on getting
 * there, and the epoch ends when c is stable and executed; the next epoch's core starts at c, in
 * the view the batch at c was proposed in, and refuses what another epoch says.
 */
class HandoverTest {
  private static final ProtocolSettings SETTINGS = ProtocolSettings.newBuilder().batchSizeMax(10)
      .batchBytesMax(1 << 20).windowSize(8).pipelineDepthMax(4).checkpointInterval(4).pendingRequestsMax(100)
      .operationBytesMax(1024).viewChangeTimeoutMs(1000).stateChunkBytesMax(1 << 20).build();
  private final CoreFixture fx = new CoreFixture(4, 8, SETTINGS);

  /** The executed state holds a change whose handover checkpoint is {@code c}. */
  private static void handoverAt(TestReplica r, long c) {
    r.run(core -> core.recover(0, core.lastExecuted(), List.of(), List.of(), c));
  }

  /** An empty batch at {@code seq} in view {@code view}, naming {@code proposedView}. */
  private static ReplicaMessage emptyPrePrepare(long view, long seq, long proposedView) {
    ByteString d = ByteString.copyFrom(Digests.batchDigest(List.of(), CoreFixture.PROPOSED_MS, proposedView));
    return ReplicaMessage.newBuilder().setPrePrepare(PrePrepare.newBuilder().setView(view).setSequence(seq)
        .setDigest(d).setBatch(Batch.newBuilder().setProposedView(proposedView)).setTimeMs(CoreFixture.PROPOSED_MS))
        .build();
  }

  /** Primary 0's empty batch at {@code seq} commits at {@code backup} (replica 1) with replicas 0 and 2. */
  private void commitEmptyAt(TestReplica backup, long seq) {
    fx.commitAtBackup(backup, emptyPrePrepare(0, seq, 0));
  }

  private static ReplicaMessage checkpoint(long seq, ByteString digest, int replica) {
    return ReplicaMessage.newBuilder().setCheckpoint(
        Checkpoint.newBuilder().setSequence(seq).setStateDigest(digest).setReplicaId(replica)).build();
  }

  private static List<ReplicaMessage> sent(TestReplica r) {
    return r.takeEffects().messages().stream().map(m -> payloadOf(m.message())).toList();
  }

  @Test
  void theHandoverIsTheHighWatermarkAndNothingAboveItIsAccepted() {
    TestReplica backup = fx.core(1, new RecordingApp());
    assertEquals(8, backup.highWatermark());
    handoverAt(backup, 4);
    assertEquals(4, backup.highWatermark(), "min(h + L, c)");
    fx.deliver(backup, 0, emptyPrePrepare(0, 5, 0));
    assertEquals(1, backup.core().rejections().get(Rejection.OUTSIDE_WINDOW), "above the handover: refused");
    fx.deliver(backup, 0, emptyPrePrepare(0, 4, 0));
    assertEquals(1, backup.logSize(), "at the handover: accepted");
  }

  @Test
  void thePrimaryFillsUpToTheHandoverWithEmptyBatchesWhenNoRequestWaits() {
    TestReplica primary = fx.core(0, new RecordingApp());
    primary.tick(100);
    assertTrue(sent(primary).stream().noneMatch(ReplicaMessage::hasPrePrepare), "idle: nothing to propose");
    handoverAt(primary, 4);
    List<PrePrepare> pps = sent(primary).stream().filter(ReplicaMessage::hasPrePrepare)
        .map(ReplicaMessage::getPrePrepare).toList();
    assertEquals(List.of(1L, 2L, 3L, 4L), pps.stream().map(PrePrepare::getSequence).toList());
    assertTrue(pps.stream().allMatch(pp -> pp.getBatch().getRequestsCount() == 0));
    assertEquals(0, pps.get(3).getBatch().getProposedView(), "view 0 names itself as 0");
  }

  @Test
  void theBatchAtTheHandoverNamesItsViewAndNoOtherBatchMay() {
    TestReplica backup = fx.core(2, new RecordingApp());
    backup.run(core -> core.startEpoch(1, 4, ByteString.copyFrom(new byte[32]), List.of(), 1));
    handoverAt(backup, 8);
    ReplicaMessage early = emptyPrePrepare(1, 6, 1).toBuilder().setEpoch(1).build();
    fx.deliver(backup, 1, early);
    assertEquals(1, backup.core().rejections().get(Rejection.MALFORMED), "only the handover batch names a view");
    ReplicaMessage wrongView = emptyPrePrepare(1, 8, 3).toBuilder().setEpoch(1).build();
    fx.deliver(backup, 1, wrongView);
    assertEquals(2, backup.core().rejections().get(Rejection.MALFORMED), "and only its own");
    fx.deliver(backup, 1, emptyPrePrepare(1, 8, 1).toBuilder().setEpoch(1).build());
    assertEquals(1, backup.logSize(), "the handover batch naming its view is accepted");

    TestReplica primary = fx.core(1, new RecordingApp());
    primary.run(core -> core.startEpoch(1, 4, ByteString.copyFrom(new byte[32]), List.of(), 1));
    handoverAt(primary, 8);
    List<ReplicaMessage> out = sent(primary).stream().filter(ReplicaMessage::hasPrePrepare).toList();
    assertEquals(4, out.size());
    assertTrue(out.stream().allMatch(m -> m.getEpoch() == 1), "everything it says names its epoch");
    PrePrepare last = out.get(3).getPrePrepare();
    assertEquals(8, last.getSequence());
    assertEquals(1, last.getBatch().getProposedView(), "the batch at the handover names the view it is proposed in");
    assertEquals(ByteString.copyFrom(Digests.batchDigest(List.of(), last.getTimeMs(), 1)), last.getDigest(),
        "and its digest covers that view");
  }

  @Test
  void aBackupComplainsAboutAPrimaryThatDoesNotBringTheGroupToTheHandover() {
    TestReplica idle = fx.core(1, new RecordingApp());
    idle.tick(5_000);
    assertTrue(sent(idle).stream().noneMatch(ReplicaMessage::hasComplaint), "nothing owed: no complaint");

    TestReplica waiting = fx.core(1, new RecordingApp());
    handoverAt(waiting, 4);
    waiting.tick(900);
    assertTrue(sent(waiting).stream().noneMatch(ReplicaMessage::hasComplaint), "within the timeout");
    waiting.tick(2_500);
    assertTrue(sent(waiting).stream().anyMatch(ReplicaMessage::hasComplaint),
        "the primary owes the batches up to the handover, empty ones if need be");
  }

  @Test
  void theEpochEndsWhenTheHandoverIsStableAndExecuted() {
    TestReplica backup = fx.core(1, new RecordingApp());
    handoverAt(backup, 4);
    for (long s = 1; s <= 4; s++) {
      commitEmptyAt(backup, s);
    }
    assertEquals(4, backup.lastExecuted());
    assertFalse(backup.core().epochEnded(), "executed, not yet stable");
    ByteString d = ByteString.copyFrom(backup.stateDigest());
    fx.deliver(backup, 2, checkpoint(4, d, 2));
    fx.deliver(backup, 3, checkpoint(4, d, 3));
    assertEquals(4, backup.lowWatermark());
    assertTrue(backup.core().epochEnded());
    backup.takeEffects();
    fx.deliver(backup, 0, emptyPrePrepare(0, 5, 0));
    backup.tick(10_000);
    List<ReplicaMessage> after = sent(backup);
    assertTrue(after.stream().noneMatch(m -> m.hasPrepare() || m.hasComplaint() || m.hasViewChange()),
        "an ended core takes no part in its epoch's agreement: " + after);
    assertTrue(after.stream().anyMatch(ReplicaMessage::hasHeartbeat), "it still tells laggards where it stands");
  }

  @Test
  void theNextEpochStartsAtTheHandoverInItsFirstViewAndRefusesOtherEpochs() {
    TestReplica next = fx.core(1, new RecordingApp());
    ByteString genesis = ByteString.copyFrom(Digests.sha256(new byte[] {1}));
    next.run(core -> core.startEpoch(1, 4, genesis, List.of(), 1));
    assertEquals(1, next.core().epoch());
    assertEquals(1, next.view(), "the view the handover batch was proposed in: no NEW-VIEW needed");
    assertTrue(next.core().isPrimary());
    assertEquals(4, next.lowWatermark());
    assertEquals(4, next.lastExecuted());
    assertEquals(12, next.highWatermark());

    fx.deliver(next, 2, prepare(1, 5, genesis, 2));
    assertEquals(1, next.core().rejections().get(Rejection.WRONG_EPOCH), "a message of epoch 0");
    fx.deliver(next, 2, prepare(1, 5, genesis, 2).toBuilder().setEpoch(2).build());
    assertEquals(2, next.core().rejections().get(Rejection.WRONG_EPOCH), "and of epoch 2");

    next.onClientRequest(fx.request(0, 1, "op"), CoreFixture.parse(fx.request(0, 1, "op")));
    ReplicaMessage pp = sent(next).stream().filter(ReplicaMessage::hasPrePrepare).findFirst().orElseThrow();
    assertEquals(1, pp.getEpoch());
    assertEquals(5, pp.getPrePrepare().getSequence(), "numbering goes on from the handover");
  }

  @Test
  void theMembersOfANewEpochEachSendTheirCheckpointForItsGenesis() {
    TestReplica next = fx.core(2, new RecordingApp());
    ByteString genesis = ByteString.copyFrom(Digests.sha256(new byte[] {1}));
    next.run(core -> core.startEpoch(1, 4, genesis, List.of(), 0));
    ReplicaMessage cp = sent(next).stream().filter(ReplicaMessage::hasCheckpoint).findFirst().orElseThrow();
    assertEquals(1, cp.getEpoch());
    assertEquals(4, cp.getCheckpoint().getSequence());
    assertEquals(genesis, cp.getCheckpoint().getStateDigest(), "so that a member that joins without state can fetch it");
  }

  @Test
  void aMemberThatJoinsWithoutStateFetchesTheGenesisOnceFPlusOneMembersVouchForIt() {
    TestReplica joiner = fx.core(3, new RecordingApp());
    joiner.run(core -> core.joinEpoch(1, 0, 4));
    assertEquals(1, joiner.core().epoch());
    assertEquals(0, joiner.lastExecuted());
    sent(joiner);
    ByteString genesis = ByteString.copyFrom(Digests.sha256(new byte[] {1}));
    ByteString forged = ByteString.copyFrom(Digests.sha256(new byte[] {2}));
    fx.deliver(joiner, 0, checkpoint(4, genesis, 0).toBuilder().setEpoch(1).build());
    fx.deliver(joiner, 1, checkpoint(4, forged, 1).toBuilder().setEpoch(1).build());
    joiner.tick(10_000);
    assertFalse(sent(joiner).stream().anyMatch(ReplicaMessage::hasFetchState), "one vote, or two that differ, prove nothing");
    fx.deliver(joiner, 2, checkpoint(4, genesis, 2).toBuilder().setEpoch(1).build());
    joiner.tick(20_000);
    ReplicaMessage fetch = sent(joiner).stream().filter(ReplicaMessage::hasFetchState).findFirst().orElseThrow(
        () -> new AssertionError("two members (f + 1) vouch for the genesis: fetch it"));
    assertEquals(4, fetch.getFetchState().getSequence());
    assertEquals(4, joiner.lowWatermark(), "the genesis is its stable checkpoint, as for the members");

    // Elsewhere f + 1 are not enough: a replica of the epoch that did not join without state waits for 2f + 1.
    TestReplica member = fx.core(3, new RecordingApp());
    member.run(core -> core.startEpoch(1, 4, genesis, List.of(), 0));
    sent(member);
    fx.deliver(member, 0, checkpoint(8, genesis, 0).toBuilder().setEpoch(1).build());
    fx.deliver(member, 2, checkpoint(8, genesis, 2).toBuilder().setEpoch(1).build());
    member.tick(10_000);
    member.tick(20_000);
    assertFalse(sent(member).stream().anyMatch(ReplicaMessage::hasFetchState), "two votes above its state");
  }
}

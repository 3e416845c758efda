package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.payloadOf;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.ReplicaMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Checkpoints and garbage collection, OSDI 1999 section 4.3. */
class CheckpointTest {
  private static final ProtocolSettings SETTINGS = ProtocolSettings.newBuilder().batchSizeMax(10).batchBytesMax(1 << 20)
      .windowSize(8).pipelineDepthMax(4).checkpointInterval(2).pendingRequestsMax(100).operationBytesMax(1024)
      .viewChangeTimeoutMs(1000).stateChunkBytesMax(1 << 20).build();
  private final CoreFixture fx = new CoreFixture(4, 8, SETTINGS);

  private void commitAt(TestReplica backup, long seq, int client) {
    fx.commitAtBackup(backup, prePrepare(0, seq, List.of(fx.request(client, seq, "op" + seq))));
  }

  private static ReplicaMessage checkpoint(long seq, ByteString digest, int replica) {
    return ReplicaMessage.newBuilder().setCheckpoint(
        Checkpoint.newBuilder().setSequence(seq).setStateDigest(digest).setReplicaId(replica)).build();
  }

  @Test
  void replicaMulticastsCheckpointEveryKSequenceNumbers() {
    TestReplica backup = fx.core(1, new RecordingApp());
    commitAt(backup, 1, 0);
    assertTrue(backup.takeEffects().messages().stream().noneMatch(m -> payloadOf(m.message()).hasCheckpoint()));
    commitAt(backup, 2, 1);
    List<ReplicaMessage> out = backup.takeEffects().messages().stream().map(m -> payloadOf(m.message())).toList();
    Checkpoint cp = out.stream().filter(ReplicaMessage::hasCheckpoint).findFirst().orElseThrow().getCheckpoint();
    assertEquals(2, cp.getSequence());
    assertEquals(ByteString.copyFrom(backup.stateDigest()), cp.getStateDigest());
  }

  @Test
  void checkpointBecomesStableWithTwoFPlusOneMatchingAndTruncatesTheLog() {
    TestReplica backup = fx.core(1, new RecordingApp());
    commitAt(backup, 1, 0);
    commitAt(backup, 2, 1);
    commitAt(backup, 3, 2);
    ByteString d = ByteString.copyFrom(payloadOf(backup.takeEffects().messages().stream()
        .filter(m -> payloadOf(m.message()).hasCheckpoint()).findFirst().orElseThrow().message())
        .getCheckpoint().getStateDigest().toByteArray());
    assertEquals(0, backup.lowWatermark());
    fx.deliver(backup, 2, checkpoint(2, d, 2));
    assertEquals(0, backup.lowWatermark(), "2 of 2f + 1 = 3: not stable yet");
    assertEquals(3, backup.logSize());
    fx.deliver(backup, 3, checkpoint(2, d, 3));
    assertEquals(2, backup.lowWatermark(), "stable: low watermark moves to the checkpoint");
    assertEquals(2 + SETTINGS.windowSize(), backup.highWatermark());
    assertEquals(1, backup.logSize(), "slots up to the stable checkpoint are discarded");
  }

  @Test
  void checkpointsWithDifferentDigestsDoNotMakeItStable() {
    TestReplica backup = fx.core(1, new RecordingApp());
    commitAt(backup, 1, 0);
    commitAt(backup, 2, 1);
    ByteString lie = ByteString.copyFrom(new byte[32]);
    fx.deliver(backup, 2, checkpoint(2, lie, 2));
    fx.deliver(backup, 3, checkpoint(2, lie, 3));
    assertEquals(0, backup.lowWatermark(), "two lying votes plus its own different digest: not stable");
  }

  @Test
  void windowMovesSoProgressContinuesBeyondTheFirstWindow() {
    TestReplica backup = fx.core(1, new RecordingApp());
    for (long seq = 1; seq <= 40; seq++) {
      commitAt(backup, seq, (int) (seq % 8));
      if (seq % 2 == 0) {
        ByteString d = ByteString.copyFrom(backup.stateDigest());
        fx.deliver(backup, 2, checkpoint(seq, d, 2));
        fx.deliver(backup, 3, checkpoint(seq, d, 3));
      }
    }
    assertEquals(40, backup.lastExecuted(), "40 sequence numbers through a window of 8");
    assertTrue(backup.logSize() <= SETTINGS.windowSize());
  }

  private static List<Long> checkpointsSent(Effects e) {
    return e.messages().stream().filter(Effects.Outgoing::broadcast).map(m -> payloadOf(m.message()))
        .filter(ReplicaMessage::hasCheckpoint).map(m -> m.getCheckpoint().getSequence()).toList();
  }

  /** A CHECKPOINT lost on the way is sent again while the checkpoint is not stable, then no more. */
  @Test
  void ownCheckpointIsSentAgainUntilItIsStable() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(500);
    commitAt(backup, 1, 0);
    commitAt(backup, 2, 1);
    Effects first = backup.takeEffects();
    assertEquals(List.of(2L), checkpointsSent(first));
    ByteString d = payloadOf(first.messages().stream().filter(m -> payloadOf(m.message()).hasCheckpoint())
        .findFirst().orElseThrow().message()).getCheckpoint().getStateDigest();

    backup.tick(1_500);
    assertEquals(List.of(), checkpointsSent(backup.takeEffects()), "the first heartbeat only notes it");
    backup.tick(2_500);
    assertEquals(List.of(2L), checkpointsSent(backup.takeEffects()), "not stable at the next: sent again");

    fx.deliver(backup, 2, checkpoint(2, d, 2));
    fx.deliver(backup, 3, checkpoint(2, d, 3));
    assertEquals(2, backup.lowWatermark());
    backup.takeEffects();
    backup.tick(4_500);
    assertEquals(List.of(), checkpointsSent(backup.takeEffects()), "stable: nothing more to send");
  }
}

package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.commit;
import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.payloadOf;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.WalRecord;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.node.EffectApplier;
import java.util.ArrayList;
import java.util.List;
import io.pbft.replica.verify.Rejection;
import org.junit.jupiter.api.Test;

/**
 * A durable replica that crashes and restarts from its log and its last checkpoint never
 * contradicts what it said before, and comes back where it was.
 */
class RecoveryTest {
  private static final ProtocolSettings SETTINGS = ProtocolSettings.newBuilder().batchSizeMax(10).batchBytesMax(1 << 20)
      .windowSize(16).pipelineDepthMax(4).checkpointInterval(4).pendingRequestsMax(100).operationBytesMax(1024)
      .viewChangeTimeoutMs(1000).stateChunkBytesMax(1 << 20).requestTimerWarmUpBatches(0).build();
  private final CoreFixture fx = new CoreFixture(4, 8, SETTINGS);

  /** What survives a crash: the log as the runtime would keep it, and the last checkpoint. */
  private static final class Disk implements CheckpointStore, EffectApplier.Storage {
    final List<WalRecord> log = new ArrayList<>();
    long checkpointSequence;
    byte[] clientTable = new byte[0];
    byte[] appSnapshot;
    RecordingApp app;

    @Override
    public void checkpoint(long sequence, byte[] clientTable) {
      checkpointSequence = sequence;
      this.clientTable = clientTable;
      appSnapshot = app.snapshot();
    }

    @Override
    public void stable(long sequence) {}

    /** Applies a burst of effects as the runtime does: append, or compact, then sync. */
    @Override
    public void persist(List<WalRecord> records, List<WalRecord> compaction) {
      log.addAll(records);
      if (compaction != null) {
        log.clear();
        log.addAll(compaction);
      }
    }
  }

  private TestReplica durable(int id, Disk disk) {
    disk.app = new RecordingApp();
    return fx.core(id, disk.app, disk, disk, Rules.PAPER);
  }

  private TestReplica restart(int id, Disk disk) {
    RecordingApp app = new RecordingApp();
    if (disk.appSnapshot != null) {
      app.restore(disk.appSnapshot);
    }
    disk.app = app;
    TestReplica core = fx.core(id, app, disk, disk, Rules.PAPER);
    core.recover(disk.checkpointSequence, disk.clientTable, List.copyOf(disk.log));
    return core;
  }

  private void deliver(TestReplica core, Disk disk, int sender, ReplicaMessage m) {
    fx.deliver(core, sender, m);
    core.takeEffects();
  }

  private void commitAt(TestReplica backup, Disk disk, long seq, List<SignedRequest> batch) {
    ByteString d = digest(batch);
    deliver(backup, disk, 0, prePrepare(0, seq, batch));
    deliver(backup, disk, 2, prepare(0, seq, d, 2));
    deliver(backup, disk, 0, commit(0, seq, d, 0));
    deliver(backup, disk, 2, commit(0, seq, d, 2));
  }

  @Test
  void restartedBackupRefusesAPrePrepareThatConflictsWithOneItPreparedFor() {
    Disk disk = new Disk();
    TestReplica backup = durable(1, disk);
    List<SignedRequest> first = List.of(fx.request(0, 1, "first"));
    deliver(backup, disk, 0, prePrepare(0, 1, first));
    TestReplica restarted = restart(1, disk);
    restarted.takeEffects();
    List<SignedRequest> other = List.of(fx.request(1, 1, "other"));
    fx.deliver(restarted, 0, prePrepare(0, 1, other));
    assertEquals(1, restarted.rejections().get(Rejection.CONFLICTING_PRE_PREPARE));
    assertTrue(restarted.takeEffects().messages().isEmpty(), "no PREPARE for the other digest");
  }

  @Test
  void restartedReplicaReExecutesWhatItExecutedAndEndsInTheSameState() {
    Disk disk = new Disk();
    TestReplica backup = durable(1, disk);
    for (long seq = 1; seq <= 6; seq++) {
      commitAt(backup, disk, seq, List.of(fx.request((int) seq, seq, "op" + seq)));
    }
    assertEquals(6, backup.lastExecuted());
    assertEquals(4, disk.checkpointSequence, "checkpoint at K = 4");
    byte[] digestBefore = backup.stateDigest();
    TestReplica restarted = restart(1, disk);
    assertEquals(6, restarted.lastExecuted(), "checkpoint 4 plus batches 5 and 6 from the log");
    assertArrayEquals(digestBefore, restarted.stateDigest());
    // A retransmission of request 6 gets the cached reply: exactly-once survived the restart.
    SignedRequest again = fx.request(6, 6, "op6");
    restarted.takeEffects();
    restarted.onClientRequest(again, CoreFixture.parse(again));
    Effects e = restarted.takeEffects();
    assertEquals(1, e.replies().size());
    assertEquals("ok:op6", e.replies().get(0).reply().getResult().toStringUtf8());
  }

  /**
   * A replica restarted with its application at a checkpoint that never became stable still
   * claims the batches its log says it executed below it: a peer behind may need its claim (it
   * runs a batch on f + 1). It used to claim only the batches it replayed, and in simulator seed
   * 100689 (two restarts and a traitor) a replica stayed behind for good.
   */
  @Test
  void restartedReplicaClaimsWhatItExecutedBeforeItsApplicationsCheckpoint() {
    Disk disk = new Disk();
    TestReplica backup = durable(1, disk);
    for (long seq = 1; seq <= 6; seq++) {
      commitAt(backup, disk, seq, List.of(fx.request((int) seq, seq, "op" + seq)));
    }
    assertEquals(4, disk.checkpointSequence, "the application's checkpoint at 4, not stable: no CHECKPOINTs came");
    TestReplica restarted = restart(1, disk);
    restarted.takeEffects();
    ReplicaMessage heartbeat = ReplicaMessage.newBuilder().setHeartbeat(io.pbft.proto.Heartbeat.newBuilder()
        .setView(0).setLastExecuted(0).setLowWatermark(0).setReplicaId(3)).build();
    fx.deliver(restarted, 3, heartbeat);
    List<Long> claimed = restarted.takeEffects().messages().stream()
        .filter(o -> o.to() == 3).map(o -> payloadOf(o.message())).filter(ReplicaMessage::hasCommitted)
        .map(m -> {
          try {
            return ReplicaMessage.parseFrom(m.getCommitted().getPrePrepare().getPayload()).getPrePrepare().getSequence();
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
          }
        }).toList();
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), claimed, "below the application's checkpoint too");
  }

  @Test
  void restartedReplicaKeepsTheViewChangeItStarted() {
    Disk disk = new Disk();
    TestReplica backup = durable(2, disk);
    SignedRequest r = fx.request(0, 1, "waiting");
    backup.onClientRequest(r, CoreFixture.parse(r));
    backup.tick(SETTINGS.viewChangeTimeoutMs());
    fx.deliver(backup, 3, CoreFixture.complaint(0, 3));
    backup.takeEffects();
    assertEquals(1, backup.view());
    TestReplica restarted = restart(2, disk);
    assertEquals(1, restarted.view(), "it said it left view 0; it does not go back");
    assertTrue(restarted.viewChanging());
    List<SignedRequest> batch = List.of(fx.request(1, 1, "x"));
    fx.deliver(restarted, 0, prePrepare(0, 1, batch));
    assertEquals(1, restarted.rejections().get(Rejection.WRONG_VIEW));
  }

  @Test
  void logIsCompactedAtStableCheckpointsAndStaysBounded() {
    Disk disk = new Disk();
    TestReplica backup = durable(1, disk);
    for (long seq = 1; seq <= 40; seq++) {
      commitAt(backup, disk, seq, List.of(fx.request((int) (seq % 8), seq, "op" + seq)));
      if (seq % 4 == 0) {
        ByteString d = ByteString.copyFrom(backup.stateDigest());
        for (int r : new int[] {2, 3}) {
          deliver(backup, disk, r, ReplicaMessage.newBuilder().setCheckpoint(
              Checkpoint.newBuilder().setSequence(seq).setStateDigest(d).setReplicaId(r)).build());
        }
      }
    }
    assertEquals(40, backup.lowWatermark());
    assertTrue(disk.log.size() < 10, "log compacted to the live state: " + disk.log.size() + " records");
    TestReplica restarted = restart(1, disk);
    assertEquals(40, restarted.lastExecuted());
    assertEquals(40, restarted.lowWatermark());
    assertArrayEquals(backup.stateDigest(), restarted.stateDigest());
    assertTrue(payloadOf(fx.signed(2, prepare(0, 41, digest(List.of(fx.request(0, 99, "y"))), 2))).hasPrepare());
  }
}

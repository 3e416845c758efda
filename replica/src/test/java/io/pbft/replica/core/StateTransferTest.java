package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.commit;
import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.payloadOf;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.FetchState;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.StateChunk;
import io.pbft.replica.verify.Rejection;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * State transfer against lying sources and greedy fetchers (TOCS 2002, section 5.3.2): the fetcher
 * never allocates what a source merely claims, and a source that trickles its chunks is dropped;
 * the server keeps at most one old checkpoint alive for peers still fetching it.
 */
class StateTransferTest {
  private static final int TIMEOUT = 1000;
  private static final ProtocolSettings SETTINGS = ProtocolSettings.newBuilder().batchSizeMax(10)
      .windowSize(8).checkpointInterval(4).pipelineDepthMax(4).viewChangeTimeoutMs(TIMEOUT)
      .stateChunkBytesMax(512).stateBytesMax(1 << 20).build();
  private final CoreFixture fx = new CoreFixture(4, 8, SETTINGS);

  private static ReplicaMessage checkpoint(long seq, ByteString digest, int replica) {
    return ReplicaMessage.newBuilder().setCheckpoint(
        Checkpoint.newBuilder().setSequence(seq).setStateDigest(digest).setReplicaId(replica)).build();
  }

  private static List<ReplicaMessage> sentTo(TestReplica r, int to) {
    return r.takeEffects().messages().stream().filter(m -> m.broadcast() || m.to() == to)
        .map(m -> payloadOf(m.message())).toList();
  }

  /** Replica 3 learns that checkpoint 4 is stable (2f + 1 CHECKPOINTs) and starts fetching it. */
  private TestReplica fetching(ByteString digest) {
    TestReplica r = fx.core(3, new RecordingApp());
    for (int from = 0; from < 3; from++) {
      fx.deliver(r, from, checkpoint(4, digest, from));
    }
    r.tick(TIMEOUT / 2 + 20);
    return r;
  }

  private static ReplicaMessage chunk(long seq, ByteString digest, long offset, long total, int bytes, int from) {
    return ReplicaMessage.newBuilder().setStateChunk(StateChunk.newBuilder().setSequence(seq).setStateDigest(digest)
        .setOffset(offset).setTotalBytes(total).setData(ByteString.copyFrom(new byte[bytes])).setReplicaId(from))
        .build();
  }

  @Test
  void sourceClaimingAStateLargerThanStateBytesMaxIsDistrustedBeforeAnythingIsAllocated() {
    ByteString d = ByteString.copyFrom(new byte[32]);
    TestReplica r = fetching(d);
    FetchState fetch = sentTo(r, 0).stream().filter(ReplicaMessage::hasFetchState).findFirst().orElseThrow()
        .getFetchState();
    assertEquals(4, fetch.getSequence());
    fx.deliver(r, 0, chunk(4, d, 0, (1L << 31) - 100, 512, 0));
    assertEquals(1, r.rejections().get(Rejection.LYING_STATE_SOURCE));
    assertTrue(sentTo(r, 1).stream().anyMatch(m -> m.hasFetchState() && m.getFetchState().getOffset() == 0),
        "the fetch starts over with the next replica");
  }

  @Test
  void sourceTricklingShortChunksIsDistrusted() {
    ByteString d = ByteString.copyFrom(new byte[32]);
    TestReplica r = fetching(d);
    r.takeEffects();
    // A correct source sends full chunks (512 bytes here); one byte just before each deadline
    // would hold the transfer for ever.
    fx.deliver(r, 0, chunk(4, d, 0, 2000, 1, 0));
    assertEquals(1, r.rejections().get(Rejection.LYING_STATE_SOURCE));
    assertTrue(sentTo(r, 1).stream().anyMatch(ReplicaMessage::hasFetchState), "asks the next replica");
  }

  @Test
  void sourceChangingTheStateSizeMidwayIsDistrusted() {
    ByteString d = ByteString.copyFrom(new byte[32]);
    TestReplica r = fetching(d);
    fx.deliver(r, 0, chunk(4, d, 0, 2000, 512, 0));
    assertEquals(0, r.rejections().get(Rejection.LYING_STATE_SOURCE));
    fx.deliver(r, 0, chunk(4, d, 512, 5000, 512, 0));
    assertEquals(1, r.rejections().get(Rejection.LYING_STATE_SOURCE));
  }

  /**
   * A later checkpoint becomes stable while a moving transfer of an earlier one goes on (it waits
   * for that one to finish); when the source then falls silent, the peers may have let go of the
   * earlier state: the fetch moves to the later checkpoint rather than ask every peer for one none
   * of them holds any more (simulator seed 3863 with the administrator: a replica fetched
   * checkpoint 224, which every peer had released, until the run ended).
   */
  @Test
  void aSilentSourceOfAnOldCheckpointMovesTheFetchToTheNewerStableOne() {
    ByteString d4 = ByteString.copyFrom(new byte[32]);
    ByteString d8 = ByteString.copyFrom(io.pbft.crypto.Digests.sha256(new byte[] {8}));
    TestReplica r = fetching(d4);
    fx.deliver(r, 0, chunk(4, d4, 0, 2000, 512, 0)); // moving
    for (int from = 0; from < 3; from++) {
      fx.deliver(r, from, checkpoint(8, d8, from));
    }
    r.tick(TIMEOUT + 100); // as in fetching(): the quorum beyond its state is acted on after a while
    assertEquals(8, r.lowWatermark());
    assertTrue(sentTo(r, 0).stream().filter(ReplicaMessage::hasFetchState)
        .allMatch(m -> m.getFetchState().getSequence() == 4), "the moving transfer finishes first");
    r.tick(3 * TIMEOUT);
    assertTrue(r.rejections().get(Rejection.STATE_SOURCE_SILENT) >= 1);
    List<FetchState> fetches = r.takeEffects().messages().stream().map(m -> payloadOf(m.message()))
        .filter(ReplicaMessage::hasFetchState).map(ReplicaMessage::getFetchState).toList();
    assertTrue(!fetches.isEmpty() && fetches.stream().allMatch(f -> f.getSequence() == 8 && f.getOffset() == 0),
        "fetches the newer stable checkpoint from the start: " + fetches);
  }

  // ------------------------------------------------------------------ serving

  /** Backup 1 executes sequence numbers up to {@code to} and makes every checkpoint stable. */
  private void runTo(TestReplica backup, long from, long to) {
    for (long seq = from; seq <= to; seq++) {
      List<SignedRequest> batch = List.of(fx.request((int) (seq % 8), seq, "op" + seq));
      ByteString d = digest(batch);
      fx.deliver(backup, 0, prePrepare(0, seq, batch));
      fx.deliver(backup, 2, prepare(0, seq, d, 2));
      fx.deliver(backup, 0, commit(0, seq, d, 0));
      fx.deliver(backup, 2, commit(0, seq, d, 2));
      if (seq % 4 == 0) {
        ByteString state = ByteString.copyFrom(backup.stateDigest());
        fx.deliver(backup, 0, checkpoint(seq, state, 0));
        fx.deliver(backup, 2, checkpoint(seq, state, 2));
      }
    }
  }

  private static ReplicaMessage fetch(long seq, ByteString digest, int from) {
    return ReplicaMessage.newBuilder().setFetchState(FetchState.newBuilder().setSequence(seq).setStateDigest(digest)
        .setOffset(0).setReplicaId(from)).build();
  }

  private static boolean served(TestReplica r, long seq) {
    return r.takeEffects().messages().stream().map(m -> payloadOf(m.message()))
        .anyMatch(m -> m.hasStateChunk() && m.getStateChunk().getSequence() == seq);
  }

  @Test
  void peersFetchingOldCheckpointsCannotMakeAReplicaKeepManyOfThem() {
    TestReplica backup = fx.core(1, new RecordingApp());
    runTo(backup, 1, 4);
    ByteString at4 = ByteString.copyFrom(backup.stateDigest());
    fx.deliver(backup, 3, fetch(4, at4, 3));
    assertTrue(served(backup, 4), "checkpoint 4 is the stable one");
    runTo(backup, 5, 8);
    ByteString at8 = ByteString.copyFrom(backup.stateDigest());
    fx.deliver(backup, 3, fetch(4, at4, 3));
    assertTrue(served(backup, 4), "a transfer of 4 under way may finish after 8 became stable");
    fx.deliver(backup, 2, fetch(8, at8, 2));
    assertTrue(served(backup, 8));
    runTo(backup, 9, 12);
    // Now 4 and 8 are both old and both were fetched recently: only the newer is kept.
    long notHeld = backup.rejections().get(Rejection.FETCH_NOT_HELD);
    fx.deliver(backup, 3, fetch(4, at4, 3));
    assertEquals(notHeld + 1, backup.rejections().get(Rejection.FETCH_NOT_HELD), "checkpoint 4 was let go");
    backup.takeEffects();
    fx.deliver(backup, 2, fetch(8, at8, 2));
    assertTrue(served(backup, 8), "the newest old checkpoint being fetched is kept");
  }

  @Test
  void anOldCheckpointNobodyWasFetchingIsNotServed() {
    TestReplica backup = fx.core(1, new RecordingApp());
    runTo(backup, 1, 4);
    ByteString at4 = ByteString.copyFrom(backup.stateDigest());
    runTo(backup, 5, 8);
    fx.deliver(backup, 3, fetch(4, at4, 3));
    assertEquals(1, backup.rejections().get(Rejection.FETCH_NOT_HELD),
        "a peer asking for it now is told about checkpoint 8 instead");
  }
}

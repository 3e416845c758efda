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
import io.pbft.crypto.PeerKeys;
import io.pbft.proto.CommittedCertificate;
import io.pbft.proto.Heartbeat;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.verify.Rejection;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Catching up without a transferable proof ({@code authentication: macs}): a peer claims it
 * committed a batch (a committed certificate without commits), and a replica runs the batch once
 * f + 1 distinct replicas claimed the same one.
 */
class CommittedClaimsTest {
  private static final ProtocolSettings SETTINGS = ProtocolSettings.newBuilder().batchSizeMax(10).batchBytesMax(2048)
      .windowSize(32).pipelineDepthMax(4).checkpointInterval(16).pendingRequestsMax(100).operationBytesMax(1024)
      .viewChangeTimeoutMs(1000).stateChunkBytesMax(1 << 20).build();
  private final CoreFixture fx = new CoreFixture(4, 8, SETTINGS);

  private ReplicaMessage claim(ReplicaMessage prePrepare) {
    return ReplicaMessage.newBuilder().setCommitted(CommittedCertificate.newBuilder()
        .setPrePrepare(fx.signed(0, prePrepare))).build();
  }

  @Test
  void aBatchRunsOnceFPlusOneDistinctPeersClaimTheyCommittedIt() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(10_000);
    ReplicaMessage pp = prePrepare(0, 1, List.of(fx.request(0, 1, "a")));

    fx.deliver(backup, 2, claim(pp));
    fx.deliver(backup, 2, claim(pp));
    assertEquals(0, backup.lastExecuted(), "one replica's claim, twice, may be a faulty replica's");
    fx.deliver(backup, 3, claim(pp));
    assertEquals(1, backup.lastExecuted(), "f + 1 = 2 replicas claim it: one of them is correct");
  }

  @Test
  void claimsForDifferentBatchesAtOneSequenceNumberDoNotAddUp() {
    // An equivocating primary signed two batches for n = 1; each of two replicas claims another.
    RecordingApp app = new RecordingApp();
    TestReplica backup = fx.core(1, app);
    backup.tick(10_000);
    ReplicaMessage a = prePrepare(0, 1, List.of(fx.request(0, 1, "a")));
    ReplicaMessage b = prePrepare(0, 1, List.of(fx.request(0, 1, "b")));

    fx.deliver(backup, 2, claim(a));
    fx.deliver(backup, 3, claim(b));
    assertEquals(0, backup.lastExecuted());
    fx.deliver(backup, 0, claim(a));
    assertEquals(1, backup.lastExecuted());
    assertEquals("a", new String(app.executed.get(0).payload(), java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void aClaimCarryingAPrePrepareNotSignedByThePrimaryIsRefused() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(10_000);
    ReplicaMessage pp = prePrepare(0, 1, List.of(fx.request(0, 1, "a")));
    ReplicaMessage forged = ReplicaMessage.newBuilder().setCommitted(CommittedCertificate.newBuilder()
        .setPrePrepare(fx.signed(2, pp))).build();
    fx.deliver(backup, 2, forged);
    fx.deliver(backup, 3, forged);
    assertEquals(0, backup.lastExecuted(), "a claim must carry the primary's pre-prepare");
  }

  @Test
  void aReplicaWhoseCommitsCameWithMacsAnswersAPeerBehindWithItsClaim() {
    TestReplica backup = fx.core(1, new RecordingApp());
    PeerKeys keys = PeerKeys.generate(1, 4, new SecureRandom(), 1);
    backup.core().useMacs(keys);
    backup.tick(10_000);
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    ByteString d = digest(batch);
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    fx.deliver(backup, 2, prepare(0, 1, d, 2));
    // The peers' COMMITs arrive MAC-authenticated (no signature); its own goes out the same way.
    ReplicaMessage c0 = commit(0, 1, d, 0);
    ReplicaMessage c2 = commit(0, 1, d, 2);
    backup.onMessage(0, c0, SignedMessage.newBuilder().setSender(0).setPayload(c0.toByteString()).build());
    backup.onMessage(2, c2, SignedMessage.newBuilder().setSender(2).setPayload(c2.toByteString()).build());
    assertEquals(1, backup.lastExecuted());
    backup.takeEffects();

    fx.deliver(backup, 3, ReplicaMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder().setView(0)
        .setLastExecuted(0).setReplicaId(3)).build());
    List<ReplicaMessage> toPeer = backup.takeEffects().messages().stream().filter(m -> m.to() == 3)
        .map(m -> payloadOf(m.message())).toList();
    List<CommittedCertificate> sent = toPeer.stream().filter(ReplicaMessage::hasCommitted)
        .map(ReplicaMessage::getCommitted).toList();
    assertEquals(1, sent.size());
    assertEquals(0, sent.get(0).getCommitsCount(), "no 2f + 1 signed COMMITs: a claim");
    assertEquals(1, payloadOf(sent.get(0).getPrePrepare()).getPrePrepare().getSequence());
    // A claim counts only with f others, who may no longer have the batch: its own PREPARE and
    // COMMIT go again, which may be all a peer lacks to prepare and commit the batch itself
    // (simulator seeds 7195 and 20776).
    assertEquals(List.of(commit(0, 1, d, 1)), toPeer.stream().filter(ReplicaMessage::hasCommit).toList());
    assertEquals(List.of(prepare(0, 1, d, 1)), toPeer.stream().filter(ReplicaMessage::hasPrepare).toList());
  }

  @Test
  void aHeartbeatWithANewPairKeyIsAnsweredWithOursAtOnce() {
    TestReplica backup = fx.core(1, new RecordingApp());
    SecureRandom random = new SecureRandom();
    PeerKeys keys = PeerKeys.generate(1, 4, random, 1);
    backup.core().useMacs(keys);
    backup.tick(10_000);
    backup.takeEffects();
    PeerKeys peer = PeerKeys.generate(3, 4, random, 7);
    ReplicaMessage hb = ReplicaMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder().setView(0).setReplicaId(3)
        .setPeerKey(peer.publicKey()).setPeerKeyIncarnation(peer.incarnation())).build();

    fx.deliver(backup, 3, hb);
    assertTrue(keys.knows(3));
    List<Heartbeat> answers = backup.takeEffects().messages().stream().filter(m -> m.to() == 3)
        .map(m -> payloadOf(m.message())).filter(ReplicaMessage::hasHeartbeat).map(ReplicaMessage::getHeartbeat)
        .toList();
    assertEquals(1, answers.size());
    assertEquals(keys.publicKey(), answers.get(0).getPeerKey());
    assertEquals(1, answers.get(0).getPeerKeyIncarnation());
    // The answer names the key it checks 3's MACs with: 3 learns ours and may MAC to it now.
    assertTrue(peer.learn(1, answers.get(0).getPeerKey(), answers.get(0).getPeerKeyIncarnation()));
    assertTrue(peer.confirm(1, answers.get(0).getPeerKeyIdsHeld(3)));
    // The backup itself MACs to 3 only once a heartbeat of 3 names the key it holds for it.
    assertFalse(keys.confirmed(3));
    ReplicaMessage confirming = ReplicaMessage.newBuilder().setHeartbeat(hb.getHeartbeat().toBuilder()
        .addAllPeerKeyIdsHeld(peer.heldKeyIds())).build();
    fx.deliver(backup, 3, confirming);
    assertTrue(keys.confirmed(3));
    assertTrue(backup.takeEffects().messages().isEmpty(), "a confirmation alone is not answered");

    fx.deliver(backup, 3, confirming);
    assertFalse(backup.takeEffects().messages().stream().map(m -> payloadOf(m.message()))
        .anyMatch(ReplicaMessage::hasHeartbeat), "nothing new: no answer");
    assertTrue(keys.confirmed(3));

    ReplicaMessage tooMany = ReplicaMessage.newBuilder().setHeartbeat(confirming.getHeartbeat().toBuilder()
        .addPeerKeyIdsHeld(ByteString.EMPTY)).build();
    fx.deliver(backup, 3, tooMany);
    assertEquals(1, backup.core().rejections().get(Rejection.TOO_MANY_ENTRIES), "five held ids for four replicas");
    assertTrue(backup.takeEffects().messages().isEmpty());
  }
}

package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.GroupMembership;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.Member;
import io.pbft.config.Membership;
import io.pbft.config.Reconfigurations;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.execution.Epochs;
import io.pbft.replica.runtime.ReplicaServer;
import io.pbft.testkit.Polling;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Members added to and removed from a running group over gRPC, under load: a fifth replica joins
 * without state and counts in quorums once it holds the group's state, then one of the original
 * four is removed, steps down and says why; clients follow both changes, and no acknowledged
 * write is lost.
 */
class MembershipChangeGrpcTest {
  @TempDir
  Path dir;

  private final SecureRandom random = new SecureRandom();

  private static String submit(PbftClient submitter, Membership from, Membership to, Ed25519Keys admin,
      String reason) throws Exception {
    return submitter.submitReconfiguration(ReconfigurationSigning.signed(
        Reconfigurations.command(from, to, reason), admin)).get(60, TimeUnit.SECONDS);
  }

  @Test
  void aFifthReplicaJoinsUnderLoadThenAnOriginalOneIsRemovedAndNothingAcknowledgedIsLost() throws Exception {
    Ed25519Keys admin = Ed25519Keys.generate(random);
    try (GrpcCluster c = GrpcCluster.builder(dir).replicas(4).clients(4)
        .tune(cfg -> KeyRotationGrpcTest.tuned(cfg, admin)).start()) {
      Membership epoch0 = Membership.initial(c.config());
      Ed25519Keys keys4 = Ed25519Keys.generate(random);
      int port4 = io.pbft.testkit.Ports.free();
      Membership epoch1 = epoch0.nextAdding(new Member(4, "127.0.0.1", port4, keys4.publicKey(), null));
      Membership epoch2 = epoch1.nextRemoving(1);
      PbftClient submitter = PbftClient.newBuilder().config(c.config()).clientId(3).channels(c.channels())
          .operationTimeout(Duration.ofSeconds(60)).build();
      List<KvClient> kv = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        kv.add(c.kvClient(i));
      }
      io.pbft.testkit.PutLoad load = new io.pbft.testkit.PutLoad(kv, 50);
      ReplicaServer removed;
      try {
        Thread.sleep(500);
        String added = submit(submitter, epoch0, epoch1, admin, "add 4");
        assertTrue(added.startsWith(Epochs.ACCEPTED + "epoch 0 -> 1 (n = 5, f = 1)"), added);
        // The four run epoch 1 (n = 5, quorum 4) before the fifth exists: they commit on their own.
        KeyRotationGrpcTest.inEpoch(c, 1);
        // The new replica learns the membership from the group, as `pbft replica --join` does.
        GroupMembership.Learned learned = GroupMembership.learn(c.config(), Duration.ofSeconds(3));
        assertEquals(epoch1, learned.membership(), "the group's chain, checked from cluster.yaml");
        c.add(4, keys4, new ReplicaServer.Joining(learned.membership(), learned.view(), learned.beganAt()));
        assertEquals(port4, c.replica(4).port());
        KeyRotationGrpcTest.inEpoch(c, 1); // the fifth reports epoch 1 once it holds the group's state
        Polling.until(() -> c.status(4), s -> s.getStateTransfers() >= 1, GrpcCluster.SETTLE);

        // One of the original four leaves: it steps down at the handover and says why.
        String gone = submit(submitter, epoch1, epoch2, admin, "remove 1");
        assertTrue(gone.startsWith(Epochs.ACCEPTED + "epoch 1 -> 2 (n = 4, f = 1)"), gone);
        removed = c.replica(1);
        Polling.until(removed::departed, why -> why != null, GrpcCluster.SETTLE);
        assertTrue(removed.departed().contains("removed from the group in epoch 2"), removed.departed());
        assertEquals(removed.departed(), removed.status().get(10, TimeUnit.SECONDS).getDeparted());
        c.retire(1);
        KeyRotationGrpcTest.inEpoch(c, 2);
        Thread.sleep(1000);
      } finally {
        load.close();
      }
      KvClient check = c.kvClient(2);
      c.settle(check);
      List<StatusResponse> all = c.assertRunningReplicasAgree();
      assertEquals(List.of(0, 2, 3, 4), all.stream().map(StatusResponse::getReplicaId).toList());
      for (StatusResponse s : all) {
        assertEquals(2, s.getEpoch(), GrpcCluster.describe(all));
        assertEquals(4, s.getReplicas(), GrpcCluster.describe(all));
        assertArrayEquals(epoch2.digest(), s.getMembershipDigest().toByteArray(), GrpcCluster.describe(all));
      }
      KeyRotationGrpcTest.noBadSignatures(all);
      assertTrue(load.acknowledged.size() > 10, "the load ran throughout: " + load.acknowledged.size() + " keys");
      load.acknowledged.forEach((key, value) -> assertEquals(value, check.get(key).orElse(null),
          "acknowledged write of " + key + " lost"));

      // The clients follow: the members they know are those of epoch 2.
      try (KvClient k = KvClient.borrowing(submitter)) {
        k.put("submitter", "after the changes");
      }
      assertEquals(epoch2, Polling.until(submitter::membership, m -> m.epoch() == 2, GrpcCluster.SETTLE));
      submitter.close();
      // The removed replica stops by itself; the group then commits with one more member down:
      // n = 4, quorum 3 of {0, 2, 3, 4}, so the added replica takes part in every quorum.
      Polling.until(removed::isClosed, closed -> closed, GrpcCluster.SETTLE);
      c.stop(0);
      check.put("after-the-changes", "yes");
      assertEquals("yes", check.get("after-the-changes").orElseThrow());
    }
  }
}

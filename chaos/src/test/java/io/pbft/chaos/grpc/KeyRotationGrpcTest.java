package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.Administration;
import io.pbft.config.AdministrationKey;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.KeyFiles;
import io.pbft.config.Membership;
import io.pbft.config.Reconfigurations;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.proto.Reconfiguration;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.execution.Epochs;
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
 * Real replica servers rotate keys at run time (docs/RECONFIGURATION.md): a signed command
 * submitted by a client is ordered under load, every replica switches to the next epoch at its
 * handover checkpoint (the rotated replica reads its next key from its replacement key file), the
 * group goes on under the new keys, a second change follows the first, and no acknowledged write
 * is lost; a durable replica restarted after the change comes back in the new epoch.
 */
class KeyRotationGrpcTest {
  @TempDir
  Path dir;

  private final SecureRandom random = new SecureRandom();

  /** A small window, so that a change takes effect a few dozen batches after it is ordered. */
  static ClusterConfig tuned(ClusterConfig c, Ed25519Keys admin) {
    return c.withOverrides(List.of("protocol.windowSize=32", "protocol.checkpointInterval=8"))
        .withAdministration(new Administration(List.of(new AdministrationKey(admin.publicKey())), 1));
  }

  /** Replica {@code id}'s next key, where {@code pbft keygen --add-to DIR --replacing ID} puts it. */
  private Ed25519Keys nextKeyOf(int id) {
    Ed25519Keys k = Ed25519Keys.generate(random);
    KeyFiles.write(ClusterSetup.replacementDir(dir, id).resolve("keys").resolve("replica-" + id + ".key"), k);
    return k;
  }

  private static Reconfiguration rotating(Membership from, int id, Ed25519Keys next, Ed25519Keys admin) {
    return ReconfigurationSigning.signed(
        Reconfigurations.command(from, from.nextRotatingKey(id, next.publicKey(), null), "rotate " + id), admin);
  }

  /**
   * No replica refused a peer's signature: a rotated replica signs its new epoch's messages with
   * its new key, which the others check them against (with the old key they would all be refused).
   */
  static void noBadSignatures(List<StatusResponse> all) {
    for (StatusResponse s : all) {
      assertEquals(0L, s.getDropped().getByReasonOrDefault("bad signature", 0L),
          () -> "replica " + s.getReplicaId() + " refused signatures: " + GrpcCluster.describe(all));
      assertFalse(s.getStorageFailed(), () -> "replica " + s.getReplicaId() + " stopped: " + GrpcCluster.describe(all));
    }
  }

  static List<StatusResponse> inEpoch(GrpcCluster c, long epoch) {
    return Polling.until(() -> c.statuses(c.running()),
        all -> all.stream().allMatch(s -> s.getEpoch() == epoch), GrpcCluster.SETTLE);
  }

  /** Puts from {@code clients} of the cluster's client identities, one thread each, until closed. */
  private static io.pbft.testkit.PutLoad load(GrpcCluster c, int clients) {
    List<KvClient> kv = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      kv.add(c.kvClient(i));
    }
    return new io.pbft.testkit.PutLoad(kv, 50);
  }

  /** The client that submits the changes (identity 3), on the cluster's channels. */
  private static PbftClient submitter(GrpcCluster c) {
    return PbftClient.newBuilder().config(c.config()).clientId(3).channels(c.channels())
        .operationTimeout(Duration.ofSeconds(60)).build();
  }

  @Test
  void keysRotateUnderLoadOneChangeAfterTheOtherAndNothingAcknowledgedIsLost() throws Exception {
    Ed25519Keys admin = Ed25519Keys.generate(random);
    try (GrpcCluster c = GrpcCluster.builder(dir).replicas(4).clients(4).tune(cfg -> tuned(cfg, admin)).start()) {
      Membership epoch0 = Membership.initial(c.config());
      Ed25519Keys next2 = nextKeyOf(2);
      Ed25519Keys next0 = nextKeyOf(0);
      PbftClient submitter = submitter(c);
      io.pbft.testkit.PutLoad load = load(c, 3);
      try {
        Thread.sleep(500);
        String verdict = submitter.submitReconfiguration(rotating(epoch0, 2, next2, admin)).get(60, TimeUnit.SECONDS);
        assertTrue(verdict.startsWith(Epochs.ACCEPTED + "epoch 0 -> 1"), verdict);
        inEpoch(c, 1);

        // The group changes again: replica 0's key, built from epoch 1.
        Membership epoch1 = epoch0.nextRotatingKey(2, next2.publicKey(), null);
        String second = submitter.submitReconfiguration(rotating(epoch1, 0, next0, admin)).get(60, TimeUnit.SECONDS);
        assertTrue(second.startsWith(Epochs.ACCEPTED + "epoch 1 -> 2"), second);
        String stale = submitter.submitReconfiguration(rotating(epoch0, 1, nextKeyOf(1), admin))
            .get(60, TimeUnit.SECONDS);
        assertTrue(stale.startsWith(Epochs.REFUSED), "a command built for epoch 0: " + stale);
        inEpoch(c, 2);
        Thread.sleep(500);
      } finally {
        load.close();
      }
      submitter.close();
      KvClient check = c.kvClient(3);
      c.settle(check);
      List<StatusResponse> all = c.assertRunningReplicasAgree();
      assertTrue(all.stream().allMatch(s -> s.getEpoch() == 2), GrpcCluster.describe(all));
      noBadSignatures(all);
      for (StatusResponse s : all) {
        assertArrayEquals(all.get(0).getMembershipDigest().toByteArray(), s.getMembershipDigest().toByteArray());
      }
      assertTrue(load.acknowledged.size() > 10, "the load ran throughout: " + load.acknowledged.size() + " keys");
      load.acknowledged.forEach((key, value) -> assertEquals(value, check.get(key).orElse(null),
          "acknowledged write of " + key + " lost"));

      // Every replica reports the chain of changes, which checks link by link from cluster.yaml.
      for (StatusResponse s : all) {
        assertEquals(2, s.getReconfigurationsCount(), GrpcCluster.describe(all));
        Membership m = epoch0;
        for (com.google.protobuf.ByteString link : s.getReconfigurationsList()) {
          m = Reconfigurations.validate(m, Reconfiguration.parseFrom(link)).next();
        }
        assertArrayEquals(s.getMembershipDigest().toByteArray(), m.digest());
      }
      // A client that knows only cluster.yaml: the replicas with rotated keys sign their session
      // accepts with the new ones, which it learns from that chain before its first operation completes.
      try (PbftClient fresh = PbftClient.newBuilder().config(c.config()).clientId(2).channels(c.channels())
          .operationTimeout(Duration.ofSeconds(60)).build();
          KvClient kv = KvClient.borrowing(fresh)) {
        assertEquals(0, fresh.membership().epoch());
        kv.put("fresh", "client");
        assertEquals("client", kv.get("fresh").orElseThrow());
        Polling.until(fresh::membership, m -> m.epoch() == 2, GrpcCluster.SETTLE);
        assertArrayEquals(next0.publicKey(), fresh.membership().member(0).publicKey());
        assertArrayEquals(next2.publicKey(), fresh.membership().member(2).publicKey());
      }
    }
  }

  @Test
  void aReplicaMovedToANewPortUnderLoadCatchesUpThereAndClientsFollowIt() throws Exception {
    Ed25519Keys admin = Ed25519Keys.generate(random);
    try (GrpcCluster c = GrpcCluster.builder(dir).replicas(4).clients(4).tune(cfg -> tuned(cfg, admin)).start()) {
      Membership epoch0 = Membership.initial(c.config());
      Ed25519Keys next3 = nextKeyOf(3);
      int newPort = io.pbft.testkit.Ports.free();
      Membership epoch1 = epoch0.nextReplacing(3, "127.0.0.1", newPort, next3.publicKey(), null);
      PbftClient submitter = submitter(c);
      io.pbft.testkit.PutLoad load = load(c, 3);
      io.pbft.replica.runtime.ReplicaServer old;
      try {
        Thread.sleep(500);
        String verdict = submitter.submitReconfiguration(ReconfigurationSigning.signed(
            Reconfigurations.command(epoch0, epoch1, "move 3"), admin)).get(60, TimeUnit.SECONDS);
        assertTrue(verdict.startsWith(Epochs.ACCEPTED + "epoch 0 -> 1"), verdict);
        // The process at the old port sees the move at the handover and stops taking part.
        old = c.replica(3);
        Polling.until(old::departed, why -> why != null, GrpcCluster.SETTLE);
        assertTrue(old.departed().contains("moved to 127.0.0.1:" + newPort), old.departed());
        assertEquals(old.departed(), old.status().get(10, TimeUnit.SECONDS).getDeparted(), "its status says why");
        // The new machine learns the membership from the group, as `pbft replica --join` does.
        io.pbft.client.GroupMembership.Learned learned = io.pbft.client.GroupMembership.learn(c.config(),
            Duration.ofSeconds(3));
        assertEquals(epoch1, learned.membership(), "the group's chain, checked from cluster.yaml");
        c.moveTo(3, next3, new io.pbft.replica.runtime.ReplicaServer.Joining(learned.membership(), learned.view(),
            learned.beganAt()));
        assertEquals(newPort, c.replica(3).port());
        inEpoch(c, 1); // the new machine reports epoch 1 once it holds the group's state
        Thread.sleep(1000);
      } finally {
        load.close();
      }
      KvClient check = c.kvClient(2);
      c.settle(check);
      List<StatusResponse> all = c.assertRunningReplicasAgree();
      assertEquals(4, all.size());
      assertTrue(all.stream().allMatch(s -> s.getEpoch() == 1), GrpcCluster.describe(all));
      noBadSignatures(all);
      assertTrue(all.get(3).getStateTransfers() >= 1, "the new machine took the state: " + GrpcCluster.describe(all));
      assertTrue(load.acknowledged.size() > 10, "the load ran throughout: " + load.acknowledged.size() + " keys");
      load.acknowledged.forEach((key, value) -> assertEquals(value, check.get(key).orElse(null),
          "acknowledged write of " + key + " lost"));
      // The clients that ran throughout followed replica 3 to its new port (they share the
      // channels), and a client whose last operation came before the move follows on its next.
      assertEquals("127.0.0.1:" + newPort, c.channels().address(3));
      try (KvClient kv = KvClient.borrowing(submitter)) {
        kv.put("submitter", "after the move");
      }
      assertEquals(1, Polling.until(submitter::membership, m -> m.epoch() == 1, GrpcCluster.SETTLE).epoch());
      assertEquals("127.0.0.1:" + newPort, submitter.membership().member(3).address());
      submitter.close();

      // With the old process gone, the group still commits with replica 3 at its new port
      // taking part: a quorum of 3 needs it whenever another replica is down.
      old.close();
      c.stop(0);
      check.put("after-the-move", "yes");
      assertEquals("yes", check.get("after-the-move").orElseThrow());
    }
  }

  @Test
  void aDurableReplicaRestartedAfterTheChangeComesBackInTheNewEpoch() throws Exception {
    Ed25519Keys admin = Ed25519Keys.generate(random);
    try (GrpcCluster c = GrpcCluster.builder(dir).replicas(4).clients(4).durable().tune(cfg -> tuned(cfg, admin))
        .start()) {
      Membership epoch0 = Membership.initial(c.config());
      Ed25519Keys next1 = nextKeyOf(1);
      KvClient kv = c.kvClient(0);
      for (int i = 0; i < 20; i++) {
        kv.put("before/" + i, "x" + i);
      }
      PbftClient submitter = submitter(c);
      String verdict = submitter.submitReconfiguration(rotating(epoch0, 1, next1, admin)).get(60, TimeUnit.SECONDS);
      assertTrue(verdict.startsWith(Epochs.ACCEPTED), verdict);
      inEpoch(c, 1);
      submitter.close();
      for (int i = 0; i < 20; i++) {
        kv.put("after/" + i, "y" + i);
      }
      c.restart(1); // its log and state say epoch 1: it resumes there, signing with its new key
      for (int i = 0; i < 20; i++) {
        kv.put("restarted/" + i, "z" + i);
      }
      c.settle(kv);
      List<StatusResponse> all = c.assertRunningReplicasAgree();
      assertTrue(all.stream().allMatch(s -> s.getEpoch() == 1), GrpcCluster.describe(all));
      noBadSignatures(all);
      for (int i = 0; i < 20; i++) {
        assertEquals("x" + i, kv.get("before/" + i).orElseThrow());
        assertEquals("y" + i, kv.get("after/" + i).orElseThrow());
        assertEquals("z" + i, kv.get("restarted/" + i).orElseThrow());
      }
    }
  }
}

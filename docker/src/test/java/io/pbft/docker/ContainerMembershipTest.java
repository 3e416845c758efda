package io.pbft.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.ClusterChannels;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.Administration;
import io.pbft.config.AdministrationKey;
import io.pbft.config.Member;
import io.pbft.config.Membership;
import io.pbft.config.ReplicaInfo;
import io.pbft.config.Reconfigurations;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Polling;
import io.pbft.testkit.Statuses;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The reconfiguration guide's black-box scenario in containers (pbft:local), under a load that
 * runs throughout: four replica containers; a fifth joins as a container of its own started with
 * {@code pbft replica --join}; one of the original four is removed and its container stops by
 * itself; a member's key is rotated (its next key copied into its container first); a member moves
 * to a new container under another host name. The host's clients follow the group (they dial the
 * members where their ports are published); no acknowledged write is lost and every member agrees
 * at the end. Each change's time to take effect is printed.
 */
@Tag("container")
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class ContainerMembershipTest {
  private static final Duration PATIENCE = Duration.ofSeconds(150);

  private final SecureRandom random = new SecureRandom();

  /** Every member of {@code m} answers Status with epoch {@code m.epoch()} or later; returns their statuses. */
  private static List<StatusResponse> inEpoch(ClusterChannels channels, Membership m) {
    return Polling.until(() -> statuses(channels, m), all -> all.stream()
        .allMatch(s -> s != null && s.getEpoch() >= m.epoch()), PATIENCE);
  }

  private static List<StatusResponse> statuses(ClusterChannels channels, Membership m) {
    List<StatusResponse> all = new ArrayList<>();
    for (Member member : m.members()) {
      try {
        all.add(ClientServiceGrpc.newBlockingStub(channels.channelTo(member)).withDeadlineAfter(3, TimeUnit.SECONDS)
            .status(StatusRequest.getDefaultInstance()));
      } catch (RuntimeException e) {
        all.add(null);
      }
    }
    return all;
  }

  /** Submits the change from {@code from} to {@code to}, waits until every member of {@code to} runs it, prints how long. */
  private static void change(PbftClient submitter, ClusterChannels channels, Membership from, Membership to,
      Ed25519Keys admin, String what) throws Exception {
    long start = System.nanoTime();
    String verdict = submitter.submitReconfiguration(ReconfigurationSigning.signed(
        Reconfigurations.command(from, to, what), admin)).get(120, TimeUnit.SECONDS);
    assertTrue(verdict.startsWith("reconfiguration accepted: epoch " + from.epoch() + " -> " + to.epoch()), verdict);
    inEpoch(channels, to);
    System.out.printf("[containers] %s: %s; every member runs epoch %d %d ms after submitting%n", what, verdict,
        to.epoch(), (System.nanoTime() - start) / 1_000_000);
  }

  @Test
  void addRemoveRotateAndMoveUnderLoadAndNothingAcknowledgedIsLost() throws Exception {
    ContainerTests.requireDockerAndImage();
    Ed25519Keys admin = Ed25519Keys.generate(random);
    try (PbftCluster cluster = new PbftCluster(4).withImage(ContainerTests.IMAGE).withClients(8)
        .withAdministration(new Administration(List.of(new AdministrationKey(admin.publicKey())), 1))
        .withProtocol(p -> p.withCheckpointInterval(16).withWindowSize(64).withViewChangeTimeoutMs(2000)
            .withViewChangeTimeoutMinMs(2000))
        .withOperationTimeout(Duration.ofSeconds(60)).start()) {
      ClusterChannels channels = cluster.followingChannels();
      PbftClient submitter = cluster.followingClient(3);
      io.pbft.testkit.PutLoad load = new io.pbft.testkit.PutLoad(List.of(
          KvClient.borrowing(cluster.followingClient(0)), KvClient.borrowing(cluster.followingClient(1))), 40);
      Membership epoch0 = Membership.initial(cluster.containerConfig());
      Membership epoch4;
      try {
        // 1. A fifth replica: its container first, which waits for the epoch that names it.
        ReplicaInfo added = cluster.startAddedReplica(4);
        Membership epoch1 = epoch0.nextAdding(Member.of(added));
        change(submitter, channels, epoch0, epoch1, admin, "add replica 4");

        // 2. One of the original four leaves; its container stops by itself.
        Membership epoch2 = epoch1.nextRemoving(1);
        change(submitter, channels, epoch1, epoch2, admin, "remove replica 1");

        // 3. Replica 2's key is rotated in place.
        ReplicaInfo rotated = cluster.prepareKeyRotation(2);
        Membership epoch3 = epoch2.nextRotatingKey(2, rotated.publicKey(), null);
        change(submitter, channels, epoch2, epoch3, admin, "rotate replica 2's key");

        // 4. Replica 3 moves to a new container under another host name.
        ReplicaInfo moved = cluster.startMovedReplica(3);
        epoch4 = epoch3.nextReplacing(3, moved.host(), moved.port(), moved.publicKey(), null);
        change(submitter, channels, epoch3, epoch4, admin, "move replica 3 to " + moved.address());
        Thread.sleep(1000);
      } finally {
        load.close();
      }
      assertTrue(load.acknowledged.size() >= 40, "the load ran throughout: " + load.acknowledged.size() + " keys");

      KvClient check = KvClient.borrowing(cluster.followingClient(2));
      for (int i = 0; i < 20; i++) {
        check.put("after/" + i, Integer.toString(i));
      }
      Membership last = epoch4;
      List<StatusResponse> all = Polling.until(() -> statuses(channels, last), s -> s.stream().allMatch(r -> r != null
          && r.getEpoch() == 4 && r.getLastExecuted() == s.get(0).getLastExecuted()
          && r.getStateDigest().equals(s.get(0).getStateDigest())), PATIENCE);
      String described = Statuses.describe(last.ids(), all);
      assertEquals(List.of(0, 2, 3, 4), last.ids());
      for (StatusResponse s : all) {
        assertTrue(s != null && s.getEpoch() == 4 && s.getReplicas() == 4, described);
        assertEquals(all.get(0).getStateDigest(), s.getStateDigest(), described);
        assertEquals(0L, s.getDropped().getByReasonOrDefault("bad signature", 0L), described);
      }
      load.acknowledged.forEach((key, value) -> assertEquals(value, check.get(key).orElse(null),
          "acknowledged write of " + key + " lost"));
      // The removed replica's container stopped by itself, saying why.
      Polling.until(() -> cluster.logs(1), l -> l.contains("this process stopped"), Duration.ofSeconds(60));
      assertTrue(cluster.logs(1).contains("replica 1 was removed from the group in epoch 2"), cluster.logs(1));
    }
  }
}

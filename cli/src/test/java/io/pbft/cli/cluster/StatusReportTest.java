package io.pbft.cli.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.pbft.proto.StatusResponse;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusReportTest {
  private static StatusResponse status(int id, long lastExecuted, boolean tentative) {
    return StatusResponse.newBuilder().setReplicaId(id).setLastExecuted(lastExecuted)
        .setStateDigest(ByteString.copyFrom(new byte[32])).setLastExecutedTentative(tentative)
        .setTentativeRollbacks(2).setApplicationFailures(3).build();
  }

  private static String table(List<ReplicaStatus> replicas) {
    StringWriter text = new StringWriter();
    StatusReport.printTable(new ClusterStatus.Snapshot(replicas), new PrintWriter(text, true));
    return text.toString();
  }

  @Test
  void aBatchRunTentativelyIsMarkedInTheTableAndTheJson() {
    String text = table(List.of(ReplicaStatus.of(0, "a", status(0, 7, false)), ReplicaStatus.of(1, "b", status(1, 8, true))));
    List<String> lines = text.lines().toList();
    assertTrue(lines.get(1).contains(" 7 ") && !lines.get(1).contains("7*"), lines.get(1));
    assertTrue(lines.get(2).contains(" 8* "), lines.get(2));
    assertTrue(lines.get(3).startsWith("* ran tentatively"), text);

    ObjectNode json = StatusReport.toJson(ReplicaStatus.of(1, "b", status(1, 8, true)));
    assertTrue(json.get("lastExecutedTentative").asBoolean());
    assertEquals(8, json.get("lastExecuted").asLong());
    assertEquals(2, json.get("tentativeRollbacks").asLong());
    assertEquals(3, json.get("applicationFailures").asLong());
  }

  @Test
  void withoutTentativeBatchesThereIsNoMarkAndNoFootnote() {
    String text = table(List.of(ReplicaStatus.of(0, "a", status(0, 7, false))));
    assertFalse(text.contains("*"), text);
    assertEquals(2, text.lines().count());
    assertFalse(StatusReport.toJson(ReplicaStatus.of(0, "a", status(0, 7, false))).get("lastExecutedTentative")
        .asBoolean());
  }

  @Test
  void replicasInTheSameStateAgreeOnlyOnceNothingInItIsTentative() {
    ClusterStatus.Snapshot tentative = new ClusterStatus.Snapshot(
        List.of(ReplicaStatus.of(0, "a", status(0, 8, true)), ReplicaStatus.of(1, "b", status(1, 8, true))));
    assertFalse(tentative.reachableAgree(), "same sequence and digest, but it may still be rolled back");
    assertTrue(StatusReport.agreementLine(tentative).startsWith("replicas agree: no"));
    ClusterStatus.Snapshot committed = new ClusterStatus.Snapshot(
        List.of(ReplicaStatus.of(0, "a", status(0, 8, false)), ReplicaStatus.of(1, "b", status(1, 8, false))));
    assertTrue(committed.reachableAgree());
  }

  /** Epoch 0: replicas 0..3, f = 1, no administration. */
  private static final io.pbft.config.Membership EPOCH_0 = epoch0();

  private static io.pbft.config.Membership epoch0() {
    List<io.pbft.config.Member> members = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      byte[] secret = new byte[io.pbft.crypto.Ed25519Keys.SECRET_KEY_BYTES];
      java.util.Arrays.fill(secret, (byte) (i + 1));
      members.add(new io.pbft.config.Member(i, "127.0.0.1", 7000 + i,
          io.pbft.crypto.Ed25519Keys.fromSecretKey(secret).publicKey()));
    }
    return new io.pbft.config.Membership(0, members, 1, io.pbft.config.Administration.NONE);
  }

  private static StatusResponse inEpoch(int id, long epoch, byte[] digest, boolean pending) {
    StatusResponse.Builder b = status(id, 9, false).toBuilder().setEpoch(epoch)
        .setMembershipDigest(ByteString.copyFrom(digest));
    if (pending) {
      b.setPendingReconfiguration(io.pbft.proto.PendingReconfiguration.newBuilder().setEpoch(epoch + 1)
          .setOrderedAt(5).setHandoverAt(1024).setReplicas(5).setF(1)
          .setMembershipDigest(ByteString.copyFrom(new byte[32])));
    }
    return b.build();
  }

  @Test
  void theEpochIsShownWithItsMembersAndWhatIsPending() {
    byte[] digest = EPOCH_0.digest();
    ClusterStatus.Snapshot same = new ClusterStatus.Snapshot(List.of(ReplicaStatus.of(0, "a", inEpoch(0, 0, digest, false)),
        ReplicaStatus.of(1, "b", inEpoch(1, 0, digest, false))));
    List<String> lines = StatusReport.epochLines(same, EPOCH_0);
    assertEquals(List.of("epoch 0: replicas 0, 1, 2, 3, f = 1, as in the configuration file (membership digest "
        + io.pbft.crypto.Digests.hex(digest).substring(0, 16) + "...)"), lines);

    ClusterStatus.Snapshot pending = new ClusterStatus.Snapshot(List.of(ReplicaStatus.of(0, "a", inEpoch(0, 0, digest, true)),
        ReplicaStatus.of(1, "b", inEpoch(1, 0, digest, false)), ReplicaStatus.unreachable(2, "c", "down")));
    lines = StatusReport.epochLines(pending, EPOCH_0);
    assertEquals(3, lines.size(), lines.toString());
    assertTrue(lines.get(0).endsWith("(reported by replicas 0)"), lines.toString());
    assertEquals("  pending: epoch 1 (n = 5, f = 1, membership digest 0000000000000000...), ordered at 5, takes effect"
        + " at checkpoint 1024", lines.get(1));
    assertTrue(lines.get(2).endsWith("(reported by replicas 1)"), lines.toString());

    ClusterStatus.Snapshot elsewhere = new ClusterStatus.Snapshot(List.of(ReplicaStatus.of(0, "a",
        inEpoch(0, 0, new byte[32], false))));
    assertEquals(List.of("epoch 0: membership digest 0000000000000000...; this configuration file's is "
        + io.pbft.crypto.Digests.hex(digest).substring(0, 16) + "... (the replicas run with other addresses, keys or"
        + " f, as when reached through published ports)"), StatusReport.epochLines(elsewhere, EPOCH_0));

    ClusterStatus.Snapshot other = new ClusterStatus.Snapshot(List.of(ReplicaStatus.of(0, "a", inEpoch(0, 2, new byte[32], false))));
    assertEquals(List.of("epoch 2: membership digest 0000000000000000..., not the configuration file's epoch 0; its"
        + " chain of changes reaches only epoch 0 from this file"), StatusReport.epochLines(other, EPOCH_0));

    ObjectNode json = StatusReport.toJson(ReplicaStatus.of(0, "a", inEpoch(0, 0, digest, true)));
    assertEquals(0, json.get("epoch").asLong());
    assertEquals(io.pbft.crypto.Digests.hex(digest), json.get("membershipDigest").asText());
    assertEquals(1024, json.get("pendingReconfiguration").get("handoverAt").asLong());
    assertTrue(StatusReport.toJson(ReplicaStatus.of(0, "a", inEpoch(0, 0, digest, false))).get("pendingReconfiguration")
        .isNull());
  }

  private static io.pbft.crypto.Ed25519Keys keys(int index) {
    byte[] secret = new byte[io.pbft.crypto.Ed25519Keys.SECRET_KEY_BYTES];
    java.util.Arrays.fill(secret, (byte) (index + 1));
    return io.pbft.crypto.Ed25519Keys.fromSecretKey(secret);
  }

  /**
   * After a change, the members are shown from the replica's chain of signed changes, checked
   * from the configuration file's epoch 0: which keys were rotated, and nothing a replica could
   * make up.
   */
  @Test
  void afterAChangeTheMembersComeFromTheChainCheckedAgainstTheFile() {
    io.pbft.config.Membership e0 = new io.pbft.config.Membership(0, EPOCH_0.members(), 1,
        new io.pbft.config.Administration(List.of(new io.pbft.config.AdministrationKey(keys(100).publicKey())), 1));
    io.pbft.proto.Reconfiguration c1 = io.pbft.crypto.ReconfigurationSigning.signed(io.pbft.config.Reconfigurations
        .command(e0, e0.nextRotatingKey(2, keys(202).publicKey(), null), "rotate 2"), keys(100));
    io.pbft.config.Membership e1 = io.pbft.config.Reconfigurations.validate(e0, c1).next();
    StatusResponse st = inEpoch(0, 1, e1.digest(), false).toBuilder().addReconfigurations(c1.toByteString()).build();
    List<String> lines = StatusReport.epochLines(new ClusterStatus.Snapshot(List.of(ReplicaStatus.of(0, "a", st))), e0);
    String shortDigest = io.pbft.crypto.Digests.hex(e1.digest()).substring(0, 16);
    assertEquals("epoch 1: replicas 0, 1, 2, 3, f = 1 (membership digest " + shortDigest + "..., reached from the"
        + " configuration file by 1 signed change, each checked)", lines.get(0));
    assertEquals(5, lines.size(), lines.toString());
    assertEquals("  replica 1 at 127.0.0.1:7001, key " + io.pbft.crypto.Digests.hex(keys(1).publicKey()).substring(0, 16)
        + "...", lines.get(2));
    assertEquals("  replica 2 at 127.0.0.1:7002, key " + io.pbft.crypto.Digests.hex(keys(202).publicKey()).substring(0, 16)
        + "... (rotated since the configuration file)", lines.get(3));
    ObjectNode json = StatusReport.membershipJson(new ClusterStatus.Snapshot(List.of(ReplicaStatus.of(0, "a", st))), e0);
    assertEquals(1, json.get("epoch").asLong());
    assertEquals(io.pbft.crypto.Digests.hex(e1.digest()), json.get("membershipDigest").asText());
    assertEquals(4, json.get("members").size());
    assertEquals(io.pbft.crypto.Digests.hex(keys(202).publicKey()), json.get("members").get(2).get("publicKey").asText());
    assertTrue(json.get("members").get(2).get("rotated").asBoolean());
    assertFalse(json.get("members").get(1).get("rotated").asBoolean());
    assertEquals(0, json.get("chainRefusals").size());

    // a replica whose chain was tampered with (signed by a key that administers nothing) names no members
    io.pbft.proto.Reconfiguration forged = io.pbft.crypto.ReconfigurationSigning.signed(io.pbft.config.Reconfigurations
        .command(e0, e0.nextRotatingKey(2, keys(66).publicKey(), null), "rotate 2"), keys(99));
    StatusResponse bad = inEpoch(0, 1, e1.digest(), false).toBuilder().addReconfigurations(forged.toByteString()).build();
    List<String> refused = StatusReport.epochLines(new ClusterStatus.Snapshot(List.of(ReplicaStatus.of(0, "a", bad))), e0);
    assertEquals(1, refused.size(), refused.toString());
    assertTrue(refused.get(0).startsWith("epoch 1: membership digest " + shortDigest + "..., not the configuration file's"
        + " epoch 0; its chain of changes reaches only epoch 0 from this file (the change to epoch 1 does not check: "),
        refused.get(0));
    ObjectNode refusedJson = StatusReport.membershipJson(
        new ClusterStatus.Snapshot(List.of(ReplicaStatus.of(0, "a", bad))), e0);
    assertEquals(0, refusedJson.get("epoch").asLong(), "a forged chain moves nothing");
    assertEquals(1, refusedJson.get("chainRefusals").size());
    assertTrue(refusedJson.get("chainRefusals").get(0).asText().startsWith("replica 0: the change to epoch 1 does not "
        + "check"), refusedJson.toString());
  }
}

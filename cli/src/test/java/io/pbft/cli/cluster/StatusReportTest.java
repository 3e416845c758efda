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
}

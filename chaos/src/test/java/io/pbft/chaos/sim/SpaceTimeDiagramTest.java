package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Reply;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.ViewChange;
import org.junit.jupiter.api.Test;

class SpaceTimeDiagramTest {
  @Test
  void eachMessageIsDescribedByKindViewAndSequenceNumber() {
    var pp = SpaceTimeDiagram.describe(10, 14, 0, 2, ReplicaMessage.newBuilder()
        .setPrePrepare(PrePrepare.newBuilder().setView(3).setSequence(17)).build());
    assertEquals(new SpaceTimeDiagram.Arrow(10, 14, 0, 2, "pre-prepare", 3, 17, -1), pp);
    var vc = SpaceTimeDiagram.describe(20, -1, 1, 3, ReplicaMessage.newBuilder()
        .setViewChange(ViewChange.newBuilder().setNewView(4)).build());
    assertEquals("view-change", vc.kind());
    assertEquals(4, vc.view(), "a VIEW-CHANGE is drawn with the view it asks for");
    assertEquals(-1, vc.arrivedMs(), "lost");
    SignedRequest request = SignedRequest.newBuilder().setRequest(Request.newBuilder().setClientId(2).setTimestamp(9)
        .build().toByteString()).build();
    assertEquals(new SpaceTimeDiagram.Arrow(1, 3, 6, 0, "request", -1, -1, 9),
        SpaceTimeDiagram.describe(1, 3, 6, 0, request));
    assertEquals(new SpaceTimeDiagram.Arrow(1, 3, 0, 6, "reply", 2, -1, 9),
        SpaceTimeDiagram.describe(1, 3, 0, 6, Reply.newBuilder().setView(2).setTimestamp(9).build()));
    SignedRequest garbage = SignedRequest.newBuilder().setRequest(ByteString.copyFromUtf8("not a request")).build();
    assertEquals(-1, SpaceTimeDiagram.describe(1, 3, 6, 0, garbage).timestamp());
  }

  @Test
  void aRunRecordsEveryMessageSentAndThePageHoldsThem() {
    SimulationConfig config = SimulationConfig.builder().seed(3).clients(2).opsPerClient(5).fastCrypto(true).build();
    SpaceTimeDiagram diagram = new SpaceTimeDiagram();
    SimulationResult result = Simulation.run(config, diagram);
    assertTrue(result.ok(), result::report);
    assertEquals(result.messagesSent() + result.messagesDuplicated(), diagram.arrows().size(),
        "every send, and every duplicate, is one arrow");
    assertTrue(diagram.arrows().stream().anyMatch(a -> a.kind().equals("commit")));
    String page = diagram.html(config, result, "seed 3");
    assertTrue(page.contains("\"replica 0\",\"replica 1\",\"replica 2\",\"replica 3\",\"client 0\",\"client 1\""), page);
    assertTrue(page.contains("const violationMs = -1;"));
    assertEquals(-1, SpaceTimeDiagram.violationMs(result));
  }
}

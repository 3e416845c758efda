package io.pbft.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.ByteString;
import io.pbft.proto.Reply;
import io.pbft.proto.SignedRequest;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class InFlightTest {
  private final InFlight op = new InFlight(new CompletableFuture<>(), 42, SignedRequest.getDefaultInstance(),
      0, 1_000_000_000L, 2);

  private static Reply reply(int replica, long view, String result) {
    return Reply.newBuilder().setReplicaId(replica).setView(view).setTimestamp(42)
        .setResult(ByteString.copyFromUtf8(result)).build();
  }

  @Test
  void oneReplicaRepeatingItselfIsStillOneVote() {
    assertNull(op.add(1, reply(1, 0, "r")));
    assertNull(op.add(1, reply(1, 0, "r")));
    assertNull(op.add(1, reply(1, 0, "r")));
    assertNotNull(op.add(2, reply(2, 0, "r")));
  }

  @Test
  void differentResultsDoNotAddUp() {
    assertNull(op.add(0, reply(0, 0, "lie")));
    assertNull(op.add(1, reply(1, 0, "truth")));
    InFlight.Agreement a = op.add(2, reply(2, 0, "truth"));
    assertNotNull(a);
    assertArrayEquals("truth".getBytes(), a.result());
  }

  @Test
  void aReplicasLatestReplyReplacesItsEarlierOne() {
    assertNull(op.add(0, reply(0, 0, "a")));
    assertNull(op.add(0, reply(0, 0, "b")));
    // Replica 0 now says "b", so "a" from replica 1 makes only one "a".
    assertNull(op.add(1, reply(1, 0, "a")));
    assertNotNull(op.add(2, reply(2, 0, "b")));
  }

  @Test
  void viewsMayDifferAndTheAgreementTakesTheSmallest() {
    assertNull(op.add(3, reply(3, 1_000_000, "r")));
    InFlight.Agreement a = op.add(1, reply(1, 2, "r"));
    assertNotNull(a);
    assertEquals(2, a.view());
  }
}

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
      0, 1_000_000_000L, 2, 3);

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

  private static Reply tentative(int replica, String result) {
    return reply(replica, 0, result).toBuilder().setTentative(true).build();
  }

  @Test
  void tentativeRepliesSettleOnlyWhen2fPlus1Match() {
    // f = 1: f + 1 = 2 committed, or 2f + 1 = 3 of any kind.
    assertNull(op.add(0, tentative(0, "r")));
    assertNull(op.add(1, tentative(1, "r")), "f + 1 tentative replies are not enough");
    assertNull(op.add(2, tentative(2, "other")));
    assertNotNull(op.add(3, tentative(3, "r")), "2f + 1 matching tentative replies are");
  }

  @Test
  void committedRepliesCountTowardsTheTentativeQuorumAndSettleAtFPlus1() {
    InFlight mixed = new InFlight(new CompletableFuture<>(), 42, SignedRequest.getDefaultInstance(), 0, 1_000_000_000L, 2,
        3);
    assertNull(mixed.add(0, tentative(0, "r")));
    assertNull(mixed.add(1, reply(1, 0, "r")));
    assertNotNull(mixed.add(2, tentative(2, "r")), "one committed and two tentative make 2f + 1");
    assertNull(op.add(0, tentative(0, "r")));
    assertNull(op.add(1, reply(1, 0, "r")));
    // Replica 0's committed reply replaces its tentative one: now f + 1 committed.
    assertNotNull(op.add(0, reply(0, 0, "r")));
  }

  @Test
  void aReadStillNeeds2fPlus1MatchingAnswers() {
    InFlight read = new InFlight(new CompletableFuture<>(), 42, SignedRequest.getDefaultInstance(), 0, 1_000_000_000L,
        3, 3, true, new byte[0]);
    assertNull(read.add(0, reply(0, 0, "r")));
    assertNull(read.add(1, reply(1, 0, "r")));
    assertNotNull(read.add(2, reply(2, 0, "r")), "2f + 1 for a read, as before");
  }

  @Test
  void withFiveReplicasAndFOfOneTentativeRepliesNeedFourNotThree() {
    // n = 5, f = 1: a quorum is ceil((5 + 1 + 1) / 2) = 4. Three tentative replies may come from
    // replicas that share only one replica with the next view's quorum, a faulty one.
    InFlight five = new InFlight(new CompletableFuture<>(), 42, SignedRequest.getDefaultInstance(), 0, 1_000_000_000L, 2,
        io.pbft.config.Quorums.of(5, 1));
    assertNull(five.add(0, tentative(0, "r")));
    assertNull(five.add(1, tentative(1, "r")));
    assertNull(five.add(2, tentative(2, "r")), "three tentative replies of five are not a quorum");
    assertNotNull(five.add(3, tentative(3, "r")));
  }
}

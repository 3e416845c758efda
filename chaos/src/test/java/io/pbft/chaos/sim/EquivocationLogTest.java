package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.NewView;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The equivocation checker on hand-made messages (signatures play no part in it: the simulator
 * hands it only what replicas' own outboxes signed). Replica 3 is faulty here.
 */
class EquivocationLogTest {
  private final List<String> violations = new ArrayList<>();
  private final EquivocationLog log = new EquivocationLog(Set.of(3), violations::add);

  private static ByteString digest(int b) {
    byte[] d = new byte[32];
    d[0] = (byte) b;
    return ByteString.copyFrom(d);
  }

  private static SignedMessage signed(int sender, ReplicaMessage body) {
    return SignedMessage.newBuilder().setSender(sender).setPayload(body.toByteString())
        .setSignature(ByteString.copyFrom(new byte[64])).build();
  }

  private void send(int sender, ReplicaMessage body) {
    log.sent(signed(sender, body), body);
  }

  private static ReplicaMessage prepare(int replica, long view, long n, int d) {
    return ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(view).setSequence(n).setDigest(digest(d))
        .setReplicaId(replica)).build();
  }

  private static ReplicaMessage prePrepare(long view, long n, int d) {
    return ReplicaMessage.newBuilder().setPrePrepare(PrePrepare.newBuilder().setView(view).setSequence(n)
        .setDigest(digest(d))).build();
  }

  private static ReplicaMessage checkpoint(int replica, long n, int d) {
    return ReplicaMessage.newBuilder().setCheckpoint(Checkpoint.newBuilder().setSequence(n).setStateDigest(digest(d))
        .setReplicaId(replica)).build();
  }

  private static ReplicaMessage viewChange(int replica, long view, long stable) {
    return ReplicaMessage.newBuilder().setViewChange(ViewChange.newBuilder().setNewView(view).setReplicaId(replica)
        .setStableSequence(stable)).build();
  }

  @Test
  void theSameStatementAgainIsNoEquivocation() {
    send(1, prepare(1, 0, 5, 1));
    send(1, prepare(1, 0, 5, 1));
    send(1, checkpoint(1, 16, 7));
    send(1, checkpoint(1, 16, 7));
    send(1, viewChange(1, 1, 16));
    send(1, viewChange(1, 1, 16));
    assertEquals(List.of(), violations);
    assertEquals(6, log.checked());
  }

  @Test
  void votesForOtherSlotsViewsAndReplicasAreNoEquivocation() {
    send(1, prepare(1, 0, 5, 1));
    send(1, prepare(1, 0, 6, 2));
    send(1, prepare(1, 1, 5, 2)); // the same sequence number in the next view may hold another batch
    send(2, prepare(2, 0, 5, 2)); // another replica's vote is its own business
    send(1, viewChange(1, 2, 32));
    assertEquals(List.of(), violations);
  }

  @Test
  void twoPreparesForOneSlotFromACorrectReplicaAreEquivocation() {
    send(1, prepare(1, 0, 5, 1));
    send(1, prepare(1, 0, 5, 2));
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).startsWith("equivocation: correct replica 1 signed two different PREPAREs for view 0"
        + " at n=5: first digest 01000000, then PREPARE v=0 n=5 d=02000000"), violations::toString);
  }

  @Test
  void twoCheckpointDigestsForOneSequenceNumberAreEquivocation() {
    send(2, checkpoint(2, 16, 7));
    send(2, checkpoint(2, 16, 8));
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).contains("two different CHECKPOINTs at n=16"), violations::toString);
  }

  @Test
  void twoViewChangesForOneViewAreEquivocation() {
    send(0, viewChange(0, 1, 16));
    send(0, viewChange(0, 1, 32));
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).contains("two different VIEW-CHANGEs for view 1"), violations::toString);
  }

  @Test
  void aFaultyReplicaMaySignAnything() {
    send(3, prepare(3, 0, 5, 1));
    send(3, prepare(3, 0, 5, 2));
    send(3, viewChange(3, 1, 16));
    send(3, viewChange(3, 1, 32));
    assertEquals(List.of(), violations);
  }

  @Test
  void aPrePrepareInsideANewViewCountsAsSignedByItsPrimary() {
    // Replica 1, primary of view 1, pre-prepared n=17 with one batch and puts another in its NEW-VIEW.
    send(1, prePrepare(1, 17, 1));
    ReplicaMessage nv = ReplicaMessage.newBuilder().setNewView(NewView.newBuilder().setView(1)
        .addPrePrepares(signed(1, prePrepare(1, 17, 2)))).build();
    send(1, nv);
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).contains("replica 1 signed two different PRE-PREPAREs for view 1 at n=17"),
        violations::toString);
  }

  @Test
  void aMessagePassedOnIsTheSignersStatement() {
    // Replica 2 passes on the NEW-VIEW of view 1 that replica 1 signed; a different one from
    // replica 1 itself is replica 1's equivocation.
    ReplicaMessage one = ReplicaMessage.newBuilder().setNewView(NewView.newBuilder().setView(1)
        .addPrePrepares(signed(1, prePrepare(1, 17, 1)))).build();
    ReplicaMessage other = ReplicaMessage.newBuilder().setNewView(NewView.newBuilder().setView(1)).build();
    log.sent(signed(1, one), one); // as replica 2 passes it on: the signer is 1
    send(1, other);
    assertEquals(1, violations.size(), violations::toString);
    assertTrue(violations.get(0).contains("correct replica 1 signed two different NEW-VIEWs for view 1"),
        violations::toString);
  }
}

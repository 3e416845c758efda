package io.pbft.replica.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.ByteString;
import io.pbft.proto.Batch;
import io.pbft.proto.ViewChange;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The MAC view change's decision rules (TOCS 2002, section 4.5) on hand-made VIEW-CHANGE sets for
 * n = 4, f = 1, view 3 being opened: what each set decides at sequence number 1, and when it
 * decides nothing yet.
 */
class MacViewChangeRulesTest {
  private static final ByteString A = digest(0xA);
  private static final ByteString B = digest(0xB);

  private final ViewChangeRules rules = new ViewChangeRules(4, 1, 256, Rules.PAPER);

  MacViewChangeRulesTest() {
    rules.useMacs();
  }

  private static ByteString digest(int fill) {
    byte[] d = new byte[32];
    Arrays.fill(d, (byte) fill);
    return ByteString.copyFrom(d);
  }

  /** A VIEW-CHANGE for view 3 claiming {@code prepared} (or nothing) and pre-prepared entries at n = 1. */
  private static ViewChangeRules.Checked vc(int sender, ViewChangeRules.Prepared prepared, Slot.PrePrepared... q) {
    Map<Long, ViewChangeRules.Prepared> p = new TreeMap<>();
    if (prepared != null) {
      p.put(1L, prepared);
    }
    Map<Long, List<Slot.PrePrepared>> pq = new TreeMap<>();
    if (q.length > 0) {
      pq.put(1L, List.of(q));
    }
    return new ViewChangeRules.Checked(sender, ViewChange.newBuilder().setNewView(3).setReplicaId(sender).build(),
        null, p, pq);
  }

  private static ViewChangeRules.Prepared prepared(long view, ByteString digest) {
    return new ViewChangeRules.Prepared(view, 1, digest, Batch.getDefaultInstance(), List.of(), 1000 + view);
  }

  private static Slot.PrePrepared q(long view, ByteString digest) {
    return new Slot.PrePrepared(view, digest);
  }

  private ByteString decided(ViewChangeRules.Checked... set) {
    ViewChangeRules.Plan plan = rules.plan(new ArrayList<>(List.of(set)));
    if (plan == null) {
      return null;
    }
    assertEquals(1, plan.prePrepares().size());
    return plan.prePrepares().get(0).digest();
  }

  @Test
  void aClaimBackedByFPlusOnePrePreparesAndContradictedByNoneIsChosen() {
    assertEquals(A, decided(vc(0, prepared(1, A), q(1, A)), vc(1, null, q(1, A)), vc(2, null)));
  }

  @Test
  void aLoneClaimIsNotChosenAndTheNullRequestWaitsForTwoFPlusOneSilentReplicas() {
    // Replica 3 claims B prepared, and nobody else pre-prepared it: perhaps a faulty primary made it up.
    assertNull(decided(vc(3, prepared(2, B), q(2, B)), vc(0, null), vc(1, null)), "undecided with 3 VIEW-CHANGEs");
    assertEquals(ViewChangeRules.NULL_DIGEST, decided(vc(3, prepared(2, B), q(2, B)), vc(0, null), vc(1, null),
        vc(2, null)));
  }

  @Test
  void whatCommittedSurvivesAFaultyClaimFromAHigherView() {
    // A committed in view 1 (prepared at 1 and 2); faulty 3 claims B prepared in view 2, backing it in Q.
    ViewChangeRules.Checked r1 = vc(1, prepared(1, A), q(1, A));
    ViewChangeRules.Checked r2 = vc(2, prepared(1, A), q(1, A));
    ViewChangeRules.Checked liar = vc(3, prepared(2, B), q(2, B));
    // B fails A2 (one replica says it pre-prepared B in view 2); A fails A1 (the liar contradicts it).
    assertNull(decided(r1, r2, liar));
    // Replica 0, correct, claims nothing: A now has 3 VIEW-CHANGEs not contradicting it.
    assertEquals(A, decided(r1, r2, liar, vc(0, null)));
  }

  @Test
  void aClaimFromALowerViewIsContradictedByWhatPreparedLater() {
    // A prepared in view 1 at replica 0; B prepared in view 2 at 1 and 2 (the view-2 NEW-VIEW chose B
    // there, as nothing had committed). B, the higher view, is chosen; A is contradicted by two.
    ViewChangeRules.Checked r0 = vc(0, prepared(1, A), q(1, A));
    ViewChangeRules.Checked r1 = vc(1, prepared(2, B), q(1, A), q(2, B));
    ViewChangeRules.Checked r2 = vc(2, prepared(2, B), q(2, B));
    assertEquals(B, decided(r0, r1, r2));
  }

  @Test
  void moreViewChangesNeverUndoADecision() {
    ViewChangeRules.Checked r0 = vc(0, prepared(1, A), q(1, A));
    ViewChangeRules.Checked r1 = vc(1, null, q(1, A));
    ViewChangeRules.Checked r2 = vc(2, null);
    assertNotNull(decided(r0, r1, r2));
    // A faulty fourth claiming another batch from the same view, backed by itself only.
    assertEquals(A, decided(r0, r1, r2, vc(3, prepared(1, B), q(1, B))));
  }

  @Test
  void withSignedCertificatesTheHighestViewIsChosenFromAnyTwoFPlusOne() {
    ViewChangeRules signatures = new ViewChangeRules(4, 1, 256, Rules.PAPER);
    ViewChangeRules.Plan plan = signatures.plan(new ArrayList<>(List.of(vc(3, prepared(2, B)), vc(0, null),
        vc(1, null))));
    assertEquals(B, plan.prePrepares().get(0).digest());
  }
}

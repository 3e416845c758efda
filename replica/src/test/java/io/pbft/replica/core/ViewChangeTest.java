package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.payloadOf;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.Batch;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.NewView;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.ViewChange;
import java.util.ArrayList;
import java.util.List;
import io.pbft.replica.verify.Rejection;
import org.junit.jupiter.api.Test;

/** View changes, OSDI 1999 section 4.4, on hand-built certificates. */
class ViewChangeTest {
  private static final int TIMEOUT = ProtocolSettings.defaults().viewChangeTimeoutMs();
  /** A fixed request timer (both bounds at the timeout): the adaptive one has a test of its own. */
  private final CoreFixture fx = new CoreFixture(4,
      ProtocolSettings.defaults().toBuilder().viewChangeTimeoutMinMs(TIMEOUT).viewChangeTimeoutMaxMs(TIMEOUT).build());

  // ---------------------------------------------------------------- builders

  private SignedMessage signedPrePrepare(long view, long seq, List<SignedRequest> batch) {
    return fx.signed(fx.coreFixturePrimary(view), prePrepare(view, seq, batch));
  }

  private PreparedCertificate certificate(long view, long seq, List<SignedRequest> batch, int... preparers) {
    PreparedCertificate.Builder c = PreparedCertificate.newBuilder().setPrePrepare(signedPrePrepare(view, seq, batch));
    for (int p : preparers) {
      c.addPrepares(fx.signed(p, prepare(view, seq, digest(batch), p)));
    }
    return c.build();
  }

  private SignedMessage complaint(long view, int replica) {
    return fx.signed(replica, ReplicaMessage.newBuilder().setComplaint(
        io.pbft.proto.Complaint.newBuilder().setView(view).setReplicaId(replica)).build());
  }

  /** f + 1 = 2 complaints about view {@code view}: the evidence for leaving it. */
  private List<SignedMessage> evidence(long view) {
    return List.of(complaint(view, 1), complaint(view, 2));
  }

  private SignedMessage viewChange(int sender, long newView, PreparedCertificate... certs) {
    ViewChange vc = ViewChange.newBuilder().setNewView(newView).setReplicaId(sender).setStableSequence(0)
        .setStableDigest(ByteString.EMPTY).addAllPrepared(List.of(certs)).addAllComplaints(evidence(newView - 1))
        .build();
    return fx.signed(sender, ReplicaMessage.newBuilder().setViewChange(vc).build());
  }

  /** A backup with a request waiting whose timer expired: it has complained about view 0. */
  private TestReplica complaining(int id) {
    TestReplica backup = fx.core(id, new RecordingApp());
    SignedRequest r = fx.request(0, 1, "a");
    backup.onClientRequest(r, CoreFixture.parse(r));
    backup.tick(TIMEOUT);
    return backup;
  }

  private static ViewChange vcOf(SignedMessage m) {
    return payloadOf(m).getViewChange();
  }

  private void deliverSigned(TestReplica core, SignedMessage m) {
    core.onMessage(m.getSender(), payloadOf(m), m);
  }

  private static List<ReplicaMessage> sent(Effects e) {
    return e.messages().stream().map(o -> payloadOf(o.message())).toList();
  }

  private static NewView newViewIn(Effects e) {
    return e.messages().stream().map(o -> payloadOf(o.message())).filter(ReplicaMessage::hasNewView)
        .findFirst().map(ReplicaMessage::getNewView).orElse(null);
  }

  // ---------------------------------------------------------------- rules

  @Test
  void backupWhoseTimerExpiresComplainsAndKeepsWorkingInTheView() {
    TestReplica backup = fx.core(2, new RecordingApp());
    SignedRequest r = fx.request(0, 1, "a");
    backup.onClientRequest(r, CoreFixture.parse(r));
    backup.takeEffects();
    backup.tick(TIMEOUT - 1);
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasComplaint), "not yet");
    backup.tick(TIMEOUT);
    List<ReplicaMessage> out = sent(backup.takeEffects());
    io.pbft.proto.Complaint c = out.stream().filter(ReplicaMessage::hasComplaint).findFirst().orElseThrow()
        .getComplaint();
    assertEquals(0, c.getView());
    assertEquals(2, c.getReplicaId());
    assertTrue(out.stream().noneMatch(ReplicaMessage::hasViewChange), "one complaint is no evidence");
    assertEquals(0, backup.view());
    assertFalse(backup.viewChanging());
  }

  @Test
  void fPlusOneComplaintsMoveTheReplicaToTheNextViewWithThemAsEvidence() {
    TestReplica backup = complaining(2);
    backup.takeEffects();
    deliverSigned(backup, complaint(0, 3));
    assertEquals(1, backup.view());
    assertTrue(backup.viewChanging());
    ViewChange vc = sent(backup.takeEffects()).stream().filter(ReplicaMessage::hasViewChange).findFirst()
        .orElseThrow().getViewChange();
    assertEquals(1, vc.getNewView());
    assertEquals(2, vc.getReplicaId());
    assertEquals(2, vc.getComplaintsCount(), "f + 1 complaints about view 0");
    assertEquals(java.util.Set.of(2, 3), vc.getComplaintsList().stream().map(SignedMessage::getSender)
        .collect(java.util.stream.Collectors.toSet()));
  }

  @Test
  void complaintsOfOtherReplicasAloneAreEnoughWithoutATimerOfItsOwn() {
    TestReplica replica = fx.core(3, new RecordingApp());
    deliverSigned(replica, complaint(0, 1));
    assertEquals(0, replica.view(), "f may be faulty: one complaint proves nothing");
    deliverSigned(replica, complaint(0, 2));
    assertEquals(1, replica.view(), "f + 1 complaints: at least one correct replica suspects the primary");
  }

  @Test
  void complaintsFarApartInTimeDoNotAddUp() {
    TestReplica replica = fx.core(3, new RecordingApp());
    deliverSigned(replica, complaint(0, 1));
    replica.tick(2L * TIMEOUT);
    deliverSigned(replica, complaint(0, 2));
    assertEquals(0, replica.view(), "replica 1's complaint, not repeated for two heartbeats, went stale");
  }

  @Test
  void aComplaintRepeatedAtEveryHeartbeatStaysFresh() {
    TestReplica replica = fx.core(3, new RecordingApp());
    deliverSigned(replica, complaint(0, 1));
    replica.tick(TIMEOUT);
    deliverSigned(replica, complaint(0, 1));
    replica.tick(2L * TIMEOUT);
    deliverSigned(replica, complaint(0, 1));
    replica.tick(3L * TIMEOUT + TIMEOUT * 4 / 10);
    assertEquals(0, replica.view());
    deliverSigned(replica, complaint(0, 2));
    assertEquals(1, replica.view(), "replica 1 still suspects (it repeated its complaint): with replica 2, f + 1");
  }

  @Test
  void suspicionEndsWhenTheAwaitedRequestRuns() {
    TestReplica backup = fx.core(1, new RecordingApp());
    SignedRequest r = fx.request(3, 1, "late");
    backup.onClientRequest(r, CoreFixture.parse(r));
    backup.tick(TIMEOUT);
    backup.takeEffects();
    List<SignedRequest> batch = List.of(r);
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    fx.deliver(backup, 2, prepare(0, 1, digest(batch), 2));
    fx.deliver(backup, 0, CoreFixture.commit(0, 1, digest(batch), 0));
    fx.deliver(backup, 2, CoreFixture.commit(0, 1, digest(batch), 2));
    assertEquals(1, backup.lastExecuted());
    backup.tick(3L * TIMEOUT);
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasComplaint),
        "it no longer repeats its complaint");
  }

  @Test
  void viewChangeWithoutEvidenceIsRefused() {
    ViewChange vc = ViewChange.newBuilder().setNewView(1).setReplicaId(3).setStableSequence(0)
        .setStableDigest(ByteString.EMPTY).addComplaints(complaint(0, 3)).build();
    TestReplica replica = fx.core(2, new RecordingApp());
    deliverSigned(replica, fx.signed(3, ReplicaMessage.newBuilder().setViewChange(vc).build()));
    assertEquals(1, replica.rejections().get(Rejection.INVALID_VIEW_CHANGE), "one complaint, f + 1 needed");
    assertEquals(0, replica.view());
  }

  @Test
  void viewChangeWhoseEvidenceIsAboutAnotherViewIsRefused() {
    ViewChange vc = ViewChange.newBuilder().setNewView(2).setReplicaId(3).setStableSequence(0)
        .setStableDigest(ByteString.EMPTY).addAllComplaints(evidence(0)).build();
    TestReplica replica = fx.core(2, new RecordingApp());
    deliverSigned(replica, fx.signed(3, ReplicaMessage.newBuilder().setViewChange(vc).build()));
    assertEquals(1, replica.rejections().get(Rejection.INVALID_VIEW_CHANGE), "complaints about view 0 justify view 1");
  }

  @Test
  void backupBehindAProvenCheckpointCatchesUpInsteadOfSuspecting() {
    TestReplica backup = fx.core(2, new RecordingApp());
    // 2f + 1 others prove checkpoint 128, which this replica has not reached.
    ByteString state = ByteString.copyFrom(new byte[32]);
    for (int r : new int[] {0, 1, 3}) {
      fx.deliver(backup, r, ReplicaMessage.newBuilder().setCheckpoint(io.pbft.proto.Checkpoint.newBuilder()
          .setSequence(128).setStateDigest(state).setReplicaId(r)).build());
    }
    SignedRequest r = fx.request(0, 1, "a");
    backup.onClientRequest(r, CoreFixture.parse(r));
    backup.takeEffects();
    backup.tick(TIMEOUT);
    backup.tick(3L * TIMEOUT);
    assertEquals(0, backup.view(), "lagging, not suspecting");
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasViewChange));
  }

  @Test
  void backupTimesARequestSentToAllWithoutRelayingIt() {
    TestReplica backup = fx.core(2, new RecordingApp());
    SignedRequest r = fx.request(0, 1, "a");
    backup.onClientRequestSentToAll(r, CoreFixture.parse(r));
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasForwardedRequest),
        "the primary has it from the client");
    backup.tick(TIMEOUT - 1);
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasComplaint));
    backup.tick(TIMEOUT);
    assertTrue(sent(backup.takeEffects()).stream().anyMatch(ReplicaMessage::hasComplaint),
        "a timeout after it arrived, not after the client's own timeout");
  }

  @Test
  void aRetransmissionOfARequestSentToAllIsRelayed() {
    TestReplica backup = fx.core(2, new RecordingApp());
    SignedRequest r = fx.request(0, 1, "a");
    backup.onClientRequestSentToAll(r, CoreFixture.parse(r));
    backup.takeEffects();
    backup.tick(300);
    backup.onClientRequest(r, CoreFixture.parse(r)); // the client timed out and sent it again
    Effects out = backup.takeEffects();
    assertTrue(out.messages().stream().anyMatch(o -> payloadOf(o.message()).hasForwardedRequest()
        && o.to() == 0), "relayed to the primary, in case the primary lost it");
  }

  @Test
  void requestArrivingDuringAViewChangeGoesToTheNewPrimaryOnceTheViewOpens() {
    // Replica 1, the primary of view 1, leaves view 0 on f + 1 complaints and collects view
    // changes. A request that reaches it meanwhile must be ordered once view 1 opens.
    TestReplica next = fx.core(1, new RecordingApp());
    deliverSigned(next, complaint(0, 2));
    deliverSigned(next, complaint(0, 3));
    assertTrue(next.viewChanging());
    assertEquals(1, next.view());
    SignedRequest r = fx.request(0, 1, "during the view change");
    next.onClientRequestSentToAll(r, CoreFixture.parse(r));
    next.takeEffects();
    deliverSigned(next, viewChange(2, 1));
    deliverSigned(next, viewChange(3, 1));
    assertFalse(next.viewChanging(), "2f + 1 view changes: it opened view 1");
    List<ReplicaMessage> out = sent(next.takeEffects());
    assertTrue(out.stream().anyMatch(ReplicaMessage::hasNewView));
    assertTrue(out.stream().anyMatch(m -> m.hasPrePrepare() && m.getPrePrepare().getView() == 1),
        "the waiting request went into view 1's first batch");
  }

  @Test
  void primaryServingEveryoneButOneClientIsStillSuspected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    SignedRequest ignored = fx.request(3, 1, "never ordered");
    backup.onClientRequest(ignored, CoreFixture.parse(ignored));
    // Meanwhile other clients' requests keep committing and executing.
    for (int seq = 1; seq <= 5; seq++) {
      List<SignedRequest> batch = List.of(fx.request(seq % 3, seq, "other" + seq));
      fx.deliver(backup, 0, prePrepare(0, seq, batch));
      fx.deliver(backup, 2, prepare(0, seq, digest(batch), 2));
      fx.deliver(backup, 0, CoreFixture.commit(0, seq, digest(batch), 0));
      fx.deliver(backup, 2, CoreFixture.commit(0, seq, digest(batch), 2));
      backup.tick(seq * (TIMEOUT / 5L) - 1);
    }
    assertEquals(5, backup.lastExecuted());
    backup.takeEffects();
    backup.tick(TIMEOUT);
    assertTrue(sent(backup.takeEffects()).stream().anyMatch(ReplicaMessage::hasComplaint),
        "the waiting request did not run within the timeout");
  }

  @Test
  void timeTheReplicaDidNotRunDoesNotCountAgainstThePrimary() {
    TestReplica backup = fx.core(1, new RecordingApp());
    SignedRequest r = fx.request(3, 1, "waiting");
    backup.onClientRequest(r, CoreFixture.parse(r));
    backup.tick(200);
    backup.tickOnce(5_000); // paused (SIGSTOP, a long collection) from 200 to about 5000
    backup.takeEffects();
    backup.tick(5_500);
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasComplaint),
        "it ran for well under a timeout since the request arrived");
    backup.tick(5_000 + TIMEOUT - 200 + 40);
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasComplaint),
        "no part of the pause counts, and after a stall the primary gets a full timeout: what arrives "
            + "now was sent during the stall, and a stall of the whole machine stalled the primary too");
    backup.tick(5_000 + TIMEOUT - 40);
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasComplaint));
    backup.tick(5_000 + TIMEOUT + 40);
    assertTrue(sent(backup.takeEffects()).stream().anyMatch(ReplicaMessage::hasComplaint),
        "a timeout after it resumed, it complains");
  }

  @Test
  void aClientsWaitStartsAfreshWhenTheprimaryRunsAnOlderRequestOfIt() {
    TestReplica backup = fx.core(1, new RecordingApp());
    SignedRequest older = fx.request(3, 1, "older");
    backup.onClientRequest(older, CoreFixture.parse(older));
    backup.tick(600);
    SignedRequest newer = fx.request(3, 2, "newer");
    backup.onClientRequest(newer, CoreFixture.parse(newer));
    backup.tick(900);
    List<SignedRequest> batch = List.of(older);
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    fx.deliver(backup, 2, prepare(0, 1, digest(batch), 2));
    fx.deliver(backup, 0, CoreFixture.commit(0, 1, digest(batch), 0));
    fx.deliver(backup, 2, CoreFixture.commit(0, 1, digest(batch), 2));
    backup.takeEffects();
    backup.tick(1_880);
    assertTrue(sent(backup.takeEffects()).stream().noneMatch(ReplicaMessage::hasComplaint),
        "the primary served client 3 at 900: its wait for t=2 counts from there");
    backup.tick(1_920);
    assertTrue(sent(backup.takeEffects()).stream().anyMatch(ReplicaMessage::hasComplaint),
        "t=2 itself never ran: a timeout after the last progress, it complains");
  }

  @Test
  void executingTheAwaitedRequestDisarmsTheTimer() {
    TestReplica backup = fx.core(1, new RecordingApp());
    SignedRequest r = fx.request(3, 1, "served");
    backup.onClientRequest(r, CoreFixture.parse(r));
    List<SignedRequest> batch = List.of(r);
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    fx.deliver(backup, 2, prepare(0, 1, digest(batch), 2));
    fx.deliver(backup, 0, CoreFixture.commit(0, 1, digest(batch), 0));
    fx.deliver(backup, 2, CoreFixture.commit(0, 1, digest(batch), 2));
    backup.tick(TIMEOUT * 10L);
    assertEquals(0, backup.view());
  }

  @Test
  void backupWithNothingWaitingNeverSuspectsThePrimary() {
    TestReplica backup = fx.core(2, new RecordingApp());
    backup.tick(TIMEOUT * 100L);
    assertEquals(0, backup.view());
  }

  @Test
  void viewChangeCarriesPreparedCertificatesOfTheSender() {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    fx.deliver(backup, 0, prePrepare(0, 1, batch));
    fx.deliver(backup, 2, prepare(0, 1, digest(batch), 2));
    SignedRequest r = fx.request(1, 1, "b");
    backup.onClientRequest(r, CoreFixture.parse(r));
    backup.takeEffects();
    backup.tick(TIMEOUT);
    deliverSigned(backup, complaint(0, 3));
    ViewChange vc = sent(backup.takeEffects()).stream().filter(ReplicaMessage::hasViewChange).findFirst()
        .orElseThrow().getViewChange();
    assertEquals(1, vc.getPreparedCount());
    PreparedCertificate cert = vc.getPrepared(0);
    assertEquals(1, payloadOf(cert.getPrePrepare()).getPrePrepare().getSequence());
    assertEquals(2, cert.getPreparesCount(), "2f prepares: its own and replica 2's");
  }

  @Test
  void timeoutDoublesForEachConsecutiveViewChange() {
    // Replica 3 suspects with the others (replicas 1 and 2 send VIEW-CHANGEs too), but the new
    // primaries (1, then 2) never send a NEW-VIEW: each time, its NEW-VIEW timer expires, it
    // complains about that view, and with another complaint moves on.
    TestReplica backup = complaining(3);
    deliverSigned(backup, complaint(0, 1));
    assertEquals(1, backup.view());
    deliverSigned(backup, viewChange(1, 1));
    deliverSigned(backup, viewChange(2, 1));
    long armedAt = TIMEOUT;
    backup.tick(armedAt + TIMEOUT - 1);
    backup.takeEffects();
    deliverSigned(backup, complaint(1, 2));
    assertEquals(1, backup.view(), "waits T for the NEW-VIEW of view 1");
    backup.tick(armedAt + TIMEOUT);
    assertEquals(2, backup.view(), "its own complaint about view 1 and replica 2's");
    deliverSigned(backup, viewChange(1, 2));
    deliverSigned(backup, viewChange(2, 2));
    armedAt += TIMEOUT;
    backup.tick(armedAt + 2L * TIMEOUT - 1);
    deliverSigned(backup, complaint(2, 1));
    assertEquals(2, backup.view(), "second consecutive view change waits 2T");
    backup.tick(armedAt + 2L * TIMEOUT);
    assertEquals(3, backup.view());
  }

  @Test
  void replicaSuspectingAloneStaysInItsView() {
    TestReplica backup = complaining(3);
    backup.takeEffects();
    backup.tick(TIMEOUT * 1000L);
    assertEquals(0, backup.view(), "its complaint alone proves nothing: it keeps working in view 0");
    assertFalse(backup.viewChanging());
    assertTrue(sent(backup.takeEffects()).stream().anyMatch(ReplicaMessage::hasComplaint),
        "it repeats its complaint (complaints can be lost)");
  }

  @Test
  void aViewChangeCarryingEvidenceIsJoined() {
    TestReplica replica = fx.core(3, new RecordingApp());
    deliverSigned(replica, viewChange(1, 2));
    assertEquals(2, replica.view(), "f + 1 complaints about view 1 are in it: the group left view 1");
    assertTrue(replica.viewChanging());
    ViewChange mine = sent(replica.takeEffects()).stream().filter(ReplicaMessage::hasViewChange).findFirst()
        .orElseThrow().getViewChange();
    assertEquals(2, mine.getNewView());
    assertEquals(2, mine.getComplaintsCount(), "it passes the evidence on");
  }

  @Test
  void newPrimaryMulticastsNewViewAfterTwoFPlusOneViewChanges() {
    TestReplica newPrimary = fx.core(1, new RecordingApp());
    deliverSigned(newPrimary, viewChange(2, 1));
    deliverSigned(newPrimary, viewChange(3, 1));
    // f + 1 = 2 others want view 1: it joins (its own VIEW-CHANGE is the third) and opens the view.
    Effects e = newPrimary.takeEffects();
    NewView nv = newViewIn(e);
    assertNotNull(nv, "NEW-VIEW multicast");
    assertEquals(1, nv.getView());
    assertEquals(3, nv.getViewChangesCount());
    assertEquals(0, nv.getPrePreparesCount(), "nothing prepared: O is empty");
    assertEquals(1, newPrimary.view());
    assertFalse(newPrimary.viewChanging());
  }

  @Test
  void newViewSetFillsGapsWithNullRequestsAndTakesTheHighestViewCertificate() {
    List<SignedRequest> b1 = List.of(fx.request(0, 1, "one"));
    List<SignedRequest> b3old = List.of(fx.request(1, 1, "three-old"));
    List<SignedRequest> b3new = List.of(fx.request(2, 1, "three-new"));
    // Sequence 1 prepared in view 0 at replica 2; sequence 3 prepared in view 0 at replica 3 and,
    // with another batch, in view 1 at replica 2 (the primary of view 1 re-proposed after a view
    // change that did not see it). Sequence 2 prepared nowhere: a gap.
    PreparedCertificate c1 = certificate(0, 1, b1, 2, 3);
    PreparedCertificate c3old = certificate(0, 3, b3old, 1, 3);
    PreparedCertificate c3new = certificate(1, 3, b3new, 2, 3);
    TestReplica newPrimary = fx.core(2, new RecordingApp());
    deliverSigned(newPrimary, viewChange(0, 2, c3old));
    deliverSigned(newPrimary, viewChange(3, 2, c1, c3new));
    NewView nv = newViewIn(newPrimary.takeEffects());
    assertNotNull(nv);
    assertEquals(3, nv.getPrePreparesCount(), "sequence numbers 1..3");
    PrePrepare p1 = payloadOf(nv.getPrePrepares(0)).getPrePrepare();
    PrePrepare p2 = payloadOf(nv.getPrePrepares(1)).getPrePrepare();
    PrePrepare p3 = payloadOf(nv.getPrePrepares(2)).getPrePrepare();
    assertEquals(digest(b1), p1.getDigest());
    assertEquals(0, p2.getBatch().getRequestsCount(), "gap filled with the null request");
    assertEquals(digest(b3new), p3.getDigest(), "the certificate from the highest view wins");
    for (PrePrepare p : List.of(p1, p2, p3)) {
      assertEquals(2, p.getView());
    }
  }

  @Test
  void backupAcceptsAValidNewViewAndPreparesItsPrePrepares() {
    List<SignedRequest> b1 = List.of(fx.request(0, 1, "one"));
    PreparedCertificate c1 = certificate(0, 1, b1, 2, 3);
    SignedMessage nv = buildNewView(1, List.of(viewChange(1, 1), viewChange(2, 1, c1), viewChange(3, 1)));
    TestReplica backup = fx.core(3, new RecordingApp());
    deliverSigned(backup, nv);
    assertEquals(1, backup.view());
    assertFalse(backup.viewChanging());
    List<ReplicaMessage> out = sent(backup.takeEffects());
    assertTrue(out.stream().anyMatch(m -> m.hasPrepare() && m.getPrepare().getView() == 1
        && m.getPrepare().getSequence() == 1 && m.getPrepare().getDigest().equals(digest(b1))));
  }

  /** A NEW-VIEW as a correct primary of {@code view} would build it from these VIEW-CHANGEs. */
  private SignedMessage buildNewView(long view, List<SignedMessage> vcs) {
    TestReplica primary = fx.core(fx.coreFixturePrimary(view), new RecordingApp());
    for (SignedMessage vc : vcs) {
      if (vc.getSender() != primary.id()) {
        deliverSigned(primary, vc);
      }
    }
    Effects e = primary.takeEffects();
    return e.messages().stream().map(Effects.Outgoing::message).filter(m -> payloadOf(m).hasNewView())
        .findFirst().orElseThrow();
  }

  @Test
  void newViewWhosePrePreparesDifferFromTheRecomputedSetIsRefused() {
    List<SignedRequest> b1 = List.of(fx.request(0, 1, "one"));
    PreparedCertificate c1 = certificate(0, 1, b1, 2, 3);
    List<SignedMessage> vcs = List.of(viewChange(1, 1), viewChange(2, 1, c1), viewChange(3, 1));
    // The new primary drops the prepared request and proposes its own batch at sequence 1.
    List<SignedRequest> mine = List.of(fx.request(1, 9, "injected"));
    NewView.Builder lie = NewView.newBuilder().setView(1);
    vcs.forEach(lie::addViewChanges);
    lie.addPrePrepares(fx.signed(1, prePrepare(1, 1, mine)));
    SignedMessage nv = fx.signed(1, ReplicaMessage.newBuilder().setNewView(lie).build());
    TestReplica backup = fx.core(3, new RecordingApp());
    deliverSigned(backup, nv);
    assertEquals(1, backup.rejections().get(Rejection.WRONG_NEW_VIEW_PRE_PREPARES));
    assertEquals(0, backup.view(), "refused: still in view 0");
  }

  @Test
  void newViewThatOmitsAPreparedRequestIsRefused() {
    List<SignedRequest> b1 = List.of(fx.request(0, 1, "one"));
    PreparedCertificate c1 = certificate(0, 1, b1, 2, 3);
    List<SignedMessage> vcs = List.of(viewChange(1, 1), viewChange(2, 1, c1), viewChange(3, 1));
    NewView.Builder lie = NewView.newBuilder().setView(1);
    vcs.forEach(lie::addViewChanges);
    SignedMessage nv = fx.signed(1, ReplicaMessage.newBuilder().setNewView(lie).build());
    TestReplica backup = fx.core(3, new RecordingApp());
    deliverSigned(backup, nv);
    assertEquals(1, backup.rejections().get(Rejection.WRONG_NEW_VIEW_PRE_PREPARES));
  }

  @Test
  void newViewWithTooFewViewChangesIsRefused() {
    List<SignedMessage> vcs = List.of(viewChange(1, 1), viewChange(2, 1));
    NewView.Builder nv = NewView.newBuilder().setView(1);
    vcs.forEach(nv::addViewChanges);
    TestReplica backup = fx.core(3, new RecordingApp());
    deliverSigned(backup, fx.signed(1, ReplicaMessage.newBuilder().setNewView(nv).build()));
    assertEquals(1, backup.rejections().get(Rejection.INVALID_NEW_VIEW));
    assertEquals(0, backup.view());
  }

  @Test
  void newViewFromAReplicaThatIsNotTheNewPrimaryIsRefused() {
    SignedMessage good = buildNewView(1, List.of(viewChange(1, 1), viewChange(2, 1), viewChange(3, 1)));
    SignedMessage fromOther = fx.signed(2, payloadOf(good));
    TestReplica backup = fx.core(3, new RecordingApp());
    deliverSigned(backup, fromOther);
    assertEquals(1, backup.rejections().get(Rejection.NEW_VIEW_FROM_NON_PRIMARY));
  }

  @Test
  void viewChangeWithAnIncompletePreparedCertificateIsRejected() {
    // A lying replica claims sequence 1 prepared with only one prepare (2f = 2 needed).
    List<SignedRequest> b = List.of(fx.request(0, 1, "x"));
    TestReplica replica = fx.core(2, new RecordingApp());
    deliverSigned(replica, viewChange(3, 1, certificate(0, 1, b, 3)));
    assertEquals(1, replica.rejections().get(Rejection.INVALID_VIEW_CHANGE));
  }

  @Test
  void viewChangeWithACertificateWhoseDigestDoesNotMatchItsBatchIsRejected() {
    List<SignedRequest> b = List.of(fx.request(0, 1, "x"));
    List<SignedRequest> other = List.of(fx.request(0, 1, "y"));
    PreparedCertificate forged = PreparedCertificate.newBuilder()
        .setPrePrepare(fx.signed(0, prePrepare(0, 1, digest(other), b)))
        .addPrepares(fx.signed(1, prepare(0, 1, digest(other), 1)))
        .addPrepares(fx.signed(3, prepare(0, 1, digest(other), 3))).build();
    TestReplica replica = fx.core(2, new RecordingApp());
    deliverSigned(replica, viewChange(3, 1, forged));
    assertEquals(1, replica.rejections().get(Rejection.INVALID_VIEW_CHANGE));
  }

  @Test
  void viewChangeWithPreparesFromThePrimaryOrMismatchedPreparesIsRejected() {
    List<SignedRequest> b = List.of(fx.request(0, 1, "x"));
    PreparedCertificate withPrimary = PreparedCertificate.newBuilder().setPrePrepare(signedPrePrepare(0, 1, b))
        .addPrepares(fx.signed(0, prepare(0, 1, digest(b), 0)))
        .addPrepares(fx.signed(3, prepare(0, 1, digest(b), 3))).build();
    PreparedCertificate mismatched = PreparedCertificate.newBuilder().setPrePrepare(signedPrePrepare(0, 1, b))
        .addPrepares(fx.signed(1, prepare(0, 2, digest(b), 1)))
        .addPrepares(fx.signed(3, prepare(0, 1, digest(b), 3))).build();
    TestReplica replica = fx.core(2, new RecordingApp());
    deliverSigned(replica, viewChange(3, 1, withPrimary));
    deliverSigned(replica, viewChange(1, 1, mismatched));
    assertEquals(2, replica.rejections().get(Rejection.INVALID_VIEW_CHANGE));
  }

  @Test
  void viewChangeClaimingAStableCheckpointWithoutProofIsRejected() {
    ByteString d = ByteString.copyFrom(new byte[32]);
    List<SignedMessage> proof = new ArrayList<>();
    for (int r : new int[] {1, 3}) {
      proof.add(fx.signed(r, ReplicaMessage.newBuilder().setCheckpoint(
          Checkpoint.newBuilder().setSequence(128).setStateDigest(d).setReplicaId(r)).build()));
    }
    ViewChange vc = ViewChange.newBuilder().setNewView(1).setReplicaId(3).setStableSequence(128)
        .setStableDigest(d).addAllCheckpointProof(proof).build();
    TestReplica replica = fx.core(2, new RecordingApp());
    deliverSigned(replica, fx.signed(3, ReplicaMessage.newBuilder().setViewChange(vc).build()));
    assertEquals(1, replica.rejections().get(Rejection.INVALID_VIEW_CHANGE), "2 checkpoint signatures, 2f+1 = 3 needed");
  }

  @Test
  void requestCommittedInTheOldViewSurvivesTheViewChange() {
    // Replicas 1..3 prepared sequence 1 in view 0; the primary (0) then fails. Whatever 2f+1
    // VIEW-CHANGEs the new primary uses, at least one carries the certificate.
    List<SignedRequest> b = List.of(fx.request(0, 1, "kept"));
    SignedMessage nv = buildNewView(1, List.of(viewChange(1, 1),
        viewChange(2, 1, certificate(0, 1, b, 1, 2)), viewChange(3, 1)));
    TestReplica backup = fx.core(2, new RecordingApp());
    deliverSigned(backup, nv);
    List<ReplicaMessage> out = sent(backup.takeEffects());
    assertTrue(out.stream().anyMatch(m -> m.hasPrepare() && m.getPrepare().getDigest().equals(digest(b))));
    assertEquals(1, payloadOf(nv).getNewView().getPrePreparesCount());
    assertEquals(Batch.newBuilder().addAllRequests(b).build(),
        payloadOf(payloadOf(nv).getNewView().getPrePrepares(0)).getPrePrepare().getBatch());
  }
}

package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Digests;
import io.pbft.proto.NewView;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.PrePrepared;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;
import io.pbft.proto.WalRecord;
import io.pbft.replica.verify.Rejection;
import io.pbft.replica.verify.VerifiedMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * View changes (OSDI 1999, section 4.4, with the liveness rules of 4.5.2): once f + 1 replicas
 * complained about the view ({@link Complaints}), a replica moves to the next view and multicasts
 * VIEW-CHANGE with that evidence, its stable checkpoint and its prepared certificates; any replica
 * that receives a VIEW-CHANGE with valid evidence joins. The new primary collects 2f + 1 and
 * multicasts NEW-VIEW with the pre-prepares it computed from them; backups recompute those and
 * enter the view.
 */
final class ViewChangeProtocol {
  private static final Logger log = LoggerFactory.getLogger(ViewChangeProtocol.class);

  private final ReplicaState state;
  private final Outbox outbox;
  private final Rules rules;
  private final ViewChangeRules certificates;
  private final Requests requests;
  private final Timers timers;
  private final Checkpoints checkpoints;
  private final NormalCase normal;
  private final Complaints complaints;
  /** The newest valid VIEW-CHANGE of each replica for a view above (or at, while changing) ours. */
  private final Map<Integer, ViewChangeRules.Checked> viewChanges = new HashMap<>();
  private long started;
  private long ownSentMs;

  ViewChangeProtocol(ReplicaState state, Outbox outbox, Rules rules, Requests requests, Timers timers,
      Checkpoints checkpoints, NormalCase normal, Complaints complaints) {
    this.state = state;
    this.outbox = outbox;
    this.rules = rules;
    this.certificates = new ViewChangeRules(state.members, state.f, state.settings.windowSize(), rules);
    this.requests = requests;
    this.timers = timers;
    this.checkpoints = checkpoints;
    this.normal = normal;
    this.complaints = complaints;
  }

  long started() {
    return started;
  }

  ViewChangeRules certificates() {
    return certificates;
  }

  /**
   * Heartbeat: VIEW-CHANGEs can be lost, so this replica repeats its own (its evidence lets any
   * replica that missed the complaints join), unless it sent it within the last half timeout.
   */
  void repeatOwn() {
    SignedMessage own = own();
    if (own != null && state.nowMs - ownSentMs >= state.settings.viewChangeTimeoutMs() / 2) {
      outbox.resend(Effects.Outgoing.ALL, own);
      ownSentMs = state.nowMs;
    }
  }

  /** This replica's VIEW-CHANGE for the view it is changing to, or null. */
  SignedMessage own() {
    ViewChangeRules.Checked mine = viewChanges.get(state.id);
    return state.viewChanging && mine != null ? mine.signed() : null;
  }

  /**
   * Moves to view {@code v} and multicasts VIEW-CHANGE with this replica's proofs and the
   * {@code evidence} for leaving view v - 1 (f + 1 complaints about it).
   */
  void start(long v, List<SignedMessage> evidence) {
    if (v <= state.view) {
      return;
    }
    state.view = v;
    state.viewChanging = true;
    started++;
    timers.viewChangeStarted();
    requests.viewChangeStarted(); // what waited is re-sent to the new primary when the view opens
    complaints.viewChanged();
    ViewChange.Builder vc = ViewChange.newBuilder().setNewView(v).setReplicaId(state.id)
        .setStableSequence(state.lowWatermark).setStableDigest(state.stableDigest)
        .addAllCheckpointProof(state.stableProof).addAllComplaints(evidence);
    boolean claims = certificates.claims();
    for (Slot slot : state.slots.values()) {
      if (slot.sequence <= state.lowWatermark || slot.sequence > state.highWatermark()) {
        continue;
      }
      if (slot.certificate != null) {
        vc.addPrepared(claims ? signedPart(slot.certificate) : slot.certificate);
      }
      if (claims) {
        for (Slot.PrePrepared q : slot.prePrepared) {
          vc.addPrePrepared(PrePrepared.newBuilder().setSequence(slot.sequence).setDigest(q.digest())
              .setView(q.view()));
        }
      }
    }
    ViewChange message = vc.build();
    SignedMessage signed = outbox.broadcast(ReplicaMessage.newBuilder().setViewChange(message).build());
    ownSentMs = state.nowMs;
    try {
      viewChanges.put(state.id, certificates.check(state.id, message, signed));
    } catch (ViewChangeRules.Invalid e) {
      throw new InvariantViolation("own VIEW-CHANGE is invalid: " + e.getMessage(), e);
    }
    viewChanges.values().removeIf(c -> c.message().getNewView() < v);
    // Section 4.5.2: the timer for the NEW-VIEW runs only once 2f + 1 replicas want this view, so
    // a replica that suspects alone does not run ahead through views on its own.
    armNewViewTimer();
    log.info("replica {}: moving to view {} (primary {}), sent VIEW-CHANGE with {} prepared certificates; {}",
        state.id, v, state.primaryOf(v), message.getPreparedCount(), state.nextToExecute());
    tryNewView();
  }

  /**
   * A prepared certificate as a claim (MAC authentication): the signed pre-prepare and those of
   * its prepares that are signed; MAC-authenticated ones prove nothing to anyone else.
   */
  private static PreparedCertificate signedPart(PreparedCertificate cert) {
    PreparedCertificate.Builder out = PreparedCertificate.newBuilder().setPrePrepare(cert.getPrePrepare());
    for (SignedMessage p : cert.getPreparesList()) {
      if (!p.getSignature().isEmpty()) {
        out.addPrepares(p);
      }
    }
    return out.build();
  }

  void onViewChange(int sender, ViewChange vc, SignedMessage signed) {
    long v = vc.getNewView();
    if (v < state.view || (v == state.view && !state.viewChanging)) {
      if (v == state.view && state.lastNewView != null && sender != state.primaryOf(v)) {
        outbox.resend(sender, state.lastNewView); // it missed the NEW-VIEW
      }
      return; // stale: that view is open or passed
    }
    ViewChangeRules.Checked checked;
    try {
      checked = certificates.check(sender, vc, signed);
    } catch (ViewChangeRules.Invalid e) {
      outbox.reject(Rejection.INVALID_VIEW_CHANGE, "from %d for view %d: %s", sender, v, e.getMessage());
      return;
    }
    ViewChangeRules.Checked previous = viewChanges.get(sender);
    if (previous != null && previous.message().getNewView() >= v) {
      return;
    }
    viewChanges.put(sender, checked);
    if (v > state.view) {
      // Its evidence shows f + 1 replicas (one correct at least) complained about view v - 1, at
      // or above ours: the group is leaving it. Join rather than wait for a timer of our own
      // (this subsumes section 4.5.2's rule of joining the smallest view f + 1 replicas want).
      log.info("replica {}: joins view {} on replica {}'s VIEW-CHANGE", state.id, v, sender);
      start(v, vc.getComplaintsList());
      return;
    }
    armNewViewTimer();
    tryNewView();
  }

  void armNewViewTimer() {
    if (!state.viewChanging || timers.armed()) {
      return;
    }
    // A replica whose newest VIEW-CHANGE is for this view or a later one has left the previous
    // view too; counting it only delays, never risks, safety (timers do not affect safety).
    int wanting = 0;
    for (ViewChangeRules.Checked c : viewChanges.values()) {
      if (c.message().getNewView() >= state.view) {
        wanting++;
      }
    }
    if (wanting >= state.quorum()) {
      timers.rearm();
    }
  }

  /** The new primary, once 2f + 1 VIEW-CHANGEs for its view arrived, multicasts NEW-VIEW. */
  private void tryNewView() {
    if (!state.viewChanging || state.primaryOf(state.view) != state.id) {
      return;
    }
    // With proven certificates any 2f + 1 VIEW-CHANGEs decide; with claims (MAC authentication)
    // every one at hand is used, as more never undo a decision, and the primary waits for more
    // while some sequence number is undecided.
    int wanted = certificates.claims() ? state.n : state.quorum();
    List<ViewChangeRules.Checked> set = new ArrayList<>();
    set.add(viewChanges.get(state.id));
    for (int r : state.members) {
      if (set.size() >= wanted) {
        break;
      }
      ViewChangeRules.Checked c = viewChanges.get(r);
      if (r != state.id && c != null && c.message().getNewView() == state.view) {
        set.add(c);
      }
    }
    if (set.size() < state.quorum()) {
      return;
    }
    ViewChangeRules.Plan plan = certificates.plan(set);
    if (plan == null) {
      log.info("replica {}: view {} waits for more VIEW-CHANGEs: {} leave a sequence number undecided", state.id,
          state.view, set.size());
      return;
    }
    NewView.Builder nv = NewView.newBuilder().setView(state.view);
    for (ViewChangeRules.Checked c : set) {
      nv.addViewChanges(c.signed());
    }
    List<SignedMessage> prePrepares = new ArrayList<>();
    for (ViewChangeRules.Planned p : plan.prePrepares()) {
      PrePrepare pp = PrePrepare.newBuilder().setView(state.view).setSequence(p.sequence()).setDigest(p.digest())
          .setBatch(p.batch()).setTimeMs(p.timeMs()).build();
      prePrepares.add(outbox.sign(ReplicaMessage.newBuilder().setPrePrepare(pp).build()));
    }
    nv.addAllPrePrepares(prePrepares);
    state.lastNewView = outbox.broadcast(ReplicaMessage.newBuilder().setNewView(nv).build());
    log.info("replica {}: view {} opens with NEW-VIEW of {} view-changes, pre-prepares for ({}, {}]",
        state.id, state.view, set.size(), plan.stableSequence(), plan.stableSequence() + plan.prePrepares().size());
    enterView(plan, prePrepares);
  }

  /** A backup checks a NEW-VIEW by recomputing its pre-prepares from its VIEW-CHANGEs. */
  void onNewView(int sender, NewView nv, SignedMessage signed) {
    long v = nv.getView();
    if (v < state.view || (v == state.view && !state.viewChanging)) {
      return; // that view is open already or passed
    }
    if (!rules.newViewSenderValid(sender, state.primaryOf(v))) {
      outbox.reject(Rejection.NEW_VIEW_FROM_NON_PRIMARY, "sender %d is not primary of view %d", sender, v);
      return;
    }
    List<ViewChangeRules.Checked> set = new ArrayList<>();
    Set<Integer> senders = new HashSet<>();
    try {
      for (SignedMessage m : nv.getViewChangesList()) {
        ReplicaMessage body = ViewChangeRules.parse(m);
        if (!body.hasViewChange() || body.getViewChange().getNewView() != v) {
          throw new ViewChangeRules.Invalid("holds a message that is not a VIEW-CHANGE for view " + v);
        }
        if (!senders.add(m.getSender())) {
          throw new ViewChangeRules.Invalid("holds two VIEW-CHANGEs from replica " + m.getSender());
        }
        set.add(certificates.check(m.getSender(), body.getViewChange(), m));
      }
      if (set.size() < state.quorum()) {
        throw new ViewChangeRules.Invalid("holds " + set.size() + " VIEW-CHANGEs, needs a quorum of " + state.quorum());
      }
    } catch (ViewChangeRules.Invalid e) {
      outbox.reject(Rejection.INVALID_NEW_VIEW, "from %d for view %d: %s", sender, v, e.getMessage());
      return;
    }
    List<SignedMessage> given = nv.getPrePreparesList();
    ViewChangeRules.Plan recomputed = certificates.plan(set);
    if (recomputed == null) {
      outbox.reject(Rejection.INVALID_NEW_VIEW, "from %d for view %d: its VIEW-CHANGEs leave a sequence number"
          + " undecided", sender, v);
      return;
    }
    ViewChangeRules.Plan plan = rules.newViewPlan(recomputed, given, certificates);
    if (given.size() != plan.prePrepares().size()) {
      outbox.reject(Rejection.WRONG_NEW_VIEW_PRE_PREPARES, "view %d: %d pre-prepares, recomputed %d", v, given.size(),
          plan.prePrepares().size());
      return;
    }
    for (int i = 0; i < given.size(); i++) {
      ViewChangeRules.Planned expected = plan.prePrepares().get(i);
      PrePrepare pp;
      try {
        ReplicaMessage body = ViewChangeRules.parse(given.get(i));
        if (!body.hasPrePrepare() || given.get(i).getSender() != sender) {
          throw new ViewChangeRules.Invalid("not a pre-prepare of the new primary");
        }
        pp = body.getPrePrepare();
      } catch (ViewChangeRules.Invalid e) {
        outbox.reject(Rejection.WRONG_NEW_VIEW_PRE_PREPARES, "view %d: %s", v, e.getMessage());
        return;
      }
      ByteString batchDigest = ViewChangeRules.digestOf(pp);
      if (pp.getView() != v || pp.getSequence() != expected.sequence() || !pp.getDigest().equals(expected.digest())
          || !batchDigest.equals(expected.digest()) || pp.getTimeMs() != expected.timeMs()) {
        outbox.reject(Rejection.WRONG_NEW_VIEW_PRE_PREPARES,
            "view %d: pre-prepare for n=%d differs from the recomputed one", v, expected.sequence());
        return;
      }
    }
    if (v > state.view) {
      state.view = v; // 2f + 1 replicas moved there: follow without a VIEW-CHANGE of its own
    }
    log.info("replica {}: accepted NEW-VIEW for view {} from {}", state.id, v, sender);
    state.lastNewView = signed;
    outbox.record(WalRecord.newBuilder().setAcceptedNewView(signed).build());
    enterView(plan, given);
  }

  /** Opens the view: adopt its stable checkpoint, install its pre-prepares, prepare them. */
  private void enterView(ViewChangeRules.Plan plan, List<SignedMessage> prePrepares) {
    state.viewChanging = false;
    timers.disarm();
    complaints.viewChanged();
    viewChanges.values().removeIf(c -> c.message().getNewView() <= state.view);
    long minS = plan.stableSequence();
    checkpoints.learnStable(minS, plan.stableDigest(), plan.checkpointProof());
    long maxS = minS + plan.prePrepares().size();
    for (Slot slot : state.slots.values()) {
      if (slot.sequence > minS && !slot.handedOut) {
        slot.forgetPrePrepare();
      }
    }
    for (int i = 0; i < plan.prePrepares().size(); i++) {
      ViewChangeRules.Planned p = plan.prePrepares().get(i);
      if (p.sequence() <= state.lowWatermark || p.sequence() > state.highWatermark()) {
        continue;
      }
      Slot slot = state.slot(p.sequence());
      if (state.primary() == state.id) {
        slot.accept(state.view, p.digest(), p.batch(), p.requests(), prePrepares.get(i), p.timeMs());
        slot.notePrePrepared(state.view, p.digest());
        requests.ordering(p.requests());
        normal.checkPrepared(slot);
      } else {
        normal.acceptAsBackup(slot, state.view, p.digest(), p.batch(), p.requests(), prePrepares.get(i), p.timeMs());
      }
    }
    state.lastAssigned = Math.max(maxS, state.lastHandedOut);
    for (ViewChangeRules.Planned p : plan.prePrepares()) {
      state.lastProposedMs = Math.max(state.lastProposedMs, p.timeMs());
    }
    // Pre-prepares of this view that overtook its NEW-VIEW.
    for (VerifiedMessage m : normal.takeEarly(state.primary())) {
      PrePrepare pp = m.message().getPrePrepare();
      if (pp.getView() == state.view && pp.getSequence() > maxS) {
        normal.onPrePrepare(m.sender(), pp, m);
      }
    }
    // Requests that waited during the view change go to the new primary.
    requests.viewEntered();
  }

  /** Recovery: this replica had sent {@code vc} and was changing to its view when it stopped. */
  void recoverOwn(ViewChange vc, SignedMessage signed) throws ViewChangeRules.Invalid {
    viewChanges.put(state.id, certificates.check(state.id, vc, signed));
  }
}

package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Digests;
import io.pbft.proto.Batch;
import io.pbft.proto.Commit;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.WalRecord;
import io.pbft.replica.verify.Rejection;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * The normal case (OSDI 1999, section 4.2): the primary cuts batches and multicasts PRE-PREPAREs;
 * backups accept them under the paper's conditions and multicast PREPAREs; 2f matching prepares
 * make a batch prepared, 2f + 1 matching COMMITs make it committed-local.
 */
final class NormalCase {
  private final ReplicaState state;
  private final Outbox outbox;
  private final Rules rules;
  private final Requests requests;
  private final BooleanSupplier fetchingState;
  /**
   * Pre-prepares for a view this replica has not entered yet (they may overtake the NEW-VIEW),
   * per sender so that a faulty replica cannot displace the real primary's.
   */
  private final Map<Integer, TreeMap<Long, VerifiedMessage>> early = new HashMap<>();

  /** Sequence numbers of slots whose PREPARE waits for vouchers (see prepareOnceVouched); usually none. */
  private final java.util.TreeSet<Long> awaitingVouch = new java.util.TreeSet<>();

  NormalCase(ReplicaState state, Outbox outbox, Rules rules, Requests requests, BooleanSupplier fetchingState) {
    this.state = state;
    this.outbox = outbox;
    this.rules = rules;
    this.requests = requests;
    this.fetchingState = fetchingState;
  }

  /** Section 4.2: a backup accepts a pre-prepare only under these conditions. */
  void onPrePrepare(int sender, PrePrepare pp, VerifiedMessage m) {
    long v = pp.getView();
    long s = pp.getSequence();
    if (!rules.prePrepareSenderValid(sender, state.primaryOf(v))) {
      outbox.reject(Rejection.PRE_PREPARE_FROM_NON_PRIMARY, "sender %d is not primary of view %d", sender, v);
      return;
    }
    if (v < state.view) {
      outbox.reject(Rejection.WRONG_VIEW, "pre-prepare v=%d n=%d while in view %d", v, s, state.view);
      return;
    }
    if (v > state.view || state.viewChanging) {
      keepEarly(sender, s, m); // the NEW-VIEW that opens view v has not arrived yet
      return;
    }
    if (s <= state.lowWatermark && s > 0) {
      return; // late: a stable checkpoint already covers it
    }
    if (!state.inWindow(s)) {
      outbox.reject(Rejection.OUTSIDE_WINDOW, "pre-prepare n=%d window (%d, %d]", s, state.lowWatermark,
          state.highWatermark());
      return;
    }
    Batch batch = pp.getBatch();
    if (batch.getRequestsCount() > state.settings.batchSizeMax()
        || batch.getSerializedSize() > state.settings.batchBytesMax()) {
      outbox.reject(Rejection.OVERSIZED_BATCH, "pre-prepare n=%d has %d requests, %d bytes", s,
          batch.getRequestsCount(), batch.getSerializedSize());
      return;
    }
    ByteString digest = ViewChangeRules.digestOf(pp);
    if (!digest.equals(pp.getDigest())) {
      outbox.reject(Rejection.DIGEST_MISMATCH, "pre-prepare v=%d n=%d", v, s);
      return;
    }
    long proposedView = batch.getProposedView();
    if (proposedView != 0 && (proposedView != v || s != state.handoverAt)) {
      // Only the batch at a handover checkpoint names a view, its own: the next epoch begins there.
      outbox.reject(Rejection.MALFORMED, "pre-prepare v=%d n=%d names view %d (handover at %d)", v, s, proposedView,
          state.handoverAt);
      return;
    }
    if (m.requests().size() != batch.getRequestsCount()) {
      outbox.reject(Rejection.INVALID_REQUEST_IN_PRE_PREPARE, "v=%d n=%d: requests not checked", v, s);
      return;
    }
    Slot slot = state.slot(s);
    if (rules.prePrepareAlreadyAccepted(slot, v, digest)) {
      if (!slot.digest.equals(digest)) {
        outbox.reject(Rejection.CONFLICTING_PRE_PREPARE, "v=%d n=%d already accepted another digest", v, s);
      }
      return; // a duplicate of what was accepted
    }
    // Time this backup itself did not run since the proposal does not count against it: after a
    // pause of the whole group, the pre-prepares waiting in its sockets are as old as the pause.
    long stalled = state.stalls.stalledBetween(pp.getTimeMs() - state.wallOffsetMs, state.nowMs);
    if (!rules.proposedTimeAcceptable(pp.getTimeMs(), state.wallNowMs(), state.settings.clockSkewMs(), stalled)) {
      // Not prepared: if the primary's clock stays off, the requests of this batch do not execute,
      // the backups' request timers expire and they replace it (one view change).
      outbox.reject(Rejection.CLOCK_SKEW, "pre-prepare v=%d n=%d proposes time %d, clock here %d, skew %d ms,"
          + " stalled here %d ms since", v, s, pp.getTimeMs(), state.wallNowMs(), state.settings.clockSkewMs(), stalled);
      return;
    }
    long before = timeInView(s - 1, v);
    long after = timeInView(s + 1, v);
    if (!rules.proposedTimeInOrder(pp.getTimeMs(), before, after)) {
      outbox.reject(Rejection.TIME_GOES_BACK, "pre-prepare v=%d n=%d proposes time %d, between %d and %d in this view",
          v, s, pp.getTimeMs(), before, after);
      return;
    }
    acceptAsBackup(slot, v, digest, batch, m.requests(), m.signed(), pp.getTimeMs());
  }

  /** The time of the batch this replica holds at {@code s} from view {@code v}; 0 if none (or a null batch). */
  private long timeInView(long s, long v) {
    Slot neighbour = state.slots.get(s);
    return neighbour != null && neighbour.hasPrePrepare() && neighbour.view == v ? neighbour.timeMs : 0;
  }

  private void keepEarly(int sender, long s, VerifiedMessage m) {
    if (s <= state.lowWatermark || s > state.highWatermark()) {
      outbox.reject(Rejection.OUTSIDE_WINDOW, "early pre-prepare n=%d", s);
      return;
    }
    early.computeIfAbsent(sender, k -> new TreeMap<>()).put(s, m);
  }

  /** The early pre-prepares of {@code sender}, removed; all others forgotten (a view opened). */
  List<VerifiedMessage> takeEarly(int sender) {
    TreeMap<Long, VerifiedMessage> fromSender = early.get(sender);
    List<VerifiedMessage> out = fromSender == null ? List.of() : new ArrayList<>(fromSender.values());
    early.clear();
    return out;
  }

  void discardEarlyUpTo(long s) {
    early.values().forEach(m -> m.headMap(s, true).clear());
  }

  /**
   * Accepts a pre-prepare (logging it first) and multicasts this backup's PREPARE, at once if
   * this replica authenticated every request of the batch, otherwise once the primary and f
   * backups vouch for it (see {@link #prepareOnceVouched}).
   */
  void acceptAsBackup(Slot slot, long v, ByteString digest, Batch batch, List<VerifiedRequest> batchRequests,
      SignedMessage signed, long timeMs) {
    slot.accept(v, digest, batch, batchRequests, signed, timeMs);
    slot.acceptedAtMs = state.nowMs;
    outbox.record(WalRecord.newBuilder().setAcceptedPrePrepare(signed).build());
    outbox.milestone(Effects.Milestone.Kind.PRE_PREPARED, slot);
    requests.ordering(batchRequests);
    slot.awaitingVouch = !authenticatedHere(batchRequests);
    if (slot.awaitingVouch) {
      awaitingVouch.add(slot.sequence);
      for (VerifiedRequest r : batchRequests) {
        if (!rules.requestAuthenticatedHere(r, requests)) {
          requests.suspect(r.clientId());
        }
      }
    } else {
      sendPrepare(slot);
    }
    checkPrepared(slot);
  }

  /**
   * Every request of the batch authenticated by this replica: by its entry in the request's
   * authenticator, or because the client sent this very request to this replica too (clients
   * send to every replica), where its MAC was checked on arrival.
   */
  private boolean authenticatedHere(List<VerifiedRequest> batchRequests) {
    for (VerifiedRequest r : batchRequests) {
      if (!rules.requestAuthenticatedHere(r, requests)) {
        return false;
      }
    }
    return true;
  }

  /**
   * A request arrived from its client: a batch that waited for vouchers because of it may now be
   * authenticated here after all.
   */
  void requestArrived() {
    if (awaitingVouch.isEmpty()) {
      return;
    }
    for (Long s : List.copyOf(awaitingVouch)) {
      Slot slot = state.slots.get(s);
      if (slot == null || !slot.awaitingVouch || slot.view != state.view) {
        awaitingVouch.remove(s);
        continue;
      }
      if (authenticatedHere(slot.requests)) {
        awaitingVouch.remove(s);
        slot.awaitingVouch = false;
        sendPrepare(slot);
        checkPrepared(slot);
      }
    }
  }

  private void sendPrepare(Slot slot) {
    Prepare prepare = Prepare.newBuilder().setView(slot.view).setSequence(slot.sequence).setDigest(slot.digest)
        .setReplicaId(state.id).build();
    SignedMessage mine = outbox.broadcast(ReplicaMessage.newBuilder().setPrepare(prepare).build());
    slot.prepares.put(state.id, new Slot.Vote(slot.view, slot.digest, mine));
    slot.notePrePrepared(slot.view, slot.digest);
  }

  /**
   * A batch holding a request whose MAC this replica could not check (its client sent it a bad
   * authenticator entry, or none; or a faulty primary made the request up) is prepared here only
   * once f other backups sent matching PREPAREs. With the primary's pre-prepare that makes f + 1
   * replicas vouching for the batch, at least one of them correct, and a correct replica
   * prepares a batch only if it authenticated every request in it or saw such a vouch; by
   * induction every request in a prepared batch was authenticated by a correct replica, that is,
   * sent by its client. A faulty primary with its f - 1 faulty accomplices cannot get a request
   * no client sent prepared.
   */
  private void prepareOnceVouched(Slot slot) {
    if (!slot.awaitingVouch || !slot.hasPrePrepare() || slot.view != state.view || state.viewChanging) {
      return;
    }
    if (slot.matching(slot.prepares) < state.f) {
      return;
    }
    slot.awaitingVouch = false;
    awaitingVouch.remove(slot.sequence);
    sendPrepare(slot);
  }

  /** A vote is filed under the replica it names, which (checked first) is the one that signed it. */
  void onPrepare(int sender, Prepare p, SignedMessage signed) {
    if (!rules.voteSignedByVoter(sender, p.getReplicaId())) {
      outbox.reject(Rejection.SENDER_NOT_SIGNER, "prepare names %d, signed by %d", p.getReplicaId(), sender);
      return;
    }
    int voter = p.getReplicaId();
    if (voter == state.primaryOf(p.getView())) {
      outbox.reject(Rejection.PREPARE_FROM_PRIMARY, "sender %d view %d", voter, p.getView());
      return;
    }
    if (!acceptVote("prepare", voter, p.getView(), p.getSequence(), p.getDigest())) {
      return;
    }
    Slot slot = state.slot(p.getSequence());
    if (!recordVote(slot.prepares, Rejection.CONFLICTING_PREPARE, voter, p.getView(), p.getDigest(), signed)) {
      return;
    }
    checkPrepared(slot);
  }

  void onCommit(int sender, Commit c, SignedMessage signed) {
    if (!rules.voteSignedByVoter(sender, c.getReplicaId())) {
      outbox.reject(Rejection.SENDER_NOT_SIGNER, "commit names %d, signed by %d", c.getReplicaId(), sender);
      return;
    }
    int voter = c.getReplicaId();
    if (!acceptVote("commit", voter, c.getView(), c.getSequence(), c.getDigest())) {
      return;
    }
    Slot slot = state.slot(c.getSequence());
    if (!recordVote(slot.commits, Rejection.CONFLICTING_COMMIT, voter, c.getView(), c.getDigest(), signed)) {
      return;
    }
    checkCommitted(slot);
  }

  /**
   * Guards shared by prepares and commits. Votes for a view above ours are kept: they may
   * overtake the NEW-VIEW that opens that view, and each replica holds one vote per slot.
   */
  private boolean acceptVote(String kind, int sender, long v, long s, ByteString digest) {
    if (rules.voteForLeftView(v, state.view)) {
      outbox.reject(Rejection.WRONG_VIEW, "%s from %d v=%d n=%d while in view %d", kind, sender, v, s, state.view);
      return false;
    }
    if (s <= state.lowWatermark && s > 0) {
      return false; // late vote for a sequence number a stable checkpoint already covers: old news
    }
    if (!state.inWindow(s)) {
      outbox.reject(Rejection.OUTSIDE_WINDOW, "%s from %d n=%d window (%d, %d]", kind, sender, s,
          state.lowWatermark, state.highWatermark());
      return false;
    }
    if (digest.size() != Digests.SIZE_BYTES) {
      outbox.reject(Rejection.MALFORMED, "%s from %d has a %d-byte digest", kind, sender, digest.size());
      return false;
    }
    return true;
  }

  private boolean recordVote(Map<Integer, Slot.Vote> votes, Rejection conflict, int sender, long v,
      ByteString digest, SignedMessage signed) {
    Slot.Vote previous = votes.get(sender);
    if (previous != null && previous.view() >= v) {
      if (previous.view() == v && !previous.digest().equals(digest)) {
        outbox.reject(conflict, "replica %d names two digests in view %d", sender, v);
      }
      return false;
    }
    votes.put(sender, new Slot.Vote(v, digest, signed));
    return true;
  }

  /** prepared(m, v, n, i): the pre-prepare plus 2f matching prepares from distinct backups. */
  void checkPrepared(Slot slot) {
    prepareOnceVouched(slot);
    if (slot.prepared || !slot.hasPrePrepare() || !rules.agreesInView(slot.view, state)) {
      return;
    }
    if (rules.countPrepares(slot) < rules.preparesNeeded(state.quorum())) {
      return;
    }
    slot.prepared = true;
    slot.certificate = PreparedCertificate.newBuilder().setPrePrepare(slot.prePrepare)
        .addAllPrepares(slot.matchingPrepares()).build();
    slot.certificateView = slot.view;
    outbox.record(WalRecord.newBuilder().setPrepared(slot.certificate).build());
    if (!slot.commitSent) {
      slot.commitSent = true;
      Commit commit = Commit.newBuilder().setView(slot.view).setSequence(slot.sequence).setDigest(slot.digest)
          .setReplicaId(state.id).build();
      SignedMessage mine = outbox.broadcast(ReplicaMessage.newBuilder().setCommit(commit).build());
      slot.commits.put(state.id, new Slot.Vote(slot.view, slot.digest, mine));
    }
    checkCommitted(slot);
  }

  /** committed-local(m, v, n, i): prepared plus 2f + 1 matching commits from distinct replicas. */
  private void checkCommitted(Slot slot) {
    if (slot.committed || !slot.prepared) {
      return;
    }
    if (slot.matching(slot.commits) < rules.commitsNeeded(state.quorum())) {
      return;
    }
    slot.committed = true; // handed to the executor, in sequence order, by ExecutionOrder
    outbox.milestone(Effects.Milestone.Kind.COMMITTED, slot);
    if (slot.acceptedAtMs >= 0 && !state.viewChanging) {
      state.agreement.sample(state.nowMs - slot.acceptedAtMs);
    }
  }

  /**
   * Retransmission, at each heartbeat. Links lose messages, and a slot whose PREPAREs or COMMITs
   * went missing at enough replicas never commits: no replica holds 2f + 1 commits, so none can
   * send the others a committed certificate, and a replica left behind by it does not suspect the
   * primary (it catches up first), so it may never be re-proposed either. A slot of the current
   * view that was already waiting at the previous heartbeat therefore has this replica's own
   * messages for it sent again: its PREPARE and its COMMIT to every peer and, if this replica is
   * the primary, its PRE-PREPARE to the backups that sent neither a PREPARE nor a COMMIT for it
   * (a batch can be megabytes). Receivers ignore what they already have. Bounded per heartbeat by
   * pipelineDepthMax slots (the oldest first: later slots cannot execute before them).
   *
   * @return the slots whose messages were sent again
   */
  int retransmitWaiting() {
    if (state.viewChanging) {
      return 0;
    }
    int resent = 0;
    for (Slot slot : state.slots.tailMap(state.lowWatermark, false).values()) {
      boolean waiting = slot.hasPrePrepare() && slot.view == state.view && !slot.committed;
      boolean waitedAlready = slot.waitingAtLastHeartbeat;
      slot.waitingAtLastHeartbeat = waiting;
      if (!waiting || !waitedAlready || resent >= state.settings.pipelineDepthMax()) {
        continue;
      }
      if (state.primary() == state.id) {
        // A batch can be megabytes: only to the backups that showed no sign of having it.
        for (int r : state.members) {
          if (r != state.id && !votedFor(slot.prepares.get(r), slot) && !votedFor(slot.commits.get(r), slot)) {
            outbox.resend(r, slot.prePrepare);
          }
        }
      }
      resendOwn(slot.prepares.get(state.id), slot);
      resendOwn(slot.commits.get(state.id), slot);
      resent++;
    }
    return resent;
  }

  private void resendOwn(Slot.Vote vote, Slot slot) {
    if (votedFor(vote, slot)) {
      outbox.resend(Effects.Outgoing.ALL, vote.signed());
    }
  }

  private static boolean votedFor(Slot.Vote vote, Slot slot) {
    return vote != null && vote.view() == slot.view && vote.digest().equals(slot.digest);
  }

  /**
   * Whether a configuration change is pending and the primary has not assigned up to its handover
   * checkpoint: then it proposes batches even when no request waits (empty ones, if need be), so
   * that the change takes effect without waiting for load.
   */
  private boolean fillingToHandover() {
    return state.handoverAt > 0 && state.lastAssigned < state.handoverAt;
  }

  /**
   * Fills the pipeline: while requests wait and fewer than pipelineDepthMax batches are in
   * flight, cut a batch (bounded by count and bytes) and pre-prepare it at the next sequence
   * number inside the window. Requests that arrive while the pipeline is full wait and ride in
   * the next batch together, so batches grow with load without any timer.
   */
  void proposeBatches() {
    while (state.isPrimary() && (!requests.batchQueueEmpty() || fillingToHandover()) && !fetchingState.getAsBoolean()
        && state.lastAssigned - state.lastExecuted < state.settings.pipelineDepthMax()
        && state.lastAssigned + 1 <= state.highWatermark()) {
      List<VerifiedRequest> next = requests.nextBatch(state.settings.batchSizeMax(), state.settings.batchBytesMax());
      if (next.isEmpty() && !fillingToHandover()) {
        continue;
      }
      List<SignedRequest> signed = new ArrayList<>(next.size());
      for (VerifiedRequest r : next) {
        signed.add(r.signed());
      }
      long s = ++state.lastAssigned;
      // The proposed time: this replica's wall clock, never below its previous proposal (a clock
      // stepped back by NTP), and never 0 (the null batch's). Not one more than the previous
      // proposal: at more than a thousand batches a second that would run ahead of the clock
      // until the backups refused it. The executor makes agreed times strictly increasing.
      long timeMs = Math.max(Math.max(state.wallNowMs(), state.lastProposedMs), 1);
      state.lastProposedMs = timeMs;
      // The batch at a handover checkpoint names the view it is proposed in: the next epoch
      // begins there, with this primary (docs/RECONFIGURATION.md).
      long proposedView = s == state.handoverAt ? state.view : 0;
      Batch b = Batch.newBuilder().addAllRequests(signed).setProposedView(proposedView).build();
      ByteString digest = ByteString.copyFrom(Digests.batchDigest(signed, timeMs, proposedView));
      PrePrepare pp = PrePrepare.newBuilder().setView(state.view).setSequence(s).setDigest(digest).setBatch(b)
          .setTimeMs(timeMs).build();
      SignedMessage mine = outbox.broadcast(ReplicaMessage.newBuilder().setPrePrepare(pp).build());
      Slot slot = state.slot(s);
      slot.accept(state.view, digest, b, List.copyOf(next), mine, timeMs);
      slot.notePrePrepared(state.view, digest);
      outbox.milestone(Effects.Milestone.Kind.PRE_PREPARED, slot);
      checkPrepared(slot);
    }
  }
}

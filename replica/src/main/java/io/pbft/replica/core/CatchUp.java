package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Digests;
import io.pbft.crypto.PeerKeys;
import io.pbft.proto.CommittedCertificate;
import io.pbft.proto.Heartbeat;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.verify.Rejection;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Catching up without a state transfer (TOCS 2002, section 5.2): every replica multicasts a
 * periodic HEARTBEAT with its view and progress, and a peer that sees it behind sends what it
 * lacks: the NEW-VIEW of its view, the proof of its stable checkpoint, and committed certificates
 * (a signed pre-prepare with 2f + 1 matching commits) for the batches it executed since.
 */
final class CatchUp {
  private final ReplicaState state;
  private final Outbox outbox;
  private final int batchesPerAnswerMax;
  private final Rules rules;
  /**
   * When each peer's heartbeat was last answered with catch-up material. A correct replica sends
   * one heartbeat per viewChangeTimeoutMs, so answering at most one per half of that costs it
   * nothing, while a faulty peer (or a replayed heartbeat) cannot make this replica send its
   * log again and again.
   */
  private final long[] answeredMs;
  /** The last executed sequence number each peer's latest heartbeat reported. */
  private final long[] peerExecuted;

  /** The clients this replica suspects first-hand, for its heartbeats. */
  private final Supplier<List<Integer>> suspectedClients;

  CatchUp(ReplicaState state, Outbox outbox, int batchesPerAnswerMax, Rules rules,
      Supplier<List<Integer>> suspectedClients) {
    this.state = state;
    this.suspectedClients = suspectedClients;
    this.outbox = outbox;
    this.batchesPerAnswerMax = batchesPerAnswerMax;
    this.rules = rules;
    this.answeredMs = new long[state.idBound];
    Arrays.fill(answeredMs, Long.MIN_VALUE / 2);
    this.peerExecuted = new long[state.idBound];
  }

  /**
   * Whether f + 1 peers (so at least one correct one) reported executing more than a pipeline
   * beyond this replica: then the requests it waits for may have run already, and it catches up
   * before it suspects anybody.
   */
  boolean behindPeers() {
    long slack = state.settings.pipelineDepthMax();
    int ahead = 0;
    for (int r : state.members) {
      if (r != state.id && peerExecuted[r] > state.lastExecuted + slack) {
        ahead++;
      }
    }
    return ahead >= state.weakQuorum();
  }

  /** Multicasts this replica's HEARTBEAT. */
  void heartbeat() {
    outbox.broadcast(heartbeatMessage());
  }

  /** Sends this replica's HEARTBEAT to {@code peer} alone, now. */
  void heartbeatTo(int peer) {
    outbox.send(peer, heartbeatMessage());
  }

  /** This replica's HEARTBEAT, with its pair-key announcement under {@code authentication: macs}. */
  private ReplicaMessage heartbeatMessage() {
    Heartbeat.Builder hb = Heartbeat.newBuilder().setView(state.view).setViewChanging(state.viewChanging)
        .setLastExecuted(state.lastExecuted).setLowWatermark(state.lowWatermark).setReplicaId(state.id)
        .addAllSuspectedClients(suspectedClients.get());
    PeerKeys keys = outbox.peerKeys();
    if (keys != null) {
      hb.setPeerKey(keys.publicKey()).setPeerKeyIncarnation(keys.incarnation()).addAllPeerKeyIdsHeld(keys.heldKeyIds());
    }
    return ReplicaMessage.newBuilder().setHeartbeat(hb).build();
  }

  /**
   * A peer's periodic status. If it is behind, send what it lacks: the NEW-VIEW of our view, the
   * proof of our stable checkpoint, and certificates of the batches committed after it. Returns
   * false if the heartbeat was refused (a sender that is not its signer, too many entries).
   */
  boolean onHeartbeat(int sender, Heartbeat hb) {
    if (hb.getReplicaId() != sender) {
      outbox.reject(Rejection.SENDER_NOT_SIGNER, "heartbeat names %d, signed by %d", hb.getReplicaId(), sender);
      return false;
    }
    if (hb.getPeerKeyIdsHeldCount() > state.idBound) {
      outbox.reject(Rejection.TOO_MANY_ENTRIES, "heartbeat of %d names %d held pair keys for %d replicas", sender,
          hb.getPeerKeyIdsHeldCount(), state.idBound);
      return false;
    }
    if (hb.getSuspectedClientsCount() > Requests.REPORTED_SUSPICIONS_MAX) {
      outbox.reject(Rejection.TOO_MANY_ENTRIES, "heartbeat of %d names %d suspected clients (at most %d)", sender,
          hb.getSuspectedClientsCount(), Requests.REPORTED_SUSPICIONS_MAX);
      return false;
    }
    peerExecuted[sender] = hb.getLastExecuted();
    PeerKeys keys = outbox.peerKeys();
    if (keys != null && !hb.getPeerKey().isEmpty()) {
      boolean learned = keys.learn(sender, hb.getPeerKey(), hb.getPeerKeyIncarnation());
      if (hb.getPeerKeyIdsHeldCount() > state.id) {
        keys.confirm(sender, hb.getPeerKeyIdsHeld(state.id));
      }
      if (learned) {
        // A new pair key (the peer started or restarted): answer with ours, and the id we now
        // hold for it, at once, so that both ends MAC from now on instead of after heartbeats.
        outbox.send(sender, heartbeatMessage());
      }
    }
    boolean behindInViews = hb.getView() < state.view || (hb.getView() == state.view && hb.getViewChanging());
    boolean sendNewView = !state.viewChanging && behindInViews && state.lastNewView != null;
    boolean sendLog = hb.getLastExecuted() < state.lastExecuted;
    boolean sendProof = hb.getLowWatermark() < state.lowWatermark && !state.stableProof.isEmpty();
    if (!sendNewView && !sendLog && !sendProof) {
      return true;
    }
    if (state.nowMs - answeredMs[sender] < state.settings.viewChangeTimeoutMs() / 2) {
      return true; // answered recently; not bad input (delays can bunch a correct peer's heartbeats)
    }
    answeredMs[sender] = state.nowMs;
    if (sendNewView) {
      outbox.resend(sender, state.lastNewView);
    }
    if (sendProof) {
      // Its window did not move with ours (CHECKPOINTs lost): the proof moves it.
      Checkpoints.sendStableProof(state, outbox, sender);
    }
    if (!sendLog) {
      return true;
    }
    int sent = 0;
    long bytes = 0;
    long bytesMax = 2L * state.settings.batchBytesMax();
    for (Slot slot : state.slots.tailMap(Math.max(hb.getLastExecuted(), state.lowWatermark), false).values()) {
      if (sent >= batchesPerAnswerMax || bytes >= bytesMax || slot.sequence > state.lastExecuted) {
        break;
      }
      if (slot.committed && slot.prePrepare != null) {
        // The proof if this replica holds one (2f + 1 signed commits); otherwise its own claim that
        // it committed the batch (its commits were MAC-authenticated, or it recovered the batch
        // from its log after a restart), which the peer counts with f others.
        CommittedCertificate.Builder cert = CommittedCertificate.newBuilder().setPrePrepare(slot.prePrepare);
        List<SignedMessage> commits = slot.matchingSignedCommits();
        if (commits.size() >= state.quorum()) {
          cert.addAllCommits(commits);
        } else {
          resendOwnVotes(sender, slot);
        }
        ReplicaMessage message = ReplicaMessage.newBuilder().setCommitted(cert).build();
        outbox.send(sender, message);
        sent++;
        bytes += message.getSerializedSize();
      }
    }
    return true;
  }

  /**
   * With a claim and no proof, this replica's own PREPARE and COMMIT for {@code slot} again, if
   * cast in the current view: a peer that pre-prepared the batch may lack only those to prepare
   * and commit it itself. A claim counts only with f others, and the others may not have the
   * batch any more (a silent replica, or peers that lost it to a checkpoint). Simulator seed 7195
   * (MACs, a silent backup, 4 % loss) left two replicas prepared at n=112 with two of three
   * COMMITs, waiting for good, while the third replica, which had lost its COMMIT to both, only
   * claimed the batch; seed 20776 (MACs, a backup silent to some) left the primary one PREPARE
   * short at n=121, the PREPARE lost from the one replica that committed. The PREPARE goes only
   * under MAC authentication, where claims are the normal answer: with signatures a replica that
   * committed holds 2f + 1 signed COMMITs and sends the proof, which needs no PREPARE, and it
   * claims only after a restart or a catch-up of its own. A replica sends its messages again on
   * its own only while the slot waits at it (see NormalCase.retransmitWaiting).
   */
  private void resendOwnVotes(int peer, Slot slot) {
    Slot.Vote prepare = outbox.peerKeys() != null ? slot.prepares.get(state.id) : null;
    for (Slot.Vote own : new Slot.Vote[] {prepare, slot.commits.get(state.id)}) {
      if (own != null && own.view() == state.view && own.digest().equals(slot.digest)) {
        outbox.resend(peer, own.signed());
      }
    }
  }

  /**
   * A batch proven committed by a signed pre-prepare and 2f + 1 matching commits, or claimed
   * committed by its sender (a certificate without commits): run it once proven, or once f + 1
   * distinct replicas claimed the same batch (so at least one correct replica committed it).
   */
  void onCommittedCertificate(int sender, CommittedCertificate cert) {
    PrePrepare pp;
    ByteString digest;
    List<VerifiedRequest> requests;
    boolean claim = cert.getCommitsCount() == 0;
    try {
      ReplicaMessage body = ViewChangeRules.parse(cert.getPrePrepare());
      if (!body.hasPrePrepare() || cert.getPrePrepare().getSender() != state.primaryOf(body.getPrePrepare().getView())) {
        throw new ViewChangeRules.Invalid("pre-prepare not from the primary of its view");
      }
      pp = body.getPrePrepare();
      digest = ViewChangeRules.digestOf(pp);
      if (!digest.equals(pp.getDigest())) {
        throw new ViewChangeRules.Invalid("pre-prepare digest does not match its batch");
      }
      Set<Integer> signers = new HashSet<>();
      for (SignedMessage m : cert.getCommitsList()) {
        ReplicaMessage c = ViewChangeRules.parse(m);
        if (!c.hasCommit() || c.getCommit().getReplicaId() != m.getSender() || c.getCommit().getView() != pp.getView()
            || c.getCommit().getSequence() != pp.getSequence() || !c.getCommit().getDigest().equals(digest)) {
          throw new ViewChangeRules.Invalid("commit does not match the pre-prepare");
        }
        signers.add(m.getSender());
      }
      if (!claim && signers.size() < rules.committedCertificateCommitsNeeded(state.quorum())) {
        throw new ViewChangeRules.Invalid(signers.size() + " distinct commits, needs a quorum of " + state.quorum());
      }
      requests = ViewChangeRules.requestsOf(pp.getBatch());
    } catch (ViewChangeRules.Invalid e) {
      outbox.reject(Rejection.INVALID_COMMITTED_CERTIFICATE, "from %d: %s", sender, e.getMessage());
      return;
    }
    long s = pp.getSequence();
    if (s <= state.lastHandedOut || s <= state.lowWatermark || s > state.highWatermark()) {
      return; // nothing to do with it
    }
    Slot slot = state.slot(s);
    if (claim && !slot.committed) {
      slot.committedClaims.put(sender, new Slot.Claim(digest, cert.getPrePrepare()));
      int matching = 0;
      for (Slot.Claim c : slot.committedClaims.values()) {
        if (c.digest().equals(digest)) {
          matching++;
        }
      }
      if (matching < rules.committedClaimsNeeded(state.f)) {
        return; // not yet vouched for by a correct replica
      }
    }
    if (slot.committed && !slot.digest.equals(digest)) {
      throw new InvariantViolation("two different batches committed at " + s);
    }
    if (slot.committed) {
      return;
    }
    if (slot.hasPrePrepare() && slot.view == pp.getView() && !slot.digest.equals(digest)) {
      // An equivocating primary gave this replica another batch for the same (view, sequence);
      // 2f + 1 commits (or f + 1 replicas' claims) show which one the group committed.
      slot.forgetPrePrepare();
    }
    slot.accept(pp.getView(), digest, pp.getBatch(), requests, cert.getPrePrepare(), pp.getTimeMs());
    for (SignedMessage m : cert.getCommitsList()) {
      // Keep the proof, so that this replica can relay the certificate in turn.
      slot.commits.put(m.getSender(), new Slot.Vote(pp.getView(), digest, m));
    }
    slot.prepared = true;
    slot.committed = true;
    slot.commitSent = true;
    slot.committedClaims.clear();
    outbox.milestone(Effects.Milestone.Kind.COMMITTED, slot);
  }
}

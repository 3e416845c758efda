package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.List;

/**
 * The quorum and certificate rules of the paper, in one place. A replica always runs
 * {@link #PAPER}. The class is package-private and not final so that the chaos harness's tests,
 * compiled into this package, can plant deliberate bugs by overriding one rule and check that the
 * checkers catch them; nothing in the shipped code can.
 */
class Rules {
  static final Rules PAPER = new Rules();

  /**
   * prepared(m, v, n, i) needs this many matching PREPAREs from distinct backups: a quorum less
   * the primary, whose pre-prepare counts as its vote (2f when n = 3f + 1).
   */
  int preparesNeeded(int quorum) {
    return quorum - 1;
  }

  /**
   * committed-local(m, v, n, i) needs this many matching COMMITs from distinct replicas: a quorum
   * (2f + 1 when n = 3f + 1).
   */
  int commitsNeeded(int quorum) {
    return quorum;
  }

  /**
   * A committed certificate (a pre-prepare and COMMITs, which a replica that missed a batch may
   * run without preparing it itself) proves the batch committed only with this many COMMITs from
   * distinct replicas: 2f + 1, of which f + 1 correct replicas prepared it, so every view change
   * quorum reports it.
   */
  int committedCertificateCommitsNeeded(int quorum) {
    return quorum;
  }

  /**
   * Without such a proof (COMMITs authenticated by MACs prove nothing to a third party), a
   * replica that missed a batch runs it once this many distinct replicas claimed they committed
   * it: f + 1, so that at least one of them is correct and really did.
   */
  int committedClaimsNeeded(int f) {
    return f + 1;
  }

  /**
   * A checkpoint this replica took is stable once this many CHECKPOINTs from distinct replicas
   * match its digest (section 4.3): 2f + 1, so that its proof convinces anyone.
   */
  int checkpointVotesNeeded(int quorum) {
    return quorum;
  }

  /** The PREPAREs that count towards prepared: those matching the pre-prepare's view and digest. */
  int countPrepares(Slot slot) {
    return slot.matching(slot.prepares);
  }

  /**
   * A PREPARE or COMMIT counts as the vote of the replica it names only if that replica signed it:
   * votes are filed one per replica, and a replica's vote must not fill another's place too.
   */
  boolean voteSignedByVoter(int signer, int named) {
    return named == signer;
  }

  /**
   * A backup prepares a batch at once only if it authenticated every request in it itself: by its
   * authenticator entry, or because the client sent it this very request; otherwise its PREPARE
   * waits for f other backups to vouch for the batch.
   */
  boolean requestAuthenticatedHere(VerifiedRequest r, Requests requests) {
    return r.authenticated() || requests.heldFromClient(r);
  }

  /**
   * Whether a request in a pre-prepare is the very request its client sent this replica (whose MAC
   * this replica checked on arrival): the same bytes, client id, timestamp and operation alike. Not
   * the same (client id, timestamp) only, which is how the client table knows a request: a faulty
   * primary can put another operation under the id and timestamp of a request the client sent.
   */
  boolean sameRequest(VerifiedRequest fromClient, VerifiedRequest proposed) {
    return fromClient.signed().getRequest().equals(proposed.signed().getRequest());
  }

  /**
   * How many backups must have relayed a client's request before this replica, as primary, orders
   * it (MAC authentication; 0: at once). f + 1 if it could not authenticate the request itself
   * (its own entry does not check): at least one of them is correct and checked its own. f if it
   * could, but suspects the client of authenticators that check at some replicas only: with its
   * own check that makes f + 1 replicas, enough for a batch holding it to prepare at correct
   * backups that cannot check theirs, so the client cannot stall one batch per view. None
   * otherwise.
   */
  int relaysNeeded(int f, boolean authenticatedHere, boolean clientSuspected) {
    if (!authenticatedHere) {
      return f + 1;
    }
    return clientSuspected ? f : 0;
  }

  /**
   * PREPAREs and COMMITs for a view below this replica's are refused: it left that view, and sent
   * a VIEW-CHANGE reporting what it had prepared there (section 4.4).
   */
  boolean voteForLeftView(long voteView, long currentView) {
    return voteView < currentView;
  }

  /**
   * A slot prepares (and this replica sends its COMMIT) only in the view this replica is in, and
   * not while it changes views: its VIEW-CHANGE stays the whole of what it prepared before leaving.
   */
  boolean agreesInView(long slotView, ReplicaState state) {
    return slotView == state.view && !state.viewChanging;
  }

  /** A pre-prepare is accepted only from the primary of its view. */
  boolean prePrepareSenderValid(int sender, int primaryOfView) {
    return sender == primaryOfView;
  }

  /**
   * A backup accepts a pre-prepare only if the time it proposes is positive and within
   * {@code skewMs} of its own clock, either way (how PBFT agrees on non-deterministic values: the
   * primary proposes, backups check). The executor keeps agreed times strictly increasing on its
   * own, so this bounds how far the agreed time can be pushed from correct replicas' clocks. The
   * past side widens by {@code stalledSinceMs}, the time this replica itself did not run since the
   * proposed time ({@link Stalls}): a proposal that waited in its sockets while it was paused is
   * old through no fault of the primary.
   */
  boolean proposedTimeAcceptable(long proposedMs, long nowMs, int skewMs, long stalledSinceMs) {
    return proposedMs > 0 && proposedMs >= nowMs - skewMs - stalledSinceMs && proposedMs <= nowMs + skewMs;
  }

  /**
   * A proposed time must not go back: not earlier than {@code beforeMs}, the time of the batch just
   * below it, nor later than {@code afterMs}, the batch just above it, when this backup holds those
   * batches from the same view (0: none held, or a null batch). Equal is allowed: times are in
   * milliseconds and a primary may order more than one batch per millisecond; the executor makes
   * the agreed times strictly increasing. Across views nothing is compared: a new primary whose
   * clock lags the old one's must not be refused for it.
   */
  boolean proposedTimeInOrder(long proposedMs, long beforeMs, long afterMs) {
    return (beforeMs == 0 || proposedMs >= beforeMs) && (afterMs == 0 || proposedMs <= afterMs);
  }

  /** A NEW-VIEW is accepted only from the primary of the view it opens (section 4.4). */
  boolean newViewSenderValid(int sender, int primaryOfView) {
    return sender == primaryOfView;
  }

  /**
   * A backup that accepted a pre-prepare for (view, sequence) accepts no other for them (section
   * 4.2): true when {@code slot} already holds one for {@code view}, whatever its {@code digest}
   * (a different one is refused, the same one is a duplicate).
   */
  boolean prePrepareAlreadyAccepted(Slot slot, long view, ByteString digest) {
    return slot.hasPrePrepare() && slot.view == view;
  }

  /**
   * A VIEW-CHANGE's prepared certificate counts only once checked (section 4.4): a pre-prepare of
   * the primary of its view plus 2f matching prepares of distinct backups.
   */
  ViewChangeRules.Prepared checkedCertificate(ViewChangeRules certificates, PreparedCertificate cert, long newView)
      throws ViewChangeRules.Invalid {
    return certificates.checkCertificate(cert, newView);
  }

  /**
   * A VIEW-CHANGE's stable checkpoint counts only with its proof (section 4.4): 2f + 1 CHECKPOINTs
   * from distinct replicas for its sequence number and digest.
   */
  void checkedCheckpointProof(ViewChangeRules certificates, long sequence, ByteString digest, List<SignedMessage> proof)
      throws ViewChangeRules.Invalid {
    certificates.checkCheckpointProof(sequence, digest, proof);
  }

  /**
   * Computing a NEW-VIEW, a sequence number gets the batch of the certificate from the highest
   * view among the VIEW-CHANGEs (section 4.4): true when {@code candidate} outranks {@code best}.
   */
  boolean certificateOutranks(ViewChangeRules.Prepared candidate, ViewChangeRules.Prepared best) {
    return candidate.view() > best.view();
  }

  /**
   * The MAC view change (TOCS 2002, section 4.5, rule A2) chooses a batch claimed prepared in view
   * v only if this many VIEW-CHANGEs say their sender pre-prepared it in v or later: f + 1, so that
   * a correct replica did, which it does in a view above the one where a batch committed only for
   * that batch.
   */
  int prePreparedBackingNeeded(int f) {
    return f + 1;
  }

  /**
   * The pre-prepares a backup installs from a NEW-VIEW: those it recomputed from the VIEW-CHANGEs
   * (it refuses a NEW-VIEW whose own list differs).
   */
  ViewChangeRules.Plan newViewPlan(ViewChangeRules.Plan recomputed, List<SignedMessage> given,
      ViewChangeRules rules) {
    return recomputed;
  }
}

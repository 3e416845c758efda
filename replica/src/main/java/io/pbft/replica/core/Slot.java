package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.proto.Batch;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything one replica knows about one sequence number in its log: the accepted pre-prepare,
 * the prepare and commit votes seen, and how far the batch got (OSDI 1999, section 4.2:
 * pre-prepared, prepared, committed-local, executed).
 */
final class Slot {
  /** A vote (prepare or commit) of one replica, kept with its signed form for proofs. */
  record Vote(long view, ByteString digest, SignedMessage signed) {}

  final long sequence;

  // The accepted pre-prepare, if any.
  long view = -1;
  ByteString digest;
  Batch batch;
  /** The batch's requests, parsed and checked once. */
  List<VerifiedRequest> requests;
  SignedMessage prePrepare;
  /** The time the pre-prepare proposed (0 for a null batch); the digest covers it. */
  long timeMs;

  final Map<Integer, Vote> prepares = new HashMap<>();
  final Map<Integer, Vote> commits = new HashMap<>();
  /**
   * Peers' claims that they committed a batch at this sequence number (catch-up without a
   * transferable proof): the digest each claimed, with the signed pre-prepare it sent. One per
   * peer, the latest.
   */
  final Map<Integer, Claim> committedClaims = new HashMap<>();

  /**
   * This slot's part of the set Q of the MAC view change (TOCS 2002, section 4.5): each batch
   * this replica pre-prepared here (sent its PREPARE for, or proposed as primary), with the latest
   * view in which it did; survives view changes. At most {@link #PRE_PREPARED_KEPT}, the newest.
   */
  final List<PrePrepared> prePrepared = new ArrayList<>(1);

  /** How many batches {@link #prePrepared} remembers per sequence number. */
  static final int PRE_PREPARED_KEPT = io.pbft.replica.verify.InboundVerifier.PRE_PREPARED_PER_SEQUENCE_MAX;

  /** Proof of the highest-view prepare at this replica; survives view changes (section 4.4). */
  PreparedCertificate certificate;
  long certificateView = -1;

  /** When this backup accepted the pre-prepare (for the agreement latency), or -1. */
  long acceptedAtMs = -1;
  /**
   * The last heartbeat found this slot waiting in the current view (pre-prepared here, not
   * committed): still waiting at the next one, its messages are sent again.
   */
  boolean waitingAtLastHeartbeat;
  boolean commitSent;
  /**
   * Accepted, but holding a request this replica could not authenticate: its PREPARE waits for f
   * matching ones from other backups (see NormalCase#prepareOnceVouched).
   */
  boolean awaitingVouch;
  boolean prepared;
  boolean committed;
  /** Handed to the executor (its result may still be on the way). */
  boolean handedOut;
  /**
   * The digest of the batch handed out. A later view may install and agree on this sequence
   * number again (a view change re-proposes what prepared), but never on another batch.
   */
  ByteString executedDigest;

  Slot(long sequence) {
    this.sequence = sequence;
  }

  /**
   * Installs a pre-prepare for (a new) view, forgetting progress made in an older view. Accepting
   * a second, different pre-prepare for the same view is a broken invariant: callers check for it
   * as bad input first.
   */
  void accept(long view, ByteString digest, Batch batch, List<VerifiedRequest> requests, SignedMessage prePrepare,
      long timeMs) {
    if (this.view == view && this.digest != null && !this.digest.equals(digest)) {
      throw new InvariantViolation("two different pre-prepares accepted for view " + view + ", sequence " + sequence);
    }
    this.view = view;
    this.digest = digest;
    this.batch = batch;
    this.requests = requests;
    this.prePrepare = prePrepare;
    this.timeMs = timeMs;
    this.acceptedAtMs = -1;
    this.waitingAtLastHeartbeat = false;
    this.awaitingVouch = false;
    this.commitSent = false;
    this.prepared = false;
    this.committed = false;
  }

  /** Drops an old view's pre-prepare that the new view did not carry over. */
  void forgetPrePrepare() {
    view = -1;
    digest = null;
    batch = null;
    requests = null;
    prePrepare = null;
    timeMs = 0;
    acceptedAtMs = -1;
    waitingAtLastHeartbeat = false;
    awaitingVouch = false;
    commitSent = false;
    prepared = false;
    committed = false;
  }

  /** The prepares matching the accepted pre-prepare's (view, digest), as signed messages. */
  List<SignedMessage> matchingPrepares() {
    List<SignedMessage> out = new ArrayList<>();
    for (Vote v : prepares.values()) {
      if (v.view() == view && v.digest().equals(digest)) {
        out.add(v.signed());
      }
    }
    return out;
  }

  /**
   * The signed commits matching the accepted pre-prepare's (view, digest): those that can prove to
   * a third party that the batch committed (a COMMIT authenticated by MACs cannot).
   */
  List<SignedMessage> matchingSignedCommits() {
    List<SignedMessage> out = new ArrayList<>();
    for (Vote v : commits.values()) {
      if (v.view() == view && v.digest().equals(digest) && !v.signed().getSignature().isEmpty()) {
        out.add(v.signed());
      }
    }
    return out;
  }

  boolean hasPrePrepare() {
    return batch != null;
  }

  /** Votes from distinct replicas for the accepted pre-prepare's (view, digest). */
  int matching(Map<Integer, Vote> votes) {
    if (!hasPrePrepare()) {
      return 0;
    }
    int count = 0;
    for (Vote v : votes.values()) {
      if (v.view() == view && v.digest().equals(digest)) {
        count++;
      }
    }
    return count;
  }

  /** This replica pre-prepared {@code digest} here in {@code view}: remembered in {@link #prePrepared}. */
  void notePrePrepared(long view, ByteString digest) {
    for (int i = 0; i < prePrepared.size(); i++) {
      PrePrepared q = prePrepared.get(i);
      if (q.digest().equals(digest)) {
        if (q.view() < view) {
          prePrepared.set(i, new PrePrepared(view, digest));
        }
        return;
      }
    }
    if (prePrepared.size() == PRE_PREPARED_KEPT) {
      int oldest = 0;
      for (int i = 1; i < prePrepared.size(); i++) {
        if (prePrepared.get(i).view() < prePrepared.get(oldest).view()) {
          oldest = i;
        }
      }
      prePrepared.remove(oldest);
    }
    prePrepared.add(new PrePrepared(view, digest));
  }

  /** An entry of {@link #prePrepared}. */
  record PrePrepared(long view, ByteString digest) {}

  /** A peer's claim that it committed {@code digest} here, with the pre-prepare that carries it. */
  record Claim(ByteString digest, SignedMessage prePrepare) {}
}

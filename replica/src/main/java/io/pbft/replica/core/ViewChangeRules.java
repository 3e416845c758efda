package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.proto.Batch;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.PrePrepared;
import io.pbft.proto.Prepare;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.verify.VerifiedRequest;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The certificate logic of view changes (OSDI 1999, section 4.4), as pure functions: is a
 * VIEW-CHANGE well formed and proven, and which pre-prepares must the new view start with.
 * Signatures of the embedded messages were checked by the inbound verifier; what is checked here
 * is what they say: quorums, senders, views, sequence numbers and digests.
 */
final class ViewChangeRules {
  /** A request batch proven prepared at {@code sequence} in {@code view}, its requests parsed. */
  record Prepared(long view, long sequence, ByteString digest, Batch batch, List<VerifiedRequest> requests,
      long timeMs) {}

  /**
   * A VIEW-CHANGE that passed every check, with its certificates decoded: its set P ({@code
   * prepared}) and, under MAC authentication, its set Q ({@code prePrepared}, per sequence number).
   */
  record Checked(int sender, ViewChange message, SignedMessage signed, Map<Long, Prepared> prepared,
      Map<Long, List<Slot.PrePrepared>> prePrepared) {}

  /**
   * One pre-prepare the new view must start with; an empty batch is the null request. A batch
   * carried over keeps the time of the certificate it comes from (the digest covers it, and
   * correct replicas checked it against their clocks when it prepared); the null request has
   * time 0, which the executor turns into the previous batch's time plus one.
   */
  record Planned(long sequence, ByteString digest, Batch batch, List<VerifiedRequest> requests, long timeMs) {}

  /** The new view's starting point: its stable checkpoint and the pre-prepares above it. */
  record Plan(long stableSequence, ByteString stableDigest, List<SignedMessage> checkpointProof,
      List<Planned> prePrepares) {}

  /** Thrown (and caught by the core) when a certificate does not prove what it claims. */
  static final class Invalid extends Exception {
    Invalid(String reason) {
      super(reason, null, false, false);
    }
  }

  static final ByteString NULL_DIGEST = ByteString.copyFrom(Digests.batchDigestOf(List.of()));

  /**
   * The digest a pre-prepare must name: over its batch's requests and its proposed time (and at a
   * handover checkpoint the view it was proposed in, {@code Batch.proposed_view}).
   */
  static ByteString digestOf(PrePrepare pp) {
    return ByteString.copyFrom(Digests.batchDigest(pp.getBatch().getRequestsList(), pp.getTimeMs(),
        pp.getBatch().getProposedView()));
  }

  private final int n;
  /** The members' ids in the epoch's order: the primary of view v is {@code members[v mod n]}. */
  private final int[] members;
  private final int f;
  /** A quorum of this group ({@link io.pbft.config.Quorums}): 2f + 1 when n = 3f + 1. */
  private final int quorum;
  private final long windowSize;
  private final Rules rules;
  /**
   * Under {@code authentication: macs} PREPAREs carry MACs and a VIEW-CHANGE's prepared
   * certificate is its sender's claim (its signed pre-prepare, without 2f signed prepares): the
   * new view is computed by the MAC view change's rules ({@link #planByClaims}).
   */
  private boolean claims;
  /** The checkpoint the epoch began at, which needs no proof, and its digest (0 and none in epoch 0). */
  private long genesis;
  private ByteString genesisDigest;

  ViewChangeRules(int n, int f, long windowSize, Rules rules) {
    this(ReplicaState.firstIds(n), f, windowSize, rules);
  }

  /** For an epoch whose members have ids {@code members}, in the epoch's order. */
  ViewChangeRules(int[] members, int f, long windowSize, Rules rules) {
    int n = members.length;
    this.members = members.clone();
    this.n = n;
    this.f = f;
    this.quorum = io.pbft.config.Quorums.of(n, f);
    this.windowSize = windowSize;
    this.rules = rules;
  }

  /** Prepared certificates are claims from now on ({@code authentication: macs}); call before the first event. */
  void useMacs() {
    claims = true;
  }

  boolean claims() {
    return claims;
  }

  /** The epoch began at checkpoint {@code sequence} with state {@code digest}; call before the first event. */
  void genesis(long sequence, ByteString digest) {
    genesis = sequence;
    genesisDigest = digest;
  }

  /** The state digest where the epoch began (empty in epoch 0, or while a restart has not read it back). */
  ByteString genesisDigest() {
    return genesisDigest == null ? ByteString.EMPTY : genesisDigest;
  }

  private int primaryOf(long view) {
    return members[(int) Long.remainderUnsigned(view, n)];
  }

  /**
   * The requests of a batch that a quorum certificate vouches for (2f prepares or 2f + 1 commits,
   * so at least one correct replica checked each client signature): parsed, not verified again.
   */
  static List<VerifiedRequest> requestsOf(Batch batch) throws Invalid {
    List<VerifiedRequest> out = new ArrayList<>(batch.getRequestsCount());
    for (SignedRequest r : batch.getRequestsList()) {
      try {
        out.add(new VerifiedRequest(r, Request.parseFrom(r.getRequest())));
      } catch (InvalidProtocolBufferException e) {
        throw new Invalid("certified batch holds a request that does not parse");
      }
    }
    return List.copyOf(out);
  }

  static ReplicaMessage parse(SignedMessage m) throws Invalid {
    try {
      return ReplicaMessage.parseFrom(m.getPayload());
    } catch (InvalidProtocolBufferException e) {
      throw new Invalid("embedded message does not parse");
    }
  }

  /** Checks a VIEW-CHANGE from {@code sender}; throws with the reason it is not acceptable. */
  Checked check(int sender, ViewChange vc, SignedMessage signed) throws Invalid {
    if (vc.getReplicaId() != sender) {
      throw new Invalid("view-change names replica " + vc.getReplicaId() + " but is signed by " + sender);
    }
    checkEvidence(vc.getNewView(), vc.getComplaintsList());
    long stable = vc.getStableSequence();
    rules.checkedCheckpointProof(this, stable, vc.getStableDigest(), vc.getCheckpointProofList());
    Map<Long, Prepared> prepared = new TreeMap<>();
    for (PreparedCertificate cert : vc.getPreparedList()) {
      Prepared p = rules.checkedCertificate(this, cert, vc.getNewView());
      if (p.sequence() <= stable || p.sequence() > stable + windowSize) {
        throw new Invalid("prepared certificate for n=" + p.sequence() + " outside (" + stable + ", "
            + (stable + windowSize) + "]");
      }
      if (prepared.put(p.sequence(), p) != null) {
        throw new Invalid("two prepared certificates for n=" + p.sequence());
      }
    }
    Map<Long, List<Slot.PrePrepared>> prePrepared = new TreeMap<>();
    for (PrePrepared q : vc.getPrePreparedList()) {
      long s = q.getSequence();
      if (s <= stable || s > stable + windowSize) {
        throw new Invalid("pre-prepared entry for n=" + s + " outside (" + stable + ", " + (stable + windowSize) + "]");
      }
      if (q.getView() >= vc.getNewView() || q.getDigest().size() != Digests.SIZE_BYTES) {
        throw new Invalid("pre-prepared entry for n=" + s + " names view " + q.getView() + " or a malformed digest");
      }
      List<Slot.PrePrepared> entries = prePrepared.computeIfAbsent(s, k -> new ArrayList<>(1));
      for (Slot.PrePrepared e : entries) {
        if (e.digest().equals(q.getDigest())) {
          throw new Invalid("two pre-prepared entries for n=" + s + " and one digest");
        }
      }
      if (entries.size() == Slot.PRE_PREPARED_KEPT) {
        throw new Invalid("more than " + Slot.PRE_PREPARED_KEPT + " pre-prepared entries for n=" + s);
      }
      entries.add(new Slot.PrePrepared(q.getView(), q.getDigest()));
    }
    return new Checked(sender, vc, signed, prepared, prePrepared);
  }

  /**
   * Why the sender left view {@code newView - 1}: f + 1 signed COMPLAINTs about that view from
   * distinct replicas, so at least one correct replica suspected its primary.
   */
  void checkEvidence(long newView, List<SignedMessage> complaints) throws Invalid {
    if (newView < 1) {
      throw new Invalid("view-change to view " + newView);
    }
    Set<Integer> signers = new HashSet<>();
    for (SignedMessage m : complaints) {
      ReplicaMessage body = parse(m);
      if (!body.hasComplaint() || body.getComplaint().getReplicaId() != m.getSender()
          || body.getComplaint().getView() != newView - 1) {
        throw new Invalid("evidence holds something other than a complaint about view " + (newView - 1));
      }
      signers.add(m.getSender());
    }
    if (signers.size() < f + 1) {
      throw new Invalid("evidence has " + signers.size() + " distinct complaints about view " + (newView - 1)
          + ", needs f+1 = " + (f + 1));
    }
  }

  /** 2f + 1 signed CHECKPOINTs from distinct replicas for (sequence, digest); none where the epoch began. */
  void checkCheckpointProof(long sequence, ByteString digest, List<SignedMessage> proof) throws Invalid {
    if (sequence < genesis) {
      throw new Invalid("stable checkpoint " + sequence + " is before the epoch began at " + genesis);
    }
    if (sequence == genesis) {
      if (genesis > 0 && !digest.equals(genesisDigest)) {
        throw new Invalid("stable checkpoint " + sequence + " is where the epoch began, with another digest");
      }
      return; // the initial state, or the state the epoch began with, needs no proof in it
    }
    if (digest.size() != Digests.SIZE_BYTES) {
      throw new Invalid("stable checkpoint digest is malformed");
    }
    Set<Integer> signers = new HashSet<>();
    for (SignedMessage m : proof) {
      ReplicaMessage body = parse(m);
      if (!body.hasCheckpoint()) {
        throw new Invalid("checkpoint proof holds a " + body.getBodyCase());
      }
      Checkpoint cp = body.getCheckpoint();
      if (cp.getReplicaId() != m.getSender() || cp.getSequence() != sequence || !cp.getStateDigest().equals(digest)) {
        throw new Invalid("checkpoint proof holds a checkpoint for another sequence, digest or signer");
      }
      signers.add(m.getSender());
    }
    if (signers.size() < quorum) {
      throw new Invalid("checkpoint proof has " + signers.size() + " distinct signers, needs a quorum of " + quorum);
    }
  }

  /** A pre-prepare signed by the primary of its view (below newView) plus 2f matching prepares. */
  Prepared checkCertificate(PreparedCertificate cert, long newView) throws Invalid {
    ReplicaMessage ppBody = parse(cert.getPrePrepare());
    if (!ppBody.hasPrePrepare()) {
      throw new Invalid("prepared certificate without a pre-prepare");
    }
    PrePrepare pp = ppBody.getPrePrepare();
    if (pp.getView() >= newView) {
      throw new Invalid("prepared certificate from view " + pp.getView() + " is not below " + newView);
    }
    if (cert.getPrePrepare().getSender() != primaryOf(pp.getView())) {
      throw new Invalid("prepared certificate's pre-prepare is not from the primary of view " + pp.getView());
    }
    ByteString digest = digestOf(pp);
    if (!digest.equals(pp.getDigest())) {
      throw new Invalid("prepared certificate's pre-prepare digest does not match its batch");
    }
    Set<Integer> signers = new HashSet<>();
    for (SignedMessage m : cert.getPreparesList()) {
      ReplicaMessage body = parse(m);
      if (!body.hasPrepare()) {
        throw new Invalid("prepared certificate holds a " + body.getBodyCase() + " among its prepares");
      }
      Prepare p = body.getPrepare();
      if (p.getReplicaId() != m.getSender() || m.getSender() == primaryOf(pp.getView())) {
        throw new Invalid("prepare in certificate from the primary or naming another signer");
      }
      if (p.getView() != pp.getView() || p.getSequence() != pp.getSequence() || !p.getDigest().equals(digest)) {
        throw new Invalid("prepare in certificate does not match its pre-prepare");
      }
      signers.add(m.getSender());
    }
    if (!claims && signers.size() < quorum - 1) {
      throw new Invalid("prepared certificate has " + signers.size() + " distinct prepares, needs "
          + (quorum - 1));
    }
    return new Prepared(pp.getView(), pp.getSequence(), digest, pp.getBatch(), requestsOf(pp.getBatch()),
        pp.getTimeMs());
  }

  /**
   * Computes O from checked VIEW-CHANGE messages (2f + 1 or more): min-s is the highest stable
   * checkpoint among them, max-s the highest prepared sequence number. With signed prepared
   * certificates every n in between gets the batch prepared in the highest view, or the null
   * request if none prepared there. With claims ({@link #useMacs}) the MAC view change decides
   * each n ({@link #decideByClaims}), and the result is null while some n is undecided: the new
   * primary waits for more VIEW-CHANGEs, a backup refuses the NEW-VIEW.
   */
  Plan plan(List<Checked> viewChanges) {
    Checked base = viewChanges.get(0);
    for (Checked c : viewChanges) {
      if (c.message().getStableSequence() > base.message().getStableSequence()) {
        base = c;
      }
    }
    long minS = base.message().getStableSequence();
    long maxS = minS;
    for (Checked c : viewChanges) {
      for (long s : c.prepared().keySet()) {
        maxS = Math.max(maxS, s);
      }
    }
    List<Planned> planned = new ArrayList<>();
    for (long s = minS + 1; s <= maxS; s++) {
      Prepared best = claims ? decideByClaims(s, viewChanges) : highestView(s, viewChanges);
      if (best == UNDECIDED) {
        return null;
      }
      planned.add(best == null
          ? new Planned(s, NULL_DIGEST, Batch.getDefaultInstance(), List.of(), 0)
          : new Planned(s, best.digest(), best.batch(), best.requests(), best.timeMs()));
    }
    return new Plan(minS, base.message().getStableDigest(), base.message().getCheckpointProofList(), planned);
  }

  /** No decision for a sequence number yet (MAC view change): more VIEW-CHANGEs are needed. */
  private static final Prepared UNDECIDED = new Prepared(-1, -1, ByteString.EMPTY, Batch.getDefaultInstance(),
      List.of(), 0);

  /** Section 4.4: the proven certificate of the highest view at {@code s}, or null (the null request). */
  private Prepared highestView(long s, List<Checked> viewChanges) {
    Prepared best = null;
    for (Checked c : viewChanges) {
      Prepared p = c.prepared().get(s);
      if (p != null && (best == null || rules.certificateOutranks(p, best))) {
        best = p;
      }
    }
    return best;
  }

  /**
   * The MAC view change's decision for sequence number {@code s} (TOCS 2002, section 4.5), from
   * claims that cannot be checked, only attributed (each VIEW-CHANGE is signed). A batch d that
   * some VIEW-CHANGE claims prepared in view v is chosen when
   * <ul>
   *   <li>(A1) at least 2f + 1 VIEW-CHANGEs do not contradict it: they claim nothing prepared at
   *       s, or something prepared in a view below v, or d itself in v; and
   *   <li>(A2) at least f + 1 VIEW-CHANGEs say their sender pre-prepared d at s in v or a later
   *       view (set Q, or a claim in P of d from such a view);
   * </ul>
   * the first such candidate in order of {@link Rules#certificateOutranks} (highest view first),
   * ties broken by digest, so that every replica recomputes the same choice. Otherwise the null
   * request is chosen if (B) at least 2f + 1 VIEW-CHANGEs claim nothing prepared at s; otherwise
   * nothing is decided yet.
   *
   * <p>Why this is safe: if d' committed at s in view v', at least f + 1 correct replicas
   * prepared d' in v' (or a later view, and then by induction d' again), and every one of them
   * reports it. A candidate from a view below v' is contradicted by them, leaving at most 2f
   * VIEW-CHANGEs for A1 however many there are; so is a candidate d from v' itself, and B fails
   * the same way. A candidate from a view above v' passes A2 only if a correct replica
   * pre-prepared it in such a view, which it does only for what that view's NEW-VIEW carried,
   * d' by induction. A2 also makes a batch a faulty primary made up unchoosable: a correct
   * replica sends its PREPARE (enters Q) only for batches whose requests it, or f other backups
   * before it, authenticated. Why it is live: the 2f + 1 correct replicas' VIEW-CHANGEs alone
   * decide every s (their highest-view claim is backed by the f + 1 correct replicas that
   * pre-prepared it and contradicted by none of them), and more VIEW-CHANGEs never undo a
   * decision, since every condition counts "at least".
   */
  private Prepared decideByClaims(long s, List<Checked> viewChanges) {
    List<Prepared> candidates = new ArrayList<>();
    int claimingNothing = 0;
    for (Checked c : viewChanges) {
      Prepared p = c.prepared().get(s);
      if (p == null) {
        claimingNothing++;
      } else {
        candidates.add(p);
      }
    }
    candidates.sort((a, b) -> rules.certificateOutranks(a, b) ? -1 : rules.certificateOutranks(b, a) ? 1
        : a.digest().asReadOnlyByteBuffer().compareTo(b.digest().asReadOnlyByteBuffer()));
    for (Prepared candidate : candidates) {
      if (notContradicted(s, candidate, viewChanges) >= quorum
          && prePreparedAtOrAbove(s, candidate, viewChanges) >= rules.prePreparedBackingNeeded(f)) {
        return candidate;
      }
    }
    return claimingNothing >= quorum ? null : UNDECIDED;
  }

  /** A1: the VIEW-CHANGEs whose claim at {@code s} does not contradict {@code candidate}. */
  private static int notContradicted(long s, Prepared candidate, List<Checked> viewChanges) {
    int count = 0;
    for (Checked c : viewChanges) {
      Prepared p = c.prepared().get(s);
      if (p == null || p.view() < candidate.view()
          || (p.view() == candidate.view() && p.digest().equals(candidate.digest()))) {
        count++;
      }
    }
    return count;
  }

  /** A2: the VIEW-CHANGEs whose sender says it pre-prepared {@code candidate} at its view or a later one. */
  private static int prePreparedAtOrAbove(long s, Prepared candidate, List<Checked> viewChanges) {
    int count = 0;
    for (Checked c : viewChanges) {
      Prepared p = c.prepared().get(s);
      boolean said = p != null && p.view() >= candidate.view() && p.digest().equals(candidate.digest());
      for (Slot.PrePrepared q : c.prePrepared().getOrDefault(s, List.of())) {
        said |= q.view() >= candidate.view() && q.digest().equals(candidate.digest());
      }
      if (said) {
        count++;
      }
    }
    return count;
  }
}

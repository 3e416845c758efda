package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Digests;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.verify.Rejection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints and garbage collection (section 4.3): every K sequence numbers a replica multicasts
 * a signed CHECKPOINT with its state digest; 2f + 1 matching ones make the checkpoint stable, the
 * log below it is discarded and the watermark window moves. CHECKPOINTs beyond the window, and a
 * quorum this replica has not reached, tell it that it fell behind (then it fetches that state).
 */
final class Checkpoints {
  private static final Logger log = LoggerFactory.getLogger(Checkpoints.class);

  /** A stable checkpoint others reached and this replica has not, and since when it knows. */
  private record Behind(long sequence, ByteString digest, List<SignedMessage> proof, long sinceMs) {}

  private record Ahead(long sequence, ByteString digest, SignedMessage signed) {}

  private final ReplicaState state;
  private final Outbox outbox;
  private final StateTransfer transfer;
  private final NormalCase normal;
  private final Rules rules;
  private final CheckpointVotes votes = new CheckpointVotes();
  /** Votes kept per replica beyond the window: its two lowest and its highest. */
  private final int aheadVotesMax;
  private final Map<Integer, TreeMap<Long, Ahead>> ahead = new HashMap<>();
  private Behind behind;
  /** This replica's own checkpoints that were not stable yet at the previous heartbeat. */
  private Set<Long> ownWaiting = Set.of();

  Checkpoints(ReplicaState state, Outbox outbox, StateTransfer transfer, NormalCase normal, Rules rules,
      int aheadVotesMax) {
    this.state = state;
    this.outbox = outbox;
    this.transfer = transfer;
    this.normal = normal;
    this.rules = rules;
    this.aheadVotesMax = aheadVotesMax;
  }

  /** Whether 2f + 1 replicas proved a checkpoint this replica has not reached. */
  boolean behind() {
    return behind != null;
  }

  CheckpointVotes votes() {
    return votes;
  }

  /**
   * The executor took this replica's checkpoint at {@code s} (the state after executing batch s):
   * keep its state for peers and multicast the CHECKPOINT.
   */
  void taken(long s, ByteString digest) {
    transfer.retain(s, digest);
    Checkpoint cp = Checkpoint.newBuilder().setSequence(s).setStateDigest(digest).setReplicaId(state.id).build();
    SignedMessage signed = outbox.broadcast(ReplicaMessage.newBuilder().setCheckpoint(cp).build());
    record(state.id, s, digest, signed);
  }

  /**
   * The epoch began at checkpoint {@code s} with state {@code digest} (docs/RECONFIGURATION.md):
   * this replica's CHECKPOINT for it, signed in the new epoch, goes to every member. Inside the
   * epoch the genesis needs no proof; the members' CHECKPOINTs for it together prove it to a member
   * that joins the epoch without state (a replica moved to a new machine), which then fetches that
   * state at once, instead of waiting for the epoch's first checkpoint of new batches.
   */
  void genesisTaken(long s, ByteString digest) {
    Checkpoint cp = Checkpoint.newBuilder().setSequence(s).setStateDigest(digest).setReplicaId(state.id).build();
    SignedMessage signed = outbox.broadcast(ReplicaMessage.newBuilder().setCheckpoint(cp).build());
    votes.record(state.id, s, digest, signed);
  }

  /**
   * The matching CHECKPOINTs from distinct replicas that make this replica fetch the state at
   * {@code s}: a quorum, or, for a replica that joined without state, f + 1 for the checkpoint its
   * epoch began at. At least one of those is correct, so the digest is the group's state there; and
   * it cannot wait for 2f + 1 there: with f members faulty and itself without state, only 2f correct
   * members vote on the epoch's genesis, and the group, which needs the joiner in its quorums, would
   * make no later checkpoint either. It then starts from the genesis, which needs no proof inside
   * the epoch.
   */
  private int fetchVotesNeeded(long s) {
    return joiningAt(s) ? state.weakQuorum() : state.quorum();
  }

  /** Whether this replica joined its epoch without state and {@code s} is where the members said the epoch began. */
  private boolean joiningAt(long s) {
    return state.joiningWithoutState() && state.joinAt > 0 && s == state.joinAt;
  }

  private java.util.function.BiConsumer<Long, ByteString> joinGenesis = (s, d) -> { };

  /** Told the genesis (sequence, digest) a replica that joined without state learned from f + 1 members. */
  void onJoinGenesis(java.util.function.BiConsumer<Long, ByteString> hook) {
    joinGenesis = hook;
  }

  /** Whether the epoch's genesis is this replica's stable checkpoint and its members' CHECKPOINTs do not prove it yet. */
  private boolean genesisUnproven() {
    return state.genesis > 0 && state.lowWatermark == state.genesis && state.stableProof.isEmpty();
  }

  /**
   * A member's CHECKPOINT for the epoch's genesis: counted towards its proof when it names the
   * digest this replica holds there; 2f + 1 of them become the stable proof that heartbeats send
   * to a replica whose window is below it.
   */
  private void genesisVote(int sender, Checkpoint cp, SignedMessage signed) {
    if (!cp.getStateDigest().equals(state.stableDigest)) {
      return; // another state there: a faulty sender's, counted nowhere
    }
    votes.record(sender, cp.getSequence(), cp.getStateDigest(), signed);
    List<SignedMessage> proof = votes.matching(cp.getSequence(), cp.getStateDigest());
    if (proof.size() >= rules.checkpointVotesNeeded(state.quorum())) {
      state.stableProof = List.copyOf(proof);
      log.debug("replica {}: the members prove the epoch's genesis {}", state.id, cp.getSequence());
    }
  }

  /**
   * At each heartbeat: this replica's own CHECKPOINTs that were above the low watermark at the
   * previous heartbeat and still are go to every peer again. A CHECKPOINT lost at enough replicas
   * otherwise leaves the checkpoint unstable until the next one, and the window does not move.
   */
  void repeatOwn() {
    Set<Long> now = new HashSet<>();
    votes.of(state.id).forEach((s, signed) -> {
      if (s == state.lowWatermark && genesisUnproven()) {
        outbox.resend(Effects.Outgoing.ALL, signed); // until the members prove the genesis together
      } else if (s > state.lowWatermark) {
        now.add(s);
        if (ownWaiting.contains(s)) {
          outbox.resend(Effects.Outgoing.ALL, signed);
        }
      }
    });
    ownWaiting = now;
  }

  void onCheckpoint(int sender, Checkpoint cp, SignedMessage signed) {
    long s = cp.getSequence();
    if (cp.getReplicaId() != sender) {
      outbox.reject(Rejection.SENDER_NOT_SIGNER, "checkpoint names %d, signed by %d", cp.getReplicaId(), sender);
      return;
    }
    if (s == state.lowWatermark && genesisUnproven() && cp.getStateDigest().size() == Digests.SIZE_BYTES) {
      genesisVote(sender, cp, signed);
      return;
    }
    if (s <= state.lowWatermark) {
      return; // old news: already stable
    }
    if (s % state.settings.checkpointInterval() != 0) {
      outbox.reject(Rejection.NOT_A_CHECKPOINT_SEQUENCE, "checkpoint n=%d from %d", s, sender);
      return;
    }
    if (cp.getStateDigest().size() != Digests.SIZE_BYTES) {
      outbox.reject(Rejection.MALFORMED, "checkpoint from %d has a %d-byte digest", sender, cp.getStateDigest().size());
      return;
    }
    if (s > state.highWatermark()) {
      // Others are a window or more ahead: remember a few votes per replica so that 2f + 1 of
      // them can prove the checkpoint and this replica can fetch that state.
      noteAhead(sender, s, cp.getStateDigest(), signed);
      return;
    }
    record(sender, s, cp.getStateDigest(), signed);
  }

  private void record(int sender, long s, ByteString digest, SignedMessage signed) {
    votes.record(sender, s, digest, signed);
    ByteString mine = votes.digestOf(state.id, s);
    if (mine == null) {
      // Not executed that far yet. If 2f + 1 agree on it, it is stable whatever this replica
      // does; should execution not get there soon by itself (it missed messages), tick() fetches
      // that state.
      Map.Entry<Long, ByteString> quorum = votes.highestWithQuorum(state.quorum());
      if (quorum == null && joiningAt(state.joinAt)) {
        ByteString genesis = votes.withQuorumAt(state.joinAt, fetchVotesNeeded(state.joinAt));
        quorum = genesis == null ? null : Map.entry(state.joinAt, genesis);
      }
      if (quorum != null && quorum.getKey() > state.lastHandedOut
          && (behind == null || behind.sequence() < quorum.getKey())) {
        behind = new Behind(quorum.getKey(), quorum.getValue(), votes.matching(quorum.getKey(), quorum.getValue()),
            state.nowMs);
      }
      return;
    }
    List<SignedMessage> proof = votes.matching(s, mine);
    if (proof.size() >= rules.checkpointVotesNeeded(state.quorum())) {
      makeStable(s, mine, proof);
    }
  }

  /**
   * A CHECKPOINT beyond this replica's window: once 2f + 1 agree, fetch that state. Each replica
   * keeps a few votes here (its two lowest and its highest), so that a faulty replica's vote for
   * a far-future sequence number cannot displace its genuine vote relayed in a stable proof.
   */
  private void noteAhead(int sender, long sequence, ByteString digest, SignedMessage signed) {
    TreeMap<Long, Ahead> mine = ahead.computeIfAbsent(sender, k -> new TreeMap<>());
    mine.putIfAbsent(sequence, new Ahead(sequence, digest, signed));
    while (mine.size() > aheadVotesMax) {
      // Drop the second highest: keep the lowest ones (what others are likely to prove) and
      // the highest (how far ahead they are).
      Long highest = mine.lastKey();
      mine.remove(mine.lowerKey(highest));
    }
    List<SignedMessage> proof = new ArrayList<>();
    for (TreeMap<Long, Ahead> v : ahead.values()) {
      Ahead a = v.get(sequence);
      if (a != null && a.digest().equals(digest)) {
        proof.add(a.signed());
      }
    }
    if (proof.size() >= fetchVotesNeeded(sequence)) {
      learnStable(sequence, digest, proof);
    }
  }

  /** Time passed: fetch a checkpoint proven stable if execution has not reached it by itself. */
  void tick() {
    if (behind == null) {
      return;
    }
    if (state.lastHandedOut >= behind.sequence() || behind.sequence() <= state.lowWatermark) {
      behind = null;
    } else if (state.nowMs - behind.sinceMs() >= state.settings.viewChangeTimeoutMs() / 2) {
      Behind b = behind;
      behind = null;
      learnStable(b.sequence(), b.digest(), b.proof());
    }
  }

  /**
   * A checkpoint proven stable by 2f + 1 signed CHECKPOINTs (or a NEW-VIEW): adopt it, and fetch
   * its state if this replica has not executed that far.
   */
  void learnStable(long s, ByteString digest, List<SignedMessage> proof) {
    if (s <= state.lowWatermark) {
      return;
    }
    if (joiningAt(s)) {
      joinGenesis.accept(s, digest); // before its view changes claim it, with f + 1 votes only
    }
    makeStable(s, digest, proof);
    if (state.lastHandedOut < s) {
      log.info("replica {}: stable checkpoint {} is beyond its state (executed {}): fetching it", state.id, s,
          state.lastExecuted);
      transfer.start(s, digest, proof);
    }
  }

  /** A checkpoint with 2f + 1 matching votes is stable: discard the log up to it. */
  void makeStable(long s, ByteString digest, List<SignedMessage> proof) {
    if (s <= state.lowWatermark) {
      return;
    }
    state.lowWatermark = s;
    state.stableDigest = digest;
    state.stableProof = List.copyOf(proof);
    state.slots.headMap(s, true).clear();
    votes.discardUpTo(s);
    ahead.values().forEach(v -> v.headMap(s, true).clear());
    normal.discardEarlyUpTo(s);
    transfer.stable(s);
    if (state.lastExecuted >= s) {
      outbox.effects().stableCheckpoint(s);
    }
    outbox.compactionDue(); // computed when the effects are handed out, after the whole event
    log.debug("replica {}: checkpoint {} stable, window now ({}, {}]", state.id, s, state.lowWatermark,
        state.highWatermark());
  }

  /** State transfer installed the state of stable checkpoint {@code s}: continue from there. */
  void installed(long s, ByteString digest, List<SignedMessage> proof) {
    outbox.effects().stableCheckpoint(s);
    state.slots.headMap(s, true).clear();
    if (s > state.lowWatermark) {
      makeStable(s, digest, proof);
    }
    state.lastAssigned = Math.max(state.lastAssigned, s);
  }

  /**
   * Sends the signed CHECKPOINTs that prove the last stable checkpoint to {@code to}, except its
   * own: it knows what it signed, and would only drop it as coming from itself.
   */
  static void sendStableProof(ReplicaState state, Outbox outbox, int to) {
    for (SignedMessage cp : state.stableProof) {
      if (cp.getSender() != to) {
        outbox.resend(to, cp);
      }
    }
  }
}

package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.SignedMessage;
import java.util.List;
import java.util.TreeMap;

/**
 * The protocol state of one replica that several sub-protocols share: where it stands (view,
 * watermarks, stable checkpoint and its proof, the NEW-VIEW that opened its view), its log of
 * slots inside the watermark window, and how far execution got. Each sub-protocol keeps what is
 * only its own; this holds what they all read.
 */
final class ReplicaState {
  final int id;
  final int n;
  /**
   * The members' ids in the epoch's order (0..n-1 for a group whose members were never added or
   * removed): the primary of view v is {@code members[v mod n]}.
   */
  final int[] members;
  /** One more than the largest member id: the size of anything indexed by replica id. */
  final int idBound;
  final int f;
  final int quorum;
  final ProtocolSettings settings;
  /** The configuration epoch this core runs (docs/RECONFIGURATION.md); 0 for a group that never changed. */
  long epoch;
  /**
   * The sequence number the epoch began at: its first stable checkpoint, which needs no proof
   * inside the epoch (as sequence 0 needs none in epoch 0).
   */
  long genesis;
  /**
   * For a replica that joined its epoch without state ({@link ReplicaCore#joinEpoch}): the
   * checkpoint the epoch began at, as the members reported it, whose state it fetches once f + 1
   * members vouch for it (0: not joining, or not known).
   */
  long joinAt;
  /**
   * The handover checkpoint of a change the executed state holds pending (0: none): nothing above
   * it is assigned, accepted or re-proposed in this epoch, and the epoch ends once it is stable
   * and executed.
   */
  long handoverAt;

  /** The view this replica is in, or is changing to when {@link #viewChanging}. */
  long view;
  /** Sent VIEW-CHANGE for {@link #view}, waiting for its NEW-VIEW. */
  boolean viewChanging;
  /** h: sequence number of the last stable checkpoint. */
  long lowWatermark;
  ByteString stableDigest = ByteString.EMPTY;
  /** 2f + 1 signed CHECKPOINTs proving the stable checkpoint (empty for sequence 0). */
  List<SignedMessage> stableProof = List.of();
  /** The NEW-VIEW that opened the current view (sent or accepted), relayed to replicas behind. */
  SignedMessage lastNewView;

  /** The log: one slot per sequence number in (h, h + L] this replica heard of. */
  final TreeMap<Long, Slot> slots = new TreeMap<>();
  /** Primary: the last sequence number it pre-prepared. */
  long lastAssigned;
  /** The last batch the executor reported executed. */
  long lastExecuted;
  /** The last batch handed to the executor (at least {@link #lastExecuted}). */
  long lastHandedOut;
  /**
   * Primary: the time it proposed with its last pre-prepare; the next one proposes no less,
   * whatever its clock says.
   */
  long lastProposedMs;
  /**
   * The batch handed out tentatively (protocol.tentativeExecution) and not yet handed out
   * committed, 0 for none; with the digest it had. At most one: the lowest uncommitted.
   */
  long tentativeSequence;
  com.google.protobuf.ByteString tentativeDigest;
  /** The clock as of the event being handled (events carry time; nothing reads a clock). */
  long nowMs;
  /**
   * The wall clock (ms since the epoch) minus {@link #nowMs}, as the runtime last told it
   * ({@link ReplicaCore#wallClock}); 0 until then, and in the simulator, whose clock is both.
   */
  long wallOffsetMs;
  /** How long batches take from pre-prepare to committed here: what the request timer adapts to. */
  final AgreementLatency agreement = new AgreementLatency();
  /** This replica's own pauses, which neither its timers nor its check of proposed times count. */
  final Stalls stalls;

  ReplicaState(int id, int[] members, int f, ProtocolSettings settings) {
    int n = members.length;
    if (n < 3 * f + 1) {
      throw new IllegalArgumentException("n = " + n + " cannot tolerate f = " + f);
    }
    int bound = 0;
    boolean self = false;
    java.util.BitSet seen = new java.util.BitSet();
    for (int m : members) {
      if (m < 0 || seen.get(m)) {
        throw new IllegalArgumentException("member ids " + java.util.Arrays.toString(members)
            + " are not distinct and non-negative");
      }
      seen.set(m);
      bound = Math.max(bound, m + 1);
      self |= m == id;
    }
    if (!self) {
      throw new IllegalArgumentException("replica id " + id + " is not among the members "
          + java.util.Arrays.toString(members));
    }
    this.id = id;
    this.n = n;
    this.members = members.clone();
    this.idBound = bound;
    this.f = f;
    this.quorum = io.pbft.config.Quorums.of(n, f);
    this.settings = settings;
    this.stalls = new Stalls(settings.viewChangeTimeoutMs() / 4);
  }

  /** The wall clock as of the event being handled: what a primary proposes and backups check. */
  long wallNowMs() {
    return nowMs + wallOffsetMs;
  }

  int primaryOf(long v) {
    return members[(int) Long.remainderUnsigned(v, n)];
  }

  /** Whether replica {@code r} is a member of this epoch. */
  boolean isMember(int r) {
    return r >= 0 && r < idBound && memberIndex(r) >= 0;
  }

  /** The position of member {@code r} in the epoch's order, or -1. */
  int memberIndex(int r) {
    for (int i = 0; i < n; i++) {
      if (members[i] == r) {
        return i;
      }
    }
    return -1;
  }

  /** The ids 0..n-1: the members of a group none were added to or removed from. */
  static int[] firstIds(int n) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = i;
    }
    return ids;
  }

  int primary() {
    return primaryOf(view);
  }

  /** Primary of the current view and not changing views: the one that pre-prepares. */
  boolean isPrimary() {
    return primary() == id && !viewChanging;
  }

  /** h + L, and never above a known handover checkpoint: the barrier between two epochs. */
  long highWatermark() {
    long high = lowWatermark + settings.windowSize();
    return handoverAt > 0 ? Math.min(high, handoverAt) : high;
  }

  boolean inWindow(long s) {
    return s > lowWatermark && s <= highWatermark();
  }

  Slot slot(long s) {
    return slots.computeIfAbsent(s, Slot::new);
  }

  /**
   * A quorum, any two of which share a correct replica ({@link io.pbft.config.Quorums}): 2f + 1
   * when n = 3f + 1, as the paper assumes, and more for a larger n.
   */
  int quorum() {
    return quorum;
  }

  /**
   * Whether this replica joined its epoch without state ({@code ReplicaCore.joinEpoch}: an epoch
   * after 0 with no genesis known) and holds none yet.
   */
  boolean joiningWithoutState() {
    return epoch > 0 && genesis == 0 && lastHandedOut == 0;
  }

  /** f + 1: enough replicas that at least one of them is correct. */
  int weakQuorum() {
    return f + 1;
  }

  /** Executed or handed out for execution: the next batch to hand out is this plus one. */
  boolean executionBusy() {
    return lastHandedOut > lastExecuted;
  }

  /**
   * For log lines of complaints and view changes: where execution stands and what the batch it
   * waits for lacks here (its votes by sender), so that a view change in a log says which phase
   * stalled.
   */
  String nextToExecute() {
    long next = lastExecuted + 1;
    Slot slot = slots.get(next);
    long committedAbove = slots.tailMap(next, false).values().stream().filter(x -> x.committed).count();
    String head = "executed up to " + lastExecuted + " (handed out up to " + lastHandedOut + "), " + committedAbove
        + " later batches committed; ";
    if (slot == null || !slot.hasPrePrepare()) {
      return head + next + " not pre-prepared here";
    }
    return head + next + " pre-prepared in view " + slot.view
        + (slot.acceptedAtMs >= 0 ? " " + (nowMs - slot.acceptedAtMs) + " ms ago" : "")
        + (slot.awaitingVouch ? ", awaiting vouch" : "") + ", prepares from "
        + new java.util.TreeSet<>(slot.prepares.keySet())
        + (slot.prepared ? " (prepared)" : "") + ", commits from " + new java.util.TreeSet<>(slot.commits.keySet())
        + (slot.commitSent ? ", own sent" : "") + (slot.committed ? " (committed)" : "")
        + (slot.handedOut ? ", handed to the executor" : "");
  }
}

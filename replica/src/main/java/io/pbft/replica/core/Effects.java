package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.proto.Reply;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.WalRecord;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * What the core wants done after handling one or more events. The caller takes the effects out
 * with {@link ReplicaCore#takeEffects()} and carries them out in this order (the one applier,
 * {@code io.pbft.replica.node.EffectApplier}, does exactly this for the runtime and the simulator):
 *
 * <ol>
 *   <li>{@link #records()} appended to the durable log, then {@link #compaction()} when not null
 *       (the whole live state with which the log may restart), made durable BEFORE anything below
 *       happens, so that a replica never contradicts, after a crash, what it said before;
 *   <li>{@link #executions()} handed to the application, in list order (which is sequence
 *       order), then {@link #install()} and {@link #serves()}; each reports back through
 *       {@link ReplicaCore#onExecuted}, {@link ReplicaCore#onStateInstalled} and
 *       {@link ReplicaCore#onStateChunkRead} as an event of its own, later;
 *   <li>{@link #messages()} to other replicas, in list order per destination;
 *   <li>{@link #replies()} to clients.
 * </ol>
 *
 * Nothing reaches a replica or a client except through these lists, so a traitor's behaviour (which
 * filters the last two) sees every message and every reply.
 *
 * <p>{@link #milestones()} asks for nothing: it says which batches reached which phase here, so
 * that a runtime with a clock can time the phases (the core has none).
 */
public final class Effects {
  /** A signed message for one replica, or for every other replica when {@code to == ALL}. */
  public record Outgoing(int to, SignedMessage message) {
    public static final int ALL = -1;

    public boolean broadcast() {
      return to == ALL;
    }
  }

  /** A reply for a client; the runtime authenticates it under that client's session key. */
  public record ClientReply(int clientId, Reply reply) {}

  /**
   * Execute the committed batch at {@code sequence} (every sequence number exactly once, in
   * order). {@code requests} may repeat a client's earlier timestamp (a retransmission ordered
   * twice); exactly-once is the executor's to keep. When {@code checkpoint} is set, the executor
   * takes a checkpoint after the batch and reports its state digest. {@code proposedTimeMs} is the
   * time the pre-prepare carried (0 for a null batch) and {@code digest} the digest the replicas
   * agreed on, which covers the requests and that time: the executor derives the batch's agreed
   * time and random seed from them (see {@code io.pbft.replica.app.ExecutionContext}).
   *
   * <p>With {@code tentative} set (protocol.tentativeExecution), the batch is only prepared: the
   * lowest not yet committed, every batch before it committed and handed out, never a checkpoint.
   * The executor runs it and reports tentative results; the same sequence number comes again,
   * committed, once it commits. If what comes then has another digest (a view change put another
   * batch there), or a state is installed, the executor first rolls the tentative batch back.
   *
   * <p>{@code proposedView} is the batch's {@code Batch.proposed_view}: at a handover checkpoint
   * the view the next configuration epoch begins in, 0 elsewhere.
   */
  public record Execute(long sequence, long view, List<VerifiedRequest> requests, boolean checkpoint,
      long proposedTimeMs, ByteString digest, boolean tentative, long proposedView) {
    /** A batch that names no view: every batch but the one at a handover checkpoint. */
    public Execute(long sequence, long view, List<VerifiedRequest> requests, boolean checkpoint,
        long proposedTimeMs, ByteString digest, boolean tentative) {
      this(sequence, view, requests, checkpoint, proposedTimeMs, digest, tentative, 0);
    }

    /** Without a time (0) and with the digest of the requests alone: for tests and tools. */
    public Execute(long sequence, long view, List<VerifiedRequest> requests, boolean checkpoint) {
      this(sequence, view, requests, checkpoint, 0, batchDigest(requests));
    }

    /** A committed batch. */
    public Execute(long sequence, long view, List<VerifiedRequest> requests, boolean checkpoint,
        long proposedTimeMs, ByteString digest) {
      this(sequence, view, requests, checkpoint, proposedTimeMs, digest, false);
    }

    private static ByteString batchDigest(List<VerifiedRequest> requests) {
      List<io.pbft.proto.SignedRequest> signed = new ArrayList<>(requests.size());
      for (VerifiedRequest r : requests) {
        signed.add(r.signed());
      }
      return ByteString.copyFrom(io.pbft.crypto.Digests.batchDigest(signed));
    }
  }

  /**
   * Replace the application state with {@code state}, fetched from peers for stable checkpoint
   * {@code sequence}, if and only if its digest is {@code digest}; report whether it was.
   */
  public record InstallState(long sequence, ByteString digest, byte[] state) {}

  /** Read up to {@code bytesMax} bytes at {@code offset} of checkpoint {@code sequence}'s state for a peer. */
  public record ReadStateChunk(int to, long sequence, ByteString digest, long offset, int bytesMax) {}

  /**
   * A batch reached a phase of the normal case at this replica during the events behind these
   * effects. For metrics only: the core keeps no time, so the runtime stamps each milestone when
   * it takes the effects and measures the phases between them. {@code requests} is the batch's
   * (for {@link Kind#PRE_PREPARED}: the runtime knows when each reached the core), empty for
   * {@link Kind#COMMITTED}.
   */
  public record Milestone(Kind kind, long view, long sequence, List<VerifiedRequest> requests) {
    public enum Kind {
      /** The primary proposed the batch, or this backup accepted its pre-prepare. */
      PRE_PREPARED,
      /** Committed-local: 2f + 1 matching commits, or a committed certificate from a peer. */
      COMMITTED
    }
  }

  private final List<WalRecord> records = new ArrayList<>();
  private List<WalRecord> compaction;
  private final List<Execute> executions = new ArrayList<>();
  private InstallState install;
  private final List<ReadStateChunk> serves = new ArrayList<>();
  private final List<Long> releasedSnapshots = new ArrayList<>();
  private long stableCheckpoint = -1;
  private final List<Outgoing> messages = new ArrayList<>();
  private final List<ClientReply> replies = new ArrayList<>();
  /** Made on the first milestone: most effects carry none, and one is made per burst. */
  private List<Milestone> milestones;

  Effects() {}

  /** Records to append to the durable log before anything else (empty when not durable). */
  public List<WalRecord> records() {
    return records;
  }

  /**
   * When not null: everything the log must still hold, after a checkpoint became stable. The
   * runtime appends these after {@link #records()} and then drops everything older.
   */
  public List<WalRecord> compaction() {
    return compaction;
  }

  void compactTo(List<WalRecord> live) {
    compaction = live;
  }

  public List<Execute> executions() {
    return executions;
  }

  /** A fetched state to install, or null. */
  public InstallState install() {
    return install;
  }

  void install(InstallState s) {
    install = s;
  }

  public List<ReadStateChunk> serves() {
    return serves;
  }

  /** Checkpoints whose frozen state no peer needs any more: the executor may let them go. */
  public List<Long> releasedSnapshots() {
    return releasedSnapshots;
  }

  /**
   * The newest checkpoint that became stable at or below what this replica executed, whose
   * durable copy now suffices: older durable checkpoints may be deleted. -1 when none did.
   */
  public long stableCheckpoint() {
    return stableCheckpoint;
  }

  void stableCheckpoint(long sequence) {
    stableCheckpoint = Math.max(stableCheckpoint, sequence);
  }

  public List<Outgoing> messages() {
    return messages;
  }

  public List<ClientReply> replies() {
    return replies;
  }

  /** The batches that reached a phase, in the order they did (see {@link Milestone}). */
  public List<Milestone> milestones() {
    return milestones == null ? List.of() : milestones;
  }

  void milestone(Milestone m) {
    if (milestones == null) {
      milestones = new ArrayList<>();
    }
    milestones.add(m);
  }

  /** True when nothing needs doing; {@link #milestones()} only informs and does not count. */
  public boolean isEmpty() {
    return messages.isEmpty() && replies.isEmpty() && records.isEmpty() && compaction == null
        && executions.isEmpty() && install == null && serves.isEmpty() && releasedSnapshots.isEmpty()
        && stableCheckpoint < 0;
  }
}

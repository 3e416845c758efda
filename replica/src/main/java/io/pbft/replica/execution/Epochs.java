package io.pbft.replica.execution;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.config.Membership;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.ReconfigurationVerdict;
import io.pbft.config.Reconfigurations;
import io.pbft.proto.Reconfiguration;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The group's configuration epoch as part of the replicated state (docs/RECONFIGURATION.md): the
 * membership it runs, and the change ordered but not yet in effect. Execution hands each ordered
 * reconfiguration command to {@link #apply}, which checks it against the current membership
 * ({@link Reconfigurations#validate}: administrators' signatures, epoch, bound to this membership,
 * a valid next membership), allows one change at a time, and answers with a verdict every correct
 * replica reaches alike. An accepted change is pending from the sequence number {@code s} it was
 * ordered at until its handover checkpoint, the first checkpoint at or above {@code s +
 * windowSize}: by then no correct replica can have prepared anything above it in the old epoch.
 *
 * <p>It is part of the state digest and of every snapshot once it differs from epoch 0 with
 * nothing pending, so state transfer, durable checkpoints and tentative rollbacks carry it like
 * the client table; a group that never changed has the digests it always had. The current
 * epoch is kept as the command that began it (its proof), the membership derived from it.
 *
 * <p>Not thread-safe: the execution thread owns it. {@link #summary} is safe from any thread.
 */
public final class Epochs {
  /** How a verdict on an accepted command starts (the reply's result, UTF-8). */
  public static final String ACCEPTED = "reconfiguration accepted: ";
  /** How a verdict on a refused command starts. */
  public static final String REFUSED = "reconfiguration refused: ";

  /** A change accepted at {@code orderedAt}, taking effect at checkpoint {@code handoverAt}. */
  public record Pending(ByteString command, Membership next, long orderedAt, long handoverAt) {}

  /**
   * Where the replicated state stands, for Status: the epoch, its membership's digest, what is
   * pending, and the commands that began epochs 1 to the current one, in order ({@link #chain}).
   */
  public record Summary(long epoch, ByteString membershipDigest, Pending pending, List<ByteString> chain) {}

  private final Membership initial;
  private final long windowSize;
  private final long checkpointInterval;
  /**
   * Whether this replica carries out a handover (its node rebuilds the core of the next epoch when
   * the old one ends; the replica process and the simulator do): only then does the change take
   * effect at its checkpoint, and only then is the core told where its epoch ends. Without, a change stays pending:
   * for tools and tests that examine commands and their ordering alone.
   */
  private final boolean handovers;
  /** The command that began the current epoch, as ordered; null in epoch 0. */
  private ByteString began;
  /** The checkpoint the current epoch began at (0 in epoch 0). */
  private long beganAt;
  /**
   * The command that began the previous epoch (null when that was epoch 0, or in epoch 0) and the
   * checkpoint it began at: a replica that restarts with the state of the handover checkpoint
   * but whose core had not yet seen that checkpoint stable resumes the previous epoch's core.
   */
  private ByteString previousBegan;
  private long previousBeganAt;
  /**
   * The commands that began epochs 1 up to the one before {@link #previousBegan}'s, in order:
   * with those two, the whole chain from cluster.yaml's membership to the current one, each link
   * signed by the administration of the epoch before it, which is how a client that knows only
   * cluster.yaml learns and checks the current members' keys.
   */
  private final List<ByteString> earlier = new ArrayList<>();
  /**
   * The view the current epoch began in: the view the batch at its handover checkpoint was
   * proposed in (0 in epoch 0, or when that batch named none).
   */
  private long firstView;
  private Membership current;
  private Pending pending;
  private volatile Summary summary;

  /**
   * @param initial epoch 0 (cluster.yaml), or null where no membership is known (a simulator
   *     without configuration): then every command is refused
   */
  /** Without handovers: accepted changes stay pending (for tools and tests of the command alone). */
  public Epochs(Membership initial, ProtocolSettings settings) {
    this(initial, settings, false);
  }

  /**
   * @param handovers whether this replica's node carries out handovers: then a pending change
   *     takes effect when its handover checkpoint executes ({@link #switchIfDue})
   */
  public Epochs(Membership initial, ProtocolSettings settings, boolean handovers) {
    this.handovers = handovers;
    this.initial = initial;
    this.windowSize = settings.windowSize();
    this.checkpointInterval = settings.checkpointInterval();
    reset();
  }

  /** No membership known: every reconfiguration is refused, and the state is always epoch 0's. */
  public static Epochs none() {
    return new Epochs(null, ProtocolSettings.defaults());
  }

  private void reset() {
    began = null;
    beganAt = 0;
    previousBegan = null;
    previousBeganAt = 0;
    earlier.clear();
    firstView = 0;
    current = initial;
    pending = null;
    publish();
  }

  private void publish() {
    summary = new Summary(current == null ? 0 : current.epoch(),
        current == null ? ByteString.EMPTY : ByteString.copyFrom(current.digest()), pending, chain());
  }

  /**
   * The commands that began epochs 1 to the current one, in order (empty in epoch 0): each
   * names the whole membership of its epoch and is signed by the administration of the epoch
   * before ({@link Reconfigurations#validate} checks a link).
   */
  public List<ByteString> chain() {
    List<ByteString> all = new ArrayList<>(earlier);
    if (previousBegan != null) {
      all.add(previousBegan);
    }
    if (began != null) {
      all.add(began);
    }
    return List.copyOf(all);
  }

  public Summary summary() {
    return summary;
  }

  /** The membership of the current epoch, or null where none is known. */
  public Membership current() {
    return current;
  }

  public Pending pending() {
    return pending;
  }

  /**
   * The handover checkpoint of a change ordered at {@code sequence}: the first checkpoint at or
   * above {@code sequence + windowSize}.
   */
  public long handoverPoint(long sequence) {
    long earliest = sequence + windowSize;
    return (earliest + checkpointInterval - 1) / checkpointInterval * checkpointInterval;
  }

  /**
   * Executes a reconfiguration command ordered at {@code sequence}: the verdict, as the reply's
   * result. Deterministic, and it changes the state only when it accepts.
   */
  public String apply(Reconfiguration command, long sequence) {
    if (current == null) {
      return REFUSED + "this replica runs without a membership to change";
    }
    if (pending != null) {
      return REFUSED + "the change to epoch " + pending.next().epoch() + " is still pending (ordered at "
          + pending.orderedAt() + ", takes effect at checkpoint " + pending.handoverAt()
          + "): one change at a time";
    }
    ReconfigurationVerdict verdict = Reconfigurations.validate(current, command);
    if (!verdict.isAccepted()) {
      return REFUSED + verdict.refusal();
    }
    Membership next = verdict.next();
    pending = new Pending(command.toByteString(), next, sequence, handoverPoint(sequence));
    publish();
    return ACCEPTED + "epoch " + current.epoch() + " -> " + next.epoch() + " (n = " + next.n() + ", f = "
        + next.f() + "), ordered at " + sequence + ", takes effect at checkpoint " + pending.handoverAt();
  }

  /** The checkpoint the current epoch began at: 0 in epoch 0. */
  public long beganAt() {
    return beganAt;
  }

  /** The membership of the epoch before the current one (null in epoch 0). */
  public Membership previous() {
    if (began == null) {
      return null;
    }
    try {
      return previousBegan == null ? initial : named(previousBegan, "the command that began the previous epoch");
    } catch (IOException e) {
      throw new IllegalStateException(e); // checked when the state was made or read
    }
  }

  /** The view the current epoch began in (0 in epoch 0). */
  public long firstView() {
    return firstView;
  }

  /** The checkpoint the epoch before the current one began at (0 for epoch 0, and in epoch 0). */
  public long previousBeganAt() {
    return previousBeganAt;
  }

  /**
   * Where the epoch of the state as of {@code sequence} (the last batch executed or the state
   * installed) ends, for the core: the handover checkpoint of the pending change, {@code sequence}
   * itself when a change took effect there, 0 when nothing is pending or this node carries out no
   * handovers.
   */
  public long endsAt(long sequence) {
    if (!handovers) {
      return 0;
    }
    if (pending != null) {
      return pending.handoverAt();
    }
    return began != null && beganAt == sequence ? sequence : 0;
  }

  /**
   * The batch at {@code sequence} ran: if it is the pending change's handover checkpoint (and this
   * node carries out handovers) the next membership becomes current, before the checkpoint's
   * digest is computed, so that the checkpoint certifies the new epoch, which begins in view
   * {@code proposedView} (the batch's {@code Batch.proposed_view}). True when it switched.
   */
  public boolean switchIfDue(long sequence, long proposedView) {
    if (!handovers || pending == null || pending.handoverAt() != sequence) {
      return false;
    }
    firstView = proposedView;
    if (previousBegan != null) {
      earlier.add(previousBegan);
    }
    previousBegan = began;
    previousBeganAt = beganAt;
    began = pending.command();
    beganAt = sequence;
    current = pending.next();
    pending = null;
    publish();
    return true;
  }

  /**
   * Where a restarted replica resumes: the epoch whose core it builds ({@code membership}, null for
   * epoch 0), that epoch's first checkpoint and view, and the handover its core is told of.
   */
  public record Resume(Membership membership, long genesis, long firstView, long handoverAt) {}

  /**
   * Where a replica restarted with this state (the application's checkpoint at {@code
   * appSequence}) resumes, given the epoch its log was last compacted in ({@code logEpoch}): the
   * state's current epoch, unless it crashed after executing the handover checkpoint and before
   * its core saw that checkpoint stable (its log is still the epoch before's and the state is at
   * the handover): then the epoch before, whose core ends at once as usual. The epoch before
   * resumes in view 0; its log's records raise the view.
   */
  public Resume resume(long appSequence, long logEpoch) {
    long epoch = summary.epoch();
    boolean entered = epoch == 0 || logEpoch == epoch || appSequence > beganAt;
    if (entered) {
      return new Resume(epoch == 0 ? null : current, beganAt, firstView, endsAt(appSequence));
    }
    Membership before = previous();
    return new Resume(before.epoch() == 0 ? null : before, previousBeganAt, 0, beganAt);
  }

  /** Whether this is epoch 0 with nothing pending: then the state holds nothing of it. */
  private boolean initialState() {
    return began == null && pending == null;
  }

  /**
   * The state's bytes: empty for epoch 0 with nothing pending, else the command that began the
   * epoch (empty in epoch 0) and, after epoch 0, the checkpoint it began at and the command and
   * checkpoint that began the previous epoch (empty and 0 for epoch 0) and the view the epoch began
   * in, then whether a change is
   * pending and if so its command, sequence number and handover checkpoint.
   */
  public byte[] encode() {
    if (initialState()) {
      return new byte[0];
    }
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      out.writeBytesNoTag(began == null ? ByteString.EMPTY : began);
      if (began != null) {
        out.writeInt64NoTag(beganAt);
        out.writeBytesNoTag(previousBegan == null ? ByteString.EMPTY : previousBegan);
        out.writeInt64NoTag(previousBeganAt);
        out.writeInt64NoTag(firstView);
        out.writeUInt32NoTag(earlier.size());
        for (ByteString c : earlier) {
          out.writeBytesNoTag(c);
        }
      }
      out.writeBoolNoTag(pending != null);
      if (pending != null) {
        out.writeBytesNoTag(pending.command());
        out.writeInt64NoTag(pending.orderedAt());
        out.writeInt64NoTag(pending.handoverAt());
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException("writing to memory failed", e);
    }
  }

  /**
   * Replaces the state with {@link #encode}'s bytes, which may come from a peer (checked against
   * the certified digest only afterwards): anything that does not parse or names an invalid
   * membership is refused with an IOException and leaves the state as it was.
   */
  public void decode(byte[] bytes) throws IOException {
    if (bytes.length == 0) {
      if (!initialState()) {
        reset(); // a group that never changed skips this on every rollback
      }
      return;
    }
    if (initial == null) {
      throw new IOException("epoch state for a replica that runs without a membership");
    }
    CodedInputStream in = CodedInputStream.newInstance(bytes);
    ByteString beganBytes = in.readBytes();
    Membership epoch = initial;
    long beganAtRead = 0;
    ByteString previousRead = null;
    long previousAtRead = 0;
    long firstViewRead = 0;
    List<ByteString> earlierRead = new ArrayList<>();
    if (!beganBytes.isEmpty()) {
      epoch = named(beganBytes, "the command that began the epoch");
      beganAtRead = in.readInt64();
      if (beganAtRead <= 0 || beganAtRead % checkpointInterval != 0) {
        throw new IOException("an epoch that began at " + beganAtRead + ", not a checkpoint");
      }
      ByteString previousBytes = in.readBytes();
      previousAtRead = in.readInt64();
      firstViewRead = in.readInt64();
      if (firstViewRead < 0) {
        throw new IOException("an epoch that began in view " + firstViewRead);
      }
      long previousEpoch = 0;
      if (!previousBytes.isEmpty()) {
        previousRead = previousBytes;
        previousEpoch = named(previousBytes, "the command that began the previous epoch").epoch();
      }
      if (previousEpoch != epoch.epoch() - 1 || previousAtRead < 0 || previousAtRead >= beganAtRead
          || (previousRead == null) != (previousAtRead == 0)) {
        throw new IOException("epoch " + epoch.epoch() + " follows epoch " + previousEpoch + " begun at " + previousAtRead);
      }
      int count = in.readUInt32();
      if (count != Math.max(0, epoch.epoch() - 2)) {
        throw new IOException(count + " earlier commands before epoch " + epoch.epoch() + "'s, not "
            + Math.max(0, epoch.epoch() - 2));
      }
      for (int i = 0; i < count; i++) {
        ByteString c = in.readBytes();
        long named = named(c, "the command that began epoch " + (i + 1)).epoch();
        if (named != i + 1) {
          throw new IOException("the command that began epoch " + (i + 1) + " names epoch " + named);
        }
        earlierRead.add(c);
      }
    }
    Pending next = null;
    if (in.readBool()) {
      ByteString command = in.readBytes();
      long orderedAt = in.readInt64();
      long handoverAt = in.readInt64();
      Membership m = named(command, "the pending command");
      if (m.epoch() != epoch.epoch() + 1) {
        throw new IOException("the pending command names epoch " + m.epoch() + " after epoch " + epoch.epoch());
      }
      next = new Pending(command, m, orderedAt, handoverAt);
    }
    if (!in.isAtEnd()) {
      throw new IOException("trailing bytes after the epoch state");
    }
    began = beganBytes.isEmpty() ? null : beganBytes;
    beganAt = beganAtRead;
    previousBegan = previousRead;
    previousBeganAt = previousAtRead;
    earlier.clear();
    earlier.addAll(earlierRead);
    firstView = firstViewRead;
    current = epoch;
    pending = next;
    publish();
  }

  private static Membership named(ByteString command, String what) throws IOException {
    Reconfiguration parsed;
    try {
      parsed = Reconfiguration.parseFrom(command);
    } catch (InvalidProtocolBufferException e) {
      throw new IOException(what + " does not parse", e);
    }
    ReconfigurationVerdict v = Reconfigurations.membershipNamed(parsed);
    if (!v.isAccepted()) {
      throw new IOException(what + " names no valid membership: " + v.refusal());
    }
    return v.next();
  }

  /** The digest's share of this state: nothing in the initial state, else SHA-256 of its bytes. */
  public byte[] digestPart() {
    return initialState() ? null : io.pbft.crypto.Digests.sha256(encode());
  }
}

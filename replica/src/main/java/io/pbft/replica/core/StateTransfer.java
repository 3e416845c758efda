package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.proto.FetchState;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.StateChunk;
import io.pbft.replica.verify.Rejection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * State transfer (TOCS 2002, section 5.3.2, simplified to whole checkpoints): a replica that
 * learns of a stable checkpoint beyond its own state fetches that checkpoint's state from one
 * replica at a time in bounded chunks, has the executor check it against the certified digest and
 * install it. A replica whose state does not match is asked no more; a silent or slow one is
 * replaced after a timeout.
 *
 * <p>Serving: the executor keeps the state of this replica's checkpoints from the last stable one
 * on (frozen, serialized on the first fetch); this class decides which it still needs and answers
 * fetches by asking the executor for chunks.
 */
final class StateTransfer {
  /** Old checkpoints (below the stable one) kept for peers still fetching them, at most. */
  static final int OLD_SNAPSHOTS_MAX = 1;

  /** A checkpoint whose state the executor holds frozen, and when a peer last fetched from it. */
  private static final class Retained {
    final ByteString digest;
    long lastServedMs = Long.MIN_VALUE;

    Retained(ByteString digest) {
      this.digest = digest;
    }
  }

  private final ReplicaState state;
  private final Outbox outbox;
  private final TreeMap<Long, Retained> retained = new TreeMap<>();
  private final Set<Integer> distrusted = new HashSet<>();
  private long stableSequence;
  private long lastChunkMs = Long.MIN_VALUE;

  // The transfer in progress, if any.
  private long target = -1;
  private ByteString targetDigest;
  private List<SignedMessage> targetProof = List.of();
  private int source = -1;
  /** What arrived so far, grown as chunks come (never sized by what a source claims). */
  private java.io.ByteArrayOutputStream buffer;
  private long total = -1;
  private int received;
  private long deadlineMs;
  /** The whole state arrived and waits for the executor to check and install it. */
  private boolean installing;

  private long transfers;
  private long bytesFetched;

  StateTransfer(ReplicaState state, Outbox outbox) {
    this.state = state;
    this.outbox = outbox;
  }

  boolean active() {
    return target >= 0;
  }

  long transfersCompleted() {
    return transfers;
  }

  long bytesFetched() {
    return bytesFetched;
  }

  ByteString targetDigest() {
    return targetDigest;
  }

  List<SignedMessage> targetProof() {
    return targetProof;
  }

  /** The executor froze the state of this replica's checkpoint {@code sequence}. */
  void retain(long sequence, ByteString digest) {
    retained.put(sequence, new Retained(digest));
  }

  /** A checkpoint became stable: older snapshots are no longer needed, unless a peer fetches one. */
  void stable(long sequence) {
    stableSequence = sequence;
    releaseIdle();
  }

  /**
   * Lets the executor drop snapshots older than the last stable checkpoint, except the newest one
   * a peer is still fetching: a transfer slower than the checkpoint rate must be able to finish,
   * but peers fetching old checkpoints cannot make this replica keep many of them.
   */
  private void releaseIdle() {
    long keepWhileServedMs = 2L * state.settings.viewChangeTimeoutMs();
    int kept = 0;
    var it = retained.headMap(stableSequence, false).descendingMap().entrySet().iterator();
    while (it.hasNext()) {
      var e = it.next();
      Retained r = e.getValue();
      boolean beingFetched = r.lastServedMs != Long.MIN_VALUE && state.nowMs - r.lastServedMs < keepWhileServedMs;
      if (beingFetched && kept < OLD_SNAPSHOTS_MAX) {
        kept++;
      } else {
        outbox.effects().releasedSnapshots().add(e.getKey());
        it.remove();
      }
    }
  }

  /** Starts (or moves to a newer) transfer of the state of stable checkpoint {@code sequence}. */
  void start(long sequence, ByteString digest, List<SignedMessage> proof) {
    if (sequence <= state.lastHandedOut || (active() && target >= sequence)) {
      return;
    }
    if (installing) {
      return; // the executor is checking a whole state; what came after is fetched next
    }
    if (active() && received > 0 && state.nowMs - lastChunkMs < state.settings.viewChangeTimeoutMs()) {
      return; // a transfer that is moving finishes first; what came after is fetched next
    }
    target = sequence;
    targetDigest = digest;
    targetProof = List.copyOf(proof);
    source = -1;
    nextSource();
  }

  /** Restarts the fetch from the beginning with the next replica it still trusts. */
  private void nextSource() {
    buffer = null;
    total = -1;
    received = 0;
    int from = state.memberIndex(source < 0 ? state.id : source);
    for (int i = 1; i <= state.n; i++) {
      int candidate = state.members[(Math.max(from, 0) + i) % state.n];
      if (candidate != state.id && !distrusted.contains(candidate)) {
        source = candidate;
        request();
        return;
      }
    }
    // Everyone lied or failed once: forgive and try again (f of them at most are faulty).
    distrusted.clear();
    source = state.members[(state.memberIndex(state.id) + 1) % state.n];
    request();
  }

  private void request() {
    deadlineMs = state.nowMs + state.settings.viewChangeTimeoutMs();
    outbox.send(source, ReplicaMessage.newBuilder().setFetchState(FetchState.newBuilder().setSequence(target)
        .setStateDigest(targetDigest).setOffset(received).setReplicaId(state.id)).build());
  }

  void tick() {
    if (retained.size() > 1) {
      releaseIdle();
    }
    if (active() && !installing && state.nowMs >= deadlineMs) {
      outbox.reject(Rejection.STATE_SOURCE_SILENT, "replica %d sent nothing for checkpoint %d", source, target);
      if (state.lowWatermark > target) {
        // A later checkpoint became stable while this one was being fetched (its fetch waited
        // for this one to finish): the peers may no longer hold this one at all, so fetch that.
        long newer = state.lowWatermark;
        target = -1;
        received = 0;
        start(newer, state.stableDigest, state.stableProof);
        return;
      }
      nextSource();
    }
  }

  /** A peer asks for a chunk of a checkpoint's state: ask the executor for it if it is held. */
  void onFetch(int sender, FetchState fetch) {
    if (fetch.getReplicaId() != sender) {
      outbox.reject(Rejection.SENDER_NOT_SIGNER, "fetch names %d, signed by %d", fetch.getReplicaId(), sender);
      return;
    }
    Retained r = retained.get(fetch.getSequence());
    boolean old = fetch.getSequence() < stableSequence;
    if (r != null && old && r.lastServedMs == Long.MIN_VALUE) {
      r = null; // an old checkpoint nobody was fetching: serve the stable one instead
    }
    if (r == null || !r.digest.equals(fetch.getStateDigest())) {
      // Discarded since (a newer checkpoint became stable): tell the fetcher about that one.
      outbox.reject(Rejection.FETCH_NOT_HELD, "replica %d asked for %d", sender, fetch.getSequence());
      Checkpoints.sendStableProof(state, outbox, sender);
      return;
    }
    if (fetch.getOffset() < 0) {
      outbox.reject(Rejection.MALFORMED, "fetch offset %d", fetch.getOffset());
      return;
    }
    r.lastServedMs = state.nowMs;
    outbox.effects().serves().add(new Effects.ReadStateChunk(sender, fetch.getSequence(), r.digest,
        fetch.getOffset(), state.settings.stateChunkBytesMax()));
  }

  /** The executor read a chunk a peer asked for: send it. */
  void onChunkRead(StateChunkRead read) {
    if (!read.available()) {
      outbox.reject(Rejection.MALFORMED, "fetch of checkpoint %d at offset %d beyond its state or no longer held",
          read.sequence(), read.offset());
      return;
    }
    outbox.send(read.to(), ReplicaMessage.newBuilder().setStateChunk(StateChunk.newBuilder()
        .setSequence(read.sequence()).setStateDigest(read.digest()).setOffset(read.offset())
        .setTotalBytes(read.totalBytes()).setData(read.data()).setReplicaId(state.id)).build());
  }

  /** A chunk of the state being fetched: append it; when complete, hand it to the executor. */
  void onChunk(int sender, StateChunk chunk) {
    if (!active() || installing || sender != source || chunk.getSequence() != target
        || !chunk.getStateDigest().equals(targetDigest) || chunk.getOffset() != received) {
      outbox.reject(Rejection.UNEXPECTED_STATE_CHUNK, "from %d for %d at %d", sender, chunk.getSequence(),
          chunk.getOffset());
      return;
    }
    long claimed = chunk.getTotalBytes();
    if (claimed > state.settings.stateBytesMax()) {
      distrust(sender, "claims a state of " + claimed + " bytes, more than stateBytesMax");
      return;
    }
    if (total >= 0 && claimed != total) {
      distrust(sender, "changed the state's size from " + total + " to " + claimed + " bytes");
      return;
    }
    // A correct source sends full chunks: anything shorter (a source trickling a byte at a time
    // to keep the transfer alive) or longer is a lie.
    long expected = Math.min(state.settings.stateChunkBytesMax(), claimed - received);
    if (chunk.getData().size() != expected) {
      distrust(sender, "sent " + chunk.getData().size() + " bytes at offset " + received + ", expected " + expected);
      return;
    }
    if (buffer == null) {
      total = claimed;
      buffer = new java.io.ByteArrayOutputStream((int) Math.min(claimed, state.settings.stateChunkBytesMax()));
    }
    lastChunkMs = state.nowMs;
    buffer.writeBytes(chunk.getData().toByteArray());
    received += chunk.getData().size();
    bytesFetched += chunk.getData().size();
    if (received < total) {
      request();
      return;
    }
    installing = true;
    outbox.effects().install(new Effects.InstallState(target, targetDigest, buffer.toByteArray()));
    buffer = null;
    total = -1;
  }

  /**
   * The executor checked the fetched state. Returns true if it is installed (the caller moves the
   * replica to that checkpoint); otherwise the source lied and the next one is asked.
   */
  boolean onInstalled(StateInstalled result) {
    if (!installing || result.sequence() != target) {
      throw new InvariantViolation("install report for " + result.sequence() + " while installing "
          + (installing ? target : "nothing"));
    }
    installing = false;
    if (!result.installed()) {
      distrust(source, "state does not match the certified digest");
      return false;
    }
    transfers++;
    retain(target, targetDigest);
    target = -1;
    return true;
  }

  private void distrust(int replica, String why) {
    outbox.reject(Rejection.LYING_STATE_SOURCE, "replica %d: %s", replica, why);
    distrusted.add(replica);
    nextSource();
  }
}

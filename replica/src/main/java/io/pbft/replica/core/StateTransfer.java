package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.proto.FetchState;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.StateChunk;
import io.pbft.replica.app.StateMachine;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * State transfer: a replica that learns of a stable checkpoint beyond its own state (2f + 1
 * signed CHECKPOINTs, or a NEW-VIEW) fetches that checkpoint's state from one replica at a time
 * in bounded chunks, checks it against the certified digest and installs it. A replica whose
 * state does not match is asked no more; a silent or slow one is replaced after a timeout.
 *
 * <p>Every replica keeps the snapshots of its checkpoints from the last stable one on, to serve
 * them.
 */
public final class StateTransfer {
  /** Largest state this implementation moves (one Java array). */
  static final long STATE_BYTES_MAX = Integer.MAX_VALUE - 64;

  /** A checkpoint's state, frozen when it was taken and serialized on the first fetch. */
  private static final class Retained {
    final ByteString digest;
    final StateMachine.Frozen state;
    long lastServedMs = Long.MIN_VALUE;

    Retained(ByteString digest, StateMachine.Frozen state) {
      this.digest = digest;
      this.state = state;
    }

    ByteString digest() {
      return digest;
    }

    StateMachine.Frozen state() {
      return state;
    }

    byte[] snapshot() {
      return state.bytes();
    }
  }

  private record Ahead(long sequence, ByteString digest, SignedMessage signed) {}

  private final ReplicaCore core;
  private final int id;
  private final int n;
  private final int f;
  private final int chunkBytes;
  private final TreeMap<Long, Retained> retained = new TreeMap<>();
  private static final int AHEAD_VOTES_MAX = 3;
  private final Map<Integer, TreeMap<Long, Ahead>> ahead = new HashMap<>();
  private final Set<Integer> distrusted = new HashSet<>();
  private long stableSequence;
  private long lastChunkMs = Long.MIN_VALUE;

  // The transfer in progress, if any.
  private long target = -1;
  private ByteString targetDigest;
  private List<SignedMessage> targetProof = List.of();
  private int source = -1;
  private byte[] buffer;
  private int received;
  private long nowMs;
  private long deadlineMs;
  private long startedMs;

  // Figures.
  private long transfers;
  private long bytesFetched;
  private long lastTransferMs;
  private long lastTransferBytes;

  StateTransfer(ReplicaCore core, int id, int n, int f, int chunkBytes) {
    this.core = core;
    this.id = id;
    this.n = n;
    this.f = f;
    this.chunkBytes = chunkBytes;
  }

  public boolean active() {
    return target >= 0;
  }

  public long transfersCompleted() {
    return transfers;
  }

  public long bytesFetched() {
    return bytesFetched;
  }

  /** Duration and size of the last completed transfer (for throughput figures). */
  public long lastTransferMs() {
    return lastTransferMs;
  }

  public long lastTransferBytes() {
    return lastTransferBytes;
  }

  public Set<Integer> distrusted() {
    return Set.copyOf(distrusted);
  }

  /**
   * Drops snapshots older than the last stable checkpoint, except one a peer is still fetching:
   * a transfer slower than the checkpoint rate must be able to finish.
   */
  private void releaseIdle() {
    long keepWhileServedMs = 2L * core.settings().viewChangeTimeoutMs();
    var it = retained.headMap(stableSequence, false).entrySet().iterator();
    while (it.hasNext()) {
      Retained r = it.next().getValue();
      boolean beingFetched = r.lastServedMs != Long.MIN_VALUE && nowMs - r.lastServedMs < keepWhileServedMs;
      if (!beingFetched) {
        r.state().release();
        it.remove();
      }
    }
  }

  /** Keeps the snapshot of a checkpoint this replica took, to serve it to others. */
  void retain(long sequence, ByteString digest, Execution execution) {
    Retained previous = retained.put(sequence, new Retained(digest, execution.freeze()));
    if (previous != null) {
      previous.state().release();
    }
  }

  /** A checkpoint became stable: older snapshots and votes are no longer needed. */
  void stable(long sequence) {
    stableSequence = sequence;
    releaseIdle();
    ahead.values().forEach(v -> v.headMap(sequence, true).clear());
  }

  /**
   * A CHECKPOINT beyond this replica's window: once 2f + 1 agree, fetch that state. Each replica
   * keeps a few votes here (its two lowest and its highest), so that a faulty replica's vote for
   * a far-future sequence number cannot displace its genuine vote relayed in a stable proof.
   */
  void noteAhead(int sender, long sequence, ByteString digest, SignedMessage signed) {
    TreeMap<Long, Ahead> votes = ahead.computeIfAbsent(sender, k -> new TreeMap<>());
    votes.putIfAbsent(sequence, new Ahead(sequence, digest, signed));
    while (votes.size() > AHEAD_VOTES_MAX) {
      // Drop the second highest: keep the lowest ones (what others are likely to prove) and
      // the highest (how far ahead they are).
      Long highest = votes.lastKey();
      votes.remove(votes.lowerKey(highest));
    }
    List<SignedMessage> proof = new ArrayList<>();
    for (TreeMap<Long, Ahead> v : ahead.values()) {
      Ahead a = v.get(sequence);
      if (a != null && a.digest().equals(digest)) {
        proof.add(a.signed());
      }
    }
    if (proof.size() >= 2 * f + 1) {
      core.learnStable(sequence, digest, proof);
    }
  }

  /** Starts (or moves to a newer) transfer of the state of stable checkpoint {@code sequence}. */
  void start(long sequence, ByteString digest, List<SignedMessage> proof) {
    if (sequence <= core.lastExecuted() || (active() && target >= sequence)) {
      return;
    }
    if (active() && received > 0 && nowMs - lastChunkMs < core.settings().viewChangeTimeoutMs()) {
      return; // a transfer that is moving finishes first; what came after is fetched next
    }
    target = sequence;
    targetDigest = digest;
    targetProof = List.copyOf(proof);
    startedMs = nowMs;
    source = -1;
    nextSource();
  }

  /** Restarts the fetch from the beginning with the next replica we still trust. */
  private void nextSource() {
    buffer = null;
    received = 0;
    for (int i = 1; i <= n; i++) {
      int candidate = ((source < 0 ? id : source) + i) % n;
      if (candidate != id && !distrusted.contains(candidate)) {
        source = candidate;
        request();
        return;
      }
    }
    // Everyone lied or failed once: forgive and try again (f of them at most are faulty).
    distrusted.clear();
    source = (id + 1) % n;
    request();
  }

  private void request() {
    deadlineMs = nowMs + core.settings().viewChangeTimeoutMs();
    core.send(source, ReplicaMessage.newBuilder().setFetchState(FetchState.newBuilder().setSequence(target)
        .setStateDigest(targetDigest).setOffset(received).setReplicaId(id)).build());
  }

  void tick(long now) {
    nowMs = now;
    if (retained.size() > 1) {
      releaseIdle();
    }
    if (active() && now >= deadlineMs) {
      core.reject("state transfer source silent", "replica %d sent nothing for checkpoint %d", source, target);
      nextSource();
    }
  }

  /** Serves one chunk of a retained checkpoint's state. */
  void onFetch(int sender, FetchState fetch) {
    if (fetch.getReplicaId() != sender) {
      core.reject("sender does not match signer", "fetch names %d, signed by %d", fetch.getReplicaId(), sender);
      return;
    }
    Retained r = retained.get(fetch.getSequence());
    if (r == null || !r.digest().equals(fetch.getStateDigest())) {
      // Discarded since (a newer checkpoint became stable): tell the fetcher about that one.
      core.reject("fetch for a checkpoint not held", "replica %d asked for %d", sender, fetch.getSequence());
      core.sendStableProof(sender);
      return;
    }
    if (fetch.getOffset() < 0 || fetch.getOffset() > r.snapshot().length) {
      core.reject("malformed message", "fetch offset %d beyond %d bytes", fetch.getOffset(), r.snapshot().length);
      return;
    }
    r.lastServedMs = nowMs;
    int offset = (int) fetch.getOffset();
    int length = Math.min(chunkBytes, r.snapshot().length - offset);
    core.send(sender, ReplicaMessage.newBuilder().setStateChunk(StateChunk.newBuilder()
        .setSequence(fetch.getSequence()).setStateDigest(r.digest()).setOffset(offset)
        .setTotalBytes(r.snapshot().length).setData(ByteString.copyFrom(r.snapshot(), offset, length))
        .setReplicaId(id)).build());
  }

  /** A chunk of the state being fetched: append it; when complete, check and install. */
  void onChunk(int sender, StateChunk chunk) {
    if (!active() || sender != source || chunk.getSequence() != target
        || !chunk.getStateDigest().equals(targetDigest) || chunk.getOffset() != received) {
      core.reject("unexpected state chunk", "from %d for %d at %d", sender, chunk.getSequence(), chunk.getOffset());
      return;
    }
    long total = chunk.getTotalBytes();
    if (total > STATE_BYTES_MAX || (buffer != null && total != buffer.length)
        || received + (long) chunk.getData().size() > total || (chunk.getData().isEmpty() && received < total)) {
      distrust(sender, "inconsistent state chunk sizes");
      return;
    }
    if (buffer == null) {
      buffer = new byte[(int) total];
    }
    lastChunkMs = nowMs;
    chunk.getData().copyTo(buffer, received);
    received += chunk.getData().size();
    bytesFetched += chunk.getData().size();
    if (received < total) {
      request();
      return;
    }
    long sequence = target;
    if (!core.execution.restore(sequence, buffer, targetDigest)) {
      distrust(sender, "state does not match the certified digest");
      return;
    }
    transfers++;
    lastTransferMs = nowMs - startedMs;
    lastTransferBytes = buffer.length;
    byte[] installedState = buffer;
    Retained previous = retained.put(sequence, new Retained(targetDigest, new StateMachine.Frozen() {
      @Override
      public byte[] bytes() {
        return installedState;
      }

      @Override
      public void release() {}
    }));
    if (previous != null) {
      previous.state().release();
    }
    ByteString digest = targetDigest;
    List<SignedMessage> proof = targetProof;
    target = -1;
    buffer = null;
    core.installed(sequence, digest, proof);
  }

  private void distrust(int replica, String why) {
    core.reject("lying state transfer source", "replica %d: %s", replica, why);
    distrusted.add(replica);
    nextSource();
  }
}

package io.pbft.replica.app.kv;

import com.google.protobuf.ByteString;
import io.pbft.proto.KvOperation;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.app.StateMachine.Frozen;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The built-in replicated key-value store, held in memory. Operations are serialized
 * {@link KvOperation}s, results serialized {@link KvResult}s.
 *
 * <p>The state digest is maintained incrementally ({@link KvDigest}), so {@link #stateDigest()}
 * costs the same however large the store is. {@link RocksKvStateMachine} is the same store on
 * disk: both share the operations' meaning, the digest and the snapshot format.
 */
public final class KvStateMachine implements StateMachine {
  /** Largest key accepted; larger keys are refused with BAD_OPERATION. */
  public static final int KEY_BYTES_MAX = 64 * 1024;

  private final TreeMap<ByteString, ByteString> entries = new TreeMap<>(KvSnapshotFormat.KEY_ORDER);
  private final KvDigest digest;
  private final FrozenViews frozen = new FrozenViews(entries);
  private final KvExecutor executor;
  public KvStateMachine() {
    this(null);
  }

  /**
   * A store that shares the digest's entry hashes with the other stores given the same {@code
   * cache} (the replicas of one simulation); null for none. Digests are the same either way.
   */
  public KvStateMachine(KvDigestCache cache) {
    this.digest = new KvDigest(cache);
    this.executor = new KvExecutor(digest);
  }

  private final KvEntries view = new KvEntries() {
    @Override
    public ByteString get(ByteString key) {
      return entries.get(key);
    }

    @Override
    public void put(ByteString key, ByteString value) {
      frozen.beforeChange(key);
      entries.put(key, value);
    }

    @Override
    public void remove(ByteString key) {
      frozen.beforeChange(key);
      entries.remove(key);
    }
  };

  @Override
  public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
    return executor.execute(view, operations);
  }

  @Override
  public byte[] query(byte[] operation) {
    return executor.query(view, operation);
  }

  @Override
  public byte[] stateDigest() {
    return digest.digest();
  }

  /** Number of keys stored. */
  public int size() {
    return entries.size();
  }

  /** See {@link KvSnapshotFormat} for the format. */
  @Override
  public byte[] snapshot() {
    KvSnapshotFormat.Writer writer = new KvSnapshotFormat.Writer(entries.size());
    for (Map.Entry<ByteString, ByteString> e : entries.entrySet()) {
      writer.entry(e.getKey(), e.getValue());
    }
    return writer.finish();
  }

  /** Copy-on-write: costs nothing now, and memory only for the keys that change afterwards. */
  @Override
  public Frozen freeze() {
    return frozen.freeze();
  }

  /**
   * Replaces the state with the snapshot's. The snapshot may come from a faulty replica, so it
   * is parsed strictly and the state is left untouched if it is malformed.
   *
   * @throws IllegalArgumentException if the bytes are not a well-formed snapshot
   */
  @Override
  public void restore(byte[] snapshot) {
    TreeMap<ByteString, ByteString> restored = new TreeMap<>(KvSnapshotFormat.KEY_ORDER);
    KvSnapshotFormat.read(snapshot, restored::put);
    frozen.beforeReplace();
    entries.clear();
    digest.clear();
    for (Map.Entry<ByteString, ByteString> e : restored.entrySet()) {
      entries.put(e.getKey(), e.getValue());
      digest.add(e.getKey(), e.getValue());
    }
  }
}

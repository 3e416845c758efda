package io.pbft.replica.app.kv;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.KvCompareAndSet;
import io.pbft.proto.KvOperation;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The built-in replicated key-value store. Operations are serialized {@link KvOperation}s,
 * results serialized {@link KvResult}s.
 *
 * <p>The state digest is maintained incrementally: every entry contributes a hash vector to a
 * running sum ({@link SetHash}), so a write costs two entry hashes and {@link #stateDigest()}
 * costs the same however large the store is. Checkpoints are taken every K batches, so a digest
 * that cost O(state) would dominate execution on a big store.
 */
public final class KvStateMachine implements StateMachine {
  /** Largest key accepted; larger keys are refused with BAD_OPERATION. */
  public static final int KEY_BYTES_MAX = 64 * 1024;

  /** Leads every snapshot so a foreign or future format is refused rather than misread. */
  private static final byte[] SNAPSHOT_MAGIC = "pbkv".getBytes(StandardCharsets.US_ASCII);
  private static final int SNAPSHOT_VERSION = 1;

  private static final Comparator<ByteString> KEY_ORDER = ByteString.unsignedLexicographicalComparator();
  // Encoded once; handed out as copies so a caller that mutates a result cannot corrupt the next.
  private static final byte[] OK = encode(status(KvResult.Status.OK));
  private static final byte[] NOT_FOUND = encode(status(KvResult.Status.NOT_FOUND));

  private final TreeMap<ByteString, ByteString> entries = new TreeMap<>(KEY_ORDER);
  private final MessageDigest sha256 = newSha256();
  private final SetHash hash = new SetHash();
  /** Digest of the current state; null after any change. */
  private byte[] digest;

  @Override
  public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
    List<byte[]> results = new ArrayList<>(operations.size());
    for (Operation operation : operations) {
      results.add(apply(parse(operation.payload())));
    }
    return results;
  }

  @Override
  public byte[] query(byte[] operation) {
    KvOperation op = parse(operation);
    if (op == null || op.getOpCase() != KvOperation.OpCase.GET) {
      return bad("a read-only query must be a get");
    }
    return get(op.getGet().getKey());
  }

  @Override
  public byte[] stateDigest() {
    if (digest == null) {
      sha256.reset();
      sha256.update(hash.toBytes());
      sha256.update(ByteBuffer.allocate(Long.BYTES).putLong(entries.size()).array());
      digest = sha256.digest();
    }
    return digest.clone();
  }

  /** Number of keys stored. */
  public int size() {
    return entries.size();
  }

  // ---------------------------------------------------------------- operations

  /** Null for bytes that are not an operation: the caller answers BAD_OPERATION. */
  private static KvOperation parse(byte[] payload) {
    if (payload == null) {
      return null;
    }
    try {
      return KvOperation.parseFrom(payload);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  private byte[] apply(KvOperation op) {
    if (op == null) {
      return bad("not a key-value operation");
    }
    return switch (op.getOpCase()) {
      case PUT -> put(op.getPut().getKey(), op.getPut().getValue());
      case GET -> get(op.getGet().getKey());
      case DELETE -> delete(op.getDelete().getKey());
      case CAS -> compareAndSet(op.getCas());
      case OP_NOT_SET -> bad("no operation set");
    };
  }

  /** A refusal that says why; the client shows the reason. */
  private static byte[] bad(String reason) {
    return encode(status(KvResult.Status.BAD_OPERATION).setValue(ByteString.copyFromUtf8(reason)));
  }

  private byte[] put(ByteString key, ByteString value) {
    if (key.size() > KEY_BYTES_MAX) {
      return bad("key of " + key.size() + " bytes exceeds " + KEY_BYTES_MAX);
    }
    store(key, value);
    return OK.clone();
  }

  private byte[] get(ByteString key) {
    if (key.size() > KEY_BYTES_MAX) {
      return bad("key of " + key.size() + " bytes exceeds " + KEY_BYTES_MAX);
    }
    ByteString value = entries.get(key);
    if (value == null) {
      return NOT_FOUND.clone();
    }
    return encode(status(KvResult.Status.OK).setFound(true).setValue(value));
  }

  private byte[] delete(ByteString key) {
    if (key.size() > KEY_BYTES_MAX) {
      return bad("key of " + key.size() + " bytes exceeds " + KEY_BYTES_MAX);
    }
    ByteString old = entries.remove(key);
    if (old == null) {
      return NOT_FOUND.clone();
    }
    hash.subtract(expand(key, old));
    digest = null;
    return OK.clone();
  }

  private byte[] compareAndSet(KvCompareAndSet cas) {
    ByteString key = cas.getKey();
    // proto3 cannot tell an empty `expected` from an absent one, so expected_absent with a
    // non-empty `expected` is a contradiction, not a request we could guess the meaning of.
    if (key.size() > KEY_BYTES_MAX) {
      return bad("key of " + key.size() + " bytes exceeds " + KEY_BYTES_MAX);
    }
    if (cas.getExpectedAbsent() && !cas.getExpected().isEmpty()) {
      return bad("compare-and-set expects the key both absent and equal to a value");
    }
    ByteString current = entries.get(key);
    boolean matches = cas.getExpectedAbsent() ? current == null : cas.getExpected().equals(current);
    if (!matches) {
      KvResult.Builder failed = status(KvResult.Status.CAS_FAILED).setFound(current != null);
      if (current != null) {
        failed.setValue(current);
      }
      return encode(failed);
    }
    store(key, cas.getNewValue());
    return OK.clone();
  }

  private void store(ByteString key, ByteString value) {
    ByteString old = entries.put(key, value);
    if (value.equals(old)) {
      return;
    }
    if (old != null) {
      hash.subtract(expand(key, old));
    }
    hash.add(expand(key, value));
    digest = null;
  }

  private static KvResult.Builder status(KvResult.Status status) {
    return KvResult.newBuilder().setStatus(status);
  }

  private static byte[] encode(KvResult.Builder result) {
    return result.build().toByteArray();
  }

  // ---------------------------------------------------------------- digest

  /**
   * The entry's contribution to the set hash: SHA-256(len(key) || key || value) as a seed,
   * expanded to {@link SetHash#BYTES} bytes by SHA-256 in counter mode.
   */
  private byte[] expand(ByteString key, ByteString value) {
    sha256.reset();
    sha256.update(ByteBuffer.allocate(Integer.BYTES).putInt(key.size()).array());
    sha256.update(key.asReadOnlyByteBuffer());
    sha256.update(value.asReadOnlyByteBuffer());
    byte[] seed = sha256.digest();
    byte[] out = new byte[SetHash.BYTES];
    try {
      for (int block = 0; block < SetHash.BYTES / 32; block++) {
        sha256.update(seed);
        sha256.update((byte) block);
        sha256.digest(out, block * 32, 32);
      }
    } catch (DigestException e) {
      throw new IllegalStateException("a 32-byte slot always fits a SHA-256 digest", e);
    }
    return out;
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  /**
   * A homomorphic hash of a set (LtHash, Bellare-Micciancio's AdHash over a vector): the
   * lane-wise sum mod 2^16 of 1024-lane entry hashes. Adding and removing an entry are one
   * vector addition or subtraction. A single 256-bit sum would be enough against accidents but
   * not against a faulty replica that crafts a snapshot to match a checkpoint digest: sums of
   * freely chosen hashes mod 2^256 fall to generalized-birthday attacks, while this width keeps
   * roughly 200 bits of security.
   */
  static final class SetHash {
    static final int LANES = 1024;
    static final int BYTES = LANES * 2;

    // char is Java's unsigned 16-bit type: its arithmetic wraps exactly mod 2^16.
    private final char[] lanes = new char[LANES];

    void add(byte[] element) {
      for (int i = 0; i < LANES; i++) {
        lanes[i] += lane(element, i);
      }
    }

    void subtract(byte[] element) {
      for (int i = 0; i < LANES; i++) {
        lanes[i] -= lane(element, i);
      }
    }

    void clear() {
      Arrays.fill(lanes, (char) 0);
    }

    /** Little-endian lanes. */
    byte[] toBytes() {
      byte[] out = new byte[BYTES];
      for (int i = 0; i < LANES; i++) {
        out[2 * i] = (byte) lanes[i];
        out[2 * i + 1] = (byte) (lanes[i] >>> 8);
      }
      return out;
    }

    private static char lane(byte[] element, int i) {
      return (char) ((element[2 * i] & 0xff) | (element[2 * i + 1] & 0xff) << 8);
    }
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Format: "pbkv", version (int), entry count (long), then per entry in unsigned key order:
   * key length (int), key, value length (int), value. All integers big-endian.
   */
  @Override
  public byte[] snapshot() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.write(SNAPSHOT_MAGIC);
      out.writeInt(SNAPSHOT_VERSION);
      out.writeLong(entries.size());
      for (Map.Entry<ByteString, ByteString> e : entries.entrySet()) {
        out.writeInt(e.getKey().size());
        e.getKey().writeTo(out);
        out.writeInt(e.getValue().size());
        e.getValue().writeTo(out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory cannot fail", e);
    }
    return bytes.toByteArray();
  }

  /**
   * Replaces the state with the snapshot's. The snapshot may come from a faulty replica, so it
   * is parsed strictly (keys in strictly increasing order, no trailing bytes) and the state is
   * left untouched if it is malformed.
   *
   * @throws IllegalArgumentException if the bytes are not a well-formed snapshot
   */
  @Override
  public void restore(byte[] snapshot) {
    TreeMap<ByteString, ByteString> restored = readSnapshot(snapshot);
    entries.clear();
    hash.clear();
    for (Map.Entry<ByteString, ByteString> e : restored.entrySet()) {
      entries.put(e.getKey(), e.getValue());
      hash.add(expand(e.getKey(), e.getValue()));
    }
    digest = null;
  }

  private static TreeMap<ByteString, ByteString> readSnapshot(byte[] snapshot) {
    if (snapshot == null) {
      throw new IllegalArgumentException("no snapshot");
    }
    ByteBuffer in = ByteBuffer.wrap(snapshot);
    TreeMap<ByteString, ByteString> restored = new TreeMap<>(KEY_ORDER);
    try {
      byte[] magic = new byte[SNAPSHOT_MAGIC.length];
      in.get(magic);
      int version = in.getInt();
      if (!Arrays.equals(magic, SNAPSHOT_MAGIC) || version != SNAPSHOT_VERSION) {
        throw new IllegalArgumentException("not a version " + SNAPSHOT_VERSION + " key-value snapshot");
      }
      long count = in.getLong();
      if (count < 0) {
        throw new IllegalArgumentException("negative entry count " + count);
      }
      ByteString previous = null;
      for (long i = 0; i < count; i++) {
        ByteString key = readChunk(in, "key");
        if (key.size() > KEY_BYTES_MAX) {
          throw new IllegalArgumentException("entry " + i + ": key of " + key.size() + " bytes exceeds the limit");
        }
        if (previous != null && KEY_ORDER.compare(previous, key) >= 0) {
          throw new IllegalArgumentException("entry " + i + ": keys are not in strictly increasing order");
        }
        restored.put(key, readChunk(in, "value"));
        previous = key;
      }
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("snapshot is truncated", e);
    }
    if (in.hasRemaining()) {
      throw new IllegalArgumentException("snapshot has " + in.remaining() + " trailing bytes");
    }
    return restored;
  }

  private static ByteString readChunk(ByteBuffer in, String what) {
    int length = in.getInt();
    // Checked before allocating: a forged length must not make us allocate gigabytes.
    if (length < 0 || length > in.remaining()) {
      throw new IllegalArgumentException(what + " length " + length + " exceeds the snapshot");
    }
    return ByteString.copyFrom(in, length);
  }
}

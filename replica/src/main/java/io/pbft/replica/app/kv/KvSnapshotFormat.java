package io.pbft.replica.app.kv;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;

/**
 * The key-value snapshot format, shared by both stores so that state transfer works between a
 * replica keeping its state in memory and one keeping it in RocksDB.
 *
 * <p>Format: "pbkv", version (int), entry count (long), then per entry in unsigned key order:
 * key length (int), key, value length (int), value. All integers big-endian.
 */
final class KvSnapshotFormat {
  /** Unsigned lexicographic: the order of snapshot entries, and RocksDB's default key order. */
  static final Comparator<ByteString> KEY_ORDER = ByteString.unsignedLexicographicalComparator();

  /** Leads every snapshot so a foreign or future format is refused rather than misread. */
  private static final byte[] MAGIC = "pbkv".getBytes(StandardCharsets.US_ASCII);
  private static final int VERSION = 1;

  private KvSnapshotFormat() {}

  /** Receives the entries of a snapshot, in key order. */
  @FunctionalInterface
  interface EntrySink {
    void entry(ByteString key, ByteString value);
  }

  /** Writes a snapshot entry by entry; the caller supplies entries in key order. */
  static final class Writer {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final DataOutputStream out = new DataOutputStream(bytes);
    private final long count;
    private long written;

    Writer(long count) {
      this.count = count;
      try {
        out.write(MAGIC);
        out.writeInt(VERSION);
        out.writeLong(count);
      } catch (IOException e) {
        throw new UncheckedIOException("writing to memory cannot fail", e);
      }
    }

    void entry(ByteString key, ByteString value) {
      try {
        out.writeInt(key.size());
        key.writeTo(out);
        out.writeInt(value.size());
        value.writeTo(out);
      } catch (IOException e) {
        throw new UncheckedIOException("writing to memory cannot fail", e);
      }
      written++;
    }

    /** The snapshot; refuses one whose entries do not add up to the count in its header. */
    byte[] finish() {
      if (written != count) {
        throw new IllegalStateException("snapshot header announces " + count + " entries but " + written
            + " were written: the store's entry count is out of step with its content");
      }
      return bytes.toByteArray();
    }
  }

  /**
   * Parses a snapshot, handing each entry to {@code sink}. The snapshot may come from a faulty
   * replica, so it is parsed strictly (keys in strictly increasing order, no trailing bytes).
   * The sink may have seen entries before a malformation is found: callers that must leave
   * their state alone on a bad snapshot validate it with a no-op sink first.
   *
   * @return the number of entries
   * @throws IllegalArgumentException if the bytes are not a well-formed snapshot
   */
  static long read(byte[] snapshot, EntrySink sink) {
    if (snapshot == null) {
      throw new IllegalArgumentException("no snapshot");
    }
    ByteBuffer in = ByteBuffer.wrap(snapshot);
    long count;
    try {
      byte[] magic = new byte[MAGIC.length];
      in.get(magic);
      int version = in.getInt();
      if (!Arrays.equals(magic, MAGIC) || version != VERSION) {
        throw new IllegalArgumentException("not a version " + VERSION + " key-value snapshot");
      }
      count = in.getLong();
      if (count < 0) {
        throw new IllegalArgumentException("negative entry count " + count);
      }
      ByteString previous = null;
      for (long i = 0; i < count; i++) {
        ByteString key = readChunk(in, "key");
        if (key.size() > KvStateMachine.KEY_BYTES_MAX) {
          throw new IllegalArgumentException("entry " + i + ": key of " + key.size() + " bytes exceeds the limit");
        }
        if (previous != null && KEY_ORDER.compare(previous, key) >= 0) {
          throw new IllegalArgumentException("entry " + i + ": keys are not in strictly increasing order");
        }
        sink.entry(key, readChunk(in, "value"));
        previous = key;
      }
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("snapshot is truncated", e);
    }
    if (in.hasRemaining()) {
      throw new IllegalArgumentException("snapshot has " + in.remaining() + " trailing bytes");
    }
    return count;
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

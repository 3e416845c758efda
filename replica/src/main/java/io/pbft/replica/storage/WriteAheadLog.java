package io.pbft.replica.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * A segmented append-only log of opaque records in one directory: what a replica must not
 * forget across a crash (its votes, the batches it committed) goes here before it acts on it.
 *
 * <p>Each record is framed as [length u32][CRC32C u32 of the payload][payload], big-endian.
 * Records are numbered from 1; a segment file is named by the index of its first record
 * ({@code 00000000000000001234.wal}) and a new one is started once the current one would grow
 * past {@link Options#segmentBytes()}. {@link #append} only buffers; {@link #sync} writes and
 * fsyncs everything appended since the last sync at once (group commit), and only records
 * covered by a completed sync are durable.
 *
 * <p>At {@link #open} a torn tail (damage at the end of the last segment with no valid record
 * after it, which is what a crash during a write leaves) is cut and reported; any other damage
 * throws {@link CorruptLogException}. An I/O error while writing or syncing fails the log for
 * good: every later {@link #append} or {@link #sync} throws the same {@link StorageException}.
 *
 * <p>Not thread-safe: one thread owns the log.
 */
public final class WriteAheadLog implements AutoCloseable {
  /**
   * Appended records are written to the file (without fsync) once this many bytes are buffered,
   * so memory stays bounded between syncs.
   */
  private static final int WRITE_BUFFER_BYTES = 1 << 20;
  private static final Set<OpenOption> CREATE_SEGMENT = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
  private static final Set<OpenOption> REOPEN_SEGMENT = Set.of(StandardOpenOption.WRITE);

  /** Receives the records found at open, in index order. */
  @FunctionalInterface
  public interface RecordVisitor {
    void record(long index, byte[] payload);
  }

  /**
   * Opens segment files for writing. The default is {@link FileChannel#open}; a substitute can
   * wrap the channel (fault injection in tests: a disk that fills up or fails).
   */
  @FunctionalInterface
  public interface ChannelOpener {
    FileChannel open(Path file, Set<OpenOption> options) throws IOException;
  }

  /**
   * The result of {@link #open}.
   *
   * @param log the log, positioned to append after the last valid record
   * @param records number of valid records found (and handed to the visitor)
   * @param tornTailBytes bytes cut off the end of the last segment; 0 if the tail was intact
   * @param tornTail what was wrong with the cut tail and where, if anything was cut
   */
  public record Opened(WriteAheadLog log, long records, long tornTailBytes, Optional<String> tornTail) {}

  private final Path dir;
  private final Options options;
  private final CRC32C crc = new CRC32C();
  /** Sealed segments: first index mapped to size in bytes. */
  private final TreeMap<Long, Long> sealed = new TreeMap<>();
  private long currentFirstIndex;
  private FileChannel current;
  private long currentBytes;
  /** Frames appended but not yet written; the first has index {@code writtenIndex + 1}. */
  private final List<byte[]> pending = new ArrayList<>();
  private long pendingBytes;
  private long writtenIndex;
  private long lastIndex;
  /** A segment was created since the last directory fsync. */
  private boolean directoryDirty;
  private StorageException failure;
  private boolean closed;

  private WriteAheadLog(Path dir, Options options) {
    this.dir = dir;
    this.options = options;
  }

  /**
   * Opens the log in {@code dir} (created if missing), handing every valid record to
   * {@code visitor} in order before returning. On {@link CorruptLogException} the visitor may
   * already have seen the records before the damage.
   *
   * @throws CorruptLogException if the log is damaged other than at its tail
   * @throws StorageException if the directory cannot be read or written
   */
  public static Opened open(Path dir, Options options, RecordVisitor visitor) {
    WriteAheadLog log = new WriteAheadLog(dir, options);
    try {
      Files.createDirectories(dir);
      WalRecovery.Result found = WalRecovery.recover(dir, options.recordBytesMax(), visitor);
      log.lastIndex = found.lastIndex();
      log.writtenIndex = found.lastIndex();
      if (found.segments().isEmpty()) {
        log.startSegment(1);
      } else {
        Map.Entry<Long, Long> last = found.segments().lastEntry();
        log.sealed.putAll(found.segments().headMap(last.getKey()));
        log.currentFirstIndex = last.getKey();
        log.currentBytes = last.getValue();
        log.current = options.opener().open(dir.resolve(WalRecovery.segmentName(last.getKey())), REOPEN_SEGMENT);
        log.current.position(log.currentBytes);
      }
      log.syncDirectory();
      return new Opened(log, found.records(), found.tornTailBytes(), Optional.ofNullable(found.tornTail()));
    } catch (IOException e) {
      log.closeQuietly();
      throw new StorageException("cannot open the write-ahead log in " + dir + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      log.closeQuietly();
      throw e;
    }
  }

  /**
   * Buffers a record and returns its index. It is durable once a later {@link #sync()} returns.
   *
   * @throws IllegalArgumentException if the record is empty or larger than the maximum
   * @throws StorageException if the log has failed (or fails writing out its buffer now)
   */
  public long append(byte[] record) {
    ensureUsable();
    if (record.length == 0) {
      // An empty record would frame as eight zero bytes, which is also what a crash leaves.
      throw new IllegalArgumentException("write-ahead log records must not be empty");
    }
    if (record.length > options.recordBytesMax()) {
      throw new IllegalArgumentException("a record of " + record.length + " bytes exceeds the write-ahead log's maximum of "
          + options.recordBytesMax());
    }
    crc.reset();
    crc.update(record);
    byte[] frame = ByteBuffer.allocate(WalRecovery.HEADER_BYTES + record.length)
        .putInt(record.length).putInt((int) crc.getValue()).put(record).array();
    pending.add(frame);
    pendingBytes += frame.length;
    lastIndex++;
    if (pendingBytes >= WRITE_BUFFER_BYTES) {
      try {
        writePending();
      } catch (IOException e) {
        throw fail("writing", e);
      }
    }
    return lastIndex;
  }

  /**
   * Writes every buffered record and fsyncs: when this returns, every record appended so far is
   * durable. One fsync covers any number of appends.
   *
   * @throws StorageException if writing or syncing fails; the log is failed from then on
   */
  public void sync() {
    ensureUsable();
    try {
      writePending();
      current.force(false);
      syncDirectory();
    } catch (IOException e) {
      throw fail("syncing", e);
    }
  }

  /**
   * Deletes every segment all of whose records have indexes below {@code index}, oldest first.
   * The segment being written is never deleted, so disk use stays bounded by what lies after
   * the last stable checkpoint plus one segment.
   */
  public void truncateBefore(long index) {
    if (closed) {
      throw new IllegalStateException("write-ahead log in " + dir + " is closed");
    }
    Iterator<Map.Entry<Long, Long>> it = sealed.entrySet().iterator();
    boolean deleted = false;
    try {
      while (it.hasNext()) {
        long first = it.next().getKey();
        Long next = sealed.higherKey(first);
        long nextFirst = next != null ? next : currentFirstIndex;
        if (nextFirst > index) {
          break;  // this segment holds index - 1 or later
        }
        Files.deleteIfExists(dir.resolve(WalRecovery.segmentName(first)));
        it.remove();
        deleted = true;
      }
      if (deleted) {
        // Otherwise a crash could bring back deleted segments; harmless, but disk use would jump.
        directoryDirty = true;
        syncDirectory();
      }
    } catch (IOException e) {
      throw new StorageException("cannot delete old segments of the write-ahead log in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Bytes in segment files, not counting records still buffered in memory. */
  public long diskBytes() {
    long bytes = currentBytes;
    for (long size : sealed.values()) {
      bytes += size;
    }
    return bytes;
  }

  /** Index of the last record appended (durable or not); 0 if there has never been one. */
  public long lastIndex() {
    return lastIndex;
  }

  /** Index of the oldest record still on disk or buffered; {@code lastIndex() + 1} if none. */
  public long firstIndex() {
    return sealed.isEmpty() ? currentFirstIndex : sealed.firstKey();
  }

  /** Syncs what was appended (unless the log has failed) and closes the files. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    try {
      if (failure == null) {
        sync();
      }
    } finally {
      closeQuietly();
    }
  }

  // ---------------------------------------------------------------- writing

  private void writePending() throws IOException {
    int i = 0;
    while (i < pending.size()) {
      if (currentBytes > 0 && currentBytes + pending.get(i).length > options.segmentBytes()) {
        rollTo(writtenIndex + 1);
      }
      // Everything that fits into this segment, in one gathering write; at least one frame, so a
      // record larger than a segment gets a segment of its own.
      int end = i + 1;
      long bytes = pending.get(i).length;
      while (end < pending.size() && currentBytes + bytes + pending.get(end).length <= options.segmentBytes()) {
        bytes += pending.get(end).length;
        end++;
      }
      ByteBuffer[] buffers = new ByteBuffer[end - i];
      for (int j = i; j < end; j++) {
        buffers[j - i] = ByteBuffer.wrap(pending.get(j));
      }
      long left = bytes;
      while (left > 0) {
        left -= current.write(buffers);
      }
      currentBytes += bytes;
      writtenIndex += end - i;
      i = end;
    }
    pending.clear();
    pendingBytes = 0;
  }

  private void rollTo(long firstIndex) throws IOException {
    // The next sync() fsyncs only the current segment, so the one being sealed is synced now.
    current.force(false);
    current.close();
    sealed.put(currentFirstIndex, currentBytes);
    startSegment(firstIndex);
  }

  private void startSegment(long firstIndex) throws IOException {
    current = options.opener().open(dir.resolve(WalRecovery.segmentName(firstIndex)), CREATE_SEGMENT);
    currentFirstIndex = firstIndex;
    currentBytes = 0;
    directoryDirty = true;
  }

  /** A new or deleted file is durable only once its directory is fsynced. */
  private void syncDirectory() throws IOException {
    if (!directoryDirty) {
      return;
    }
    try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
      directory.force(true);
    }
    directoryDirty = false;
  }

  // ---------------------------------------------------------------- failure

  private void ensureUsable() {
    if (failure != null) {
      throw new StorageException(failure.getMessage(), failure);
    }
    if (closed) {
      throw new IllegalStateException("write-ahead log in " + dir + " is closed");
    }
  }

  /**
   * Fails the log for good. After a failed write the file may end in part of a frame, and after
   * a failed fsync the kernel may have dropped the unsynced pages while marking them clean, so
   * a retry could report success for data that is gone. Cutting back to the last fully written
   * frame is only tidiness: a later open treats a partial frame as a torn tail anyway.
   */
  private StorageException fail(String action, IOException e) {
    Path file = dir.resolve(WalRecovery.segmentName(currentFirstIndex));
    failure = new StorageException("write-ahead log failed " + action + " " + file + ": " + e.getMessage()
        + " (disk full or failing?); it accepts no more records, and records not yet synced may be lost", e);
    try {
      current.truncate(currentBytes);
    } catch (IOException | RuntimeException ignored) {
      // Best effort only; see above.
    }
    return failure;
  }

  private void closeQuietly() {
    closed = true;
    if (current != null) {
      try {
        current.close();
      } catch (IOException ignored) {
        // Nothing written is lost by a failed close; sync() already reported anything that mattered.
      }
    }
  }

  // ---------------------------------------------------------------- options

  /** Bounds of a log. Immutable; the {@code with} methods return changed copies. */
  public static final class Options {
    public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
    public static final int DEFAULT_RECORD_BYTES_MAX = 64 << 20;
    /** Keeps every segment mappable as one buffer at open. */
    private static final long SIZE_LIMIT = 1L << 30;

    private final long segmentBytes;
    private final int recordBytesMax;
    private final ChannelOpener opener;

    private Options(long segmentBytes, int recordBytesMax, ChannelOpener opener) {
      this.segmentBytes = segmentBytes;
      this.recordBytesMax = recordBytesMax;
      this.opener = opener;
    }

    public static Options defaults() {
      return new Options(DEFAULT_SEGMENT_BYTES, DEFAULT_RECORD_BYTES_MAX, FileChannel::open);
    }

    /** A new segment is started once the current one would grow past this (1 byte to 1 GiB). */
    public Options withSegmentBytes(long bytes) {
      if (bytes < 1 || bytes > SIZE_LIMIT) {
        throw new IllegalArgumentException("segment size must be 1 byte to 1 GiB, not " + bytes);
      }
      return new Options(bytes, recordBytesMax, opener);
    }

    /** Largest record accepted (1 byte to 1 GiB). */
    public Options withRecordBytesMax(int bytes) {
      if (bytes < 1 || bytes > SIZE_LIMIT) {
        throw new IllegalArgumentException("record size maximum must be 1 byte to 1 GiB, not " + bytes);
      }
      return new Options(segmentBytes, bytes, opener);
    }

    /** How segment files are opened for writing (default {@link FileChannel#open}). */
    public Options withOpener(ChannelOpener opener) {
      return new Options(segmentBytes, recordBytesMax, opener);
    }

    public long segmentBytes() {
      return segmentBytes;
    }

    public int recordBytesMax() {
      return recordBytesMax;
    }

    ChannelOpener opener() {
      return opener;
    }
  }
}

package io.pbft.replica.storage;

import java.nio.file.Path;

/**
 * The write-ahead log is damaged somewhere other than its unsynced tail: a record that fails its
 * checksum with valid records after it, a bad record in a sealed segment, or a missing segment.
 * Records the replica had acknowledged may be gone, so it must not trust its local state: it
 * discards it and recovers from its peers.
 */
public final class CorruptLogException extends StorageException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final long offset;

  public CorruptLogException(Path file, long offset, String reason) {
    super("write-ahead log segment " + file + " is corrupt at offset " + offset + ": " + reason);
    this.file = file;
    this.offset = offset;
  }

  /** The segment file where the damage was found. */
  public Path file() {
    return file;
  }

  /** Byte offset in {@link #file()} of the first bad record (for a missing segment: 0). */
  public long offset() {
    return offset;
  }
}

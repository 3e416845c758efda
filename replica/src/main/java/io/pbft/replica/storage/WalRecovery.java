package io.pbft.replica.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a {@link WriteAheadLog} directory at open: checks every record, hands the good ones to
 * the caller in order, cuts a torn tail off the last segment and refuses anything worse.
 *
 * <p>A crash while records are being written leaves at most the unsynced end of the last
 * segment damaged: a short frame, a length that runs past the end of the file, a checksum that
 * fails, zeros. Those records were never acknowledged, so cutting them loses nothing. The same
 * symptoms anywhere else mean acknowledged records are damaged, which a replica must not paper
 * over: it would forget votes it cast. So a bad record counts as a torn tail only in the last
 * segment and only when no valid record follows it anywhere in that segment.
 */
final class WalRecovery {
  private static final Logger log = LoggerFactory.getLogger(WalRecovery.class);
  static final int HEADER_BYTES = 8;
  private static final Pattern SEGMENT_NAME = Pattern.compile("(\\d{20})\\.wal");
  /**
   * Checksum work allowed when searching for a valid record after a bad one. Payloads full of
   * small integers could otherwise make the search quadratic; past the budget the damage is
   * reported as corruption, the safe answer.
   */
  private static final long SCAN_BUDGET_BYTES = 1L << 30;

  private WalRecovery() {}

  /**
   * What was found.
   *
   * @param segments first index of every segment mapped to its valid length in bytes
   * @param lastIndex index of the last valid record (first index - 1 when there is none)
   * @param records number of valid records
   * @param tornTailBytes bytes cut off the end of the last segment
   * @param tornTail what was wrong with the tail, or null if it was intact
   */
  record Result(TreeMap<Long, Long> segments, long lastIndex, long records, long tornTailBytes, String tornTail) {}

  static String segmentName(long firstIndex) {
    return String.format("%020d.wal", firstIndex);
  }

  static Result recover(Path dir, int recordBytesMax, WriteAheadLog.RecordVisitor visitor) throws IOException {
    TreeMap<Long, Path> files = listSegments(dir);
    TreeMap<Long, Long> segments = new TreeMap<>();
    if (files.isEmpty()) {
      return new Result(segments, 0, 0, 0, null);
    }
    long next = files.firstKey();
    long records = 0;
    for (var entry : files.entrySet()) {
      long first = entry.getKey();
      Path file = entry.getValue();
      if (first != next) {
        throw new CorruptLogException(file, 0, "the previous segment ends at index " + (next - 1)
            + " but this one starts at index " + first + ": segments are missing");
      }
      boolean last = first == files.lastKey();
      Scan scan = scan(file, first, last, recordBytesMax, visitor);
      segments.put(first, scan.validBytes);
      records += scan.records;
      next = first + scan.records;
      if (scan.tornTail != null) {
        long torn = scan.fileBytes - scan.validBytes;
        cutTail(file, scan.validBytes);
        log.warn("write-ahead log segment {}: cut {} bytes of torn tail at offset {} ({}); "
            + "they held no synced record", file, torn, scan.validBytes, scan.tornTail);
        return new Result(segments, next - 1, records, torn, scan.tornTail + " at offset " + scan.validBytes
            + " of " + file + ", " + torn + " bytes cut");
      }
    }
    return new Result(segments, next - 1, records, 0, null);
  }

  private static TreeMap<Long, Path> listSegments(Path dir) throws IOException {
    TreeMap<Long, Path> files = new TreeMap<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.wal")) {
      for (Path file : stream) {
        Matcher m = SEGMENT_NAME.matcher(file.getFileName().toString());
        if (m.matches()) {
          files.put(Long.parseLong(m.group(1)), file);
        } else {
          log.warn("write-ahead log directory {}: ignoring {}, which is not named like a segment", dir, file);
        }
      }
    }
    return files;
  }

  private record Scan(long records, long validBytes, long fileBytes, String tornTail) {}

  private static Scan scan(Path file, long first, boolean last, int recordBytesMax,
      WriteAheadLog.RecordVisitor visitor) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size > Integer.MAX_VALUE) {
        throw new CorruptLogException(file, 0, "a segment of " + size + " bytes is larger than this log writes");
      }
      // Mapped rather than read: recovery touches every byte once, and the search after a bad
      // record needs random access to the rest of the segment without copying it to the heap.
      ByteBuffer buf = size == 0 ? ByteBuffer.allocate(0) : channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
      CRC32C crc = new CRC32C();
      int offset = 0;
      long records = 0;
      while (offset < size) {
        String problem = checkFrame(buf, offset, recordBytesMax, crc);
        if (problem != null) {
          if (!last) {
            throw new CorruptLogException(file, offset, problem + " in a segment that is not the last");
          }
          String after = validRecordAfter(buf, offset + 1, recordBytesMax, crc);
          if (after != null) {
            throw new CorruptLogException(file, offset, problem + ", " + after);
          }
          return new Scan(records, offset, size, problem);
        }
        int length = buf.getInt(offset);
        byte[] payload = new byte[length];
        buf.get(offset + HEADER_BYTES, payload);
        visitor.record(first + records, payload);
        records++;
        offset += HEADER_BYTES + length;
      }
      return new Scan(records, offset, size, null);
    }
  }

  /** Null if a well-formed record starts at {@code offset}, else what is wrong with it. */
  static String checkFrame(ByteBuffer buf, int offset, int recordBytesMax, CRC32C crc) {
    int remaining = buf.limit() - offset;
    if (remaining < HEADER_BYTES) {
      return "incomplete record header (" + remaining + " of " + HEADER_BYTES + " bytes)";
    }
    long length = buf.getInt(offset) & 0xffffffffL;
    if (length == 0) {
      // The log never writes empty records, so zeros (what a crash can leave in a file's
      // unwritten end) never parse as records.
      return "record length 0";
    }
    if (length > recordBytesMax) {
      return "record length " + length + " exceeds the maximum of " + recordBytesMax;
    }
    if (length > remaining - HEADER_BYTES) {
      return "record length " + length + " runs past the end of the file (" + (remaining - HEADER_BYTES)
          + " bytes left)";
    }
    int stored = buf.getInt(offset + 4);
    int computed = crc32c(buf, offset + HEADER_BYTES, (int) length, crc);
    if (stored != computed) {
      return String.format("checksum mismatch (stored %08x, computed %08x)", stored, computed);
    }
    return null;
  }

  static int crc32c(ByteBuffer buf, int offset, int length, CRC32C crc) {
    crc.reset();
    crc.update(buf.slice(offset, length));
    return (int) crc.getValue();
  }

  /** Null if no offset from {@code from} on starts a valid record, else where one does. */
  private static String validRecordAfter(ByteBuffer buf, int from, int recordBytesMax, CRC32C crc) {
    long budget = SCAN_BUDGET_BYTES;
    for (int pos = from; pos <= buf.limit() - HEADER_BYTES; pos++) {
      long length = buf.getInt(pos) & 0xffffffffL;
      if (length == 0 || length > recordBytesMax || length > buf.limit() - pos - HEADER_BYTES) {
        continue;
      }
      budget -= length;
      if (budget < 0) {
        return "and the rest of the segment is too large to prove that no valid record follows";
      }
      if (buf.getInt(pos + 4) == crc32c(buf, pos + HEADER_BYTES, (int) length, crc)) {
        return "yet a valid record follows at offset " + pos;
      }
    }
    return null;
  }

  /** Cuts the torn tail for good, so the next append does not land after garbage. */
  private static void cutTail(Path file, long validBytes) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.truncate(validBytes);
      channel.force(true);
    }
  }
}

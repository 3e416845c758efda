package io.pbft.replica.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WriteAheadLogTest {
  /** Small segments, so a few dozen records span several of them. */
  private static final WriteAheadLog.Options SMALL = WriteAheadLog.Options.defaults().withSegmentBytes(256);

  @TempDir
  Path dir;

  private record Rec(long index, byte[] payload) {}

  /** A log opened with everything it found. */
  private record Reopened(WriteAheadLog log, List<Rec> records, WriteAheadLog.Opened opened) {}

  private Reopened open(WriteAheadLog.Options options) {
    List<Rec> records = new ArrayList<>();
    WriteAheadLog.Opened opened = WriteAheadLog.open(dir, options, (i, p) -> records.add(new Rec(i, p)));
    assertEquals(records.size(), opened.records());
    return new Reopened(opened.log(), records, opened);
  }

  private static byte[] record(int i) {
    // Varying lengths, never empty.
    return ("record-" + i + "-" + "x".repeat(i % 37)).getBytes(StandardCharsets.UTF_8);
  }

  /** Writes records 1..count with a sync every {@code syncEvery}, and closes. */
  private void write(int count, WriteAheadLog.Options options) {
    try (WriteAheadLog log = open(options).log()) {
      for (int i = 1; i <= count; i++) {
        assertEquals(i, log.append(record(i)));
        if (i % 7 == 0) {
          log.sync();
        }
      }
    }
  }

  private static void assertRecords(List<Rec> records, long first, long last) {
    assertEquals(last - first + 1, records.size());
    for (int i = 0; i < records.size(); i++) {
      assertEquals(first + i, records.get(i).index());
      assertArrayEquals(record((int) (first + i)), records.get(i).payload(), "record " + (first + i));
    }
  }

  private List<Path> segments() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.toString().endsWith(".wal")).sorted().toList();
    }
  }

  private static void modify(Path file, long offset, byte[] bytes) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.write(ByteBuffer.wrap(bytes), offset);
    }
  }

  private static void flipByte(Path file, long offset) throws IOException {
    byte[] all = Files.readAllBytes(file);
    modify(file, offset, new byte[] {(byte) (all[(int) offset] ^ 0x40)});
  }

  /** Offsets of the frames in a segment, read from their length fields. */
  private static List<Long> frameOffsets(Path file) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file));
    List<Long> offsets = new ArrayList<>();
    while (buf.remaining() >= 8) {
      offsets.add((long) buf.position());
      int length = buf.getInt();
      buf.position(buf.position() + 4 + length);
    }
    return offsets;
  }

  // ---------------------------------------------------------------- round trips

  @Test
  void recordsRoundTripAcrossSeveralSegmentsNamedByTheirFirstIndex() throws IOException {
    write(100, SMALL);
    List<Path> segments = segments();
    assertTrue(segments.size() > 5, "expected several segments, got " + segments.size());

    Reopened reopened = open(SMALL);
    assertRecords(reopened.records(), 1, 100);
    assertEquals(0, reopened.opened().tornTailBytes());
    assertTrue(reopened.opened().tornTail().isEmpty());
    long expectedFirst = 1;
    for (Path segment : segments) {
      assertEquals(String.format("%020d.wal", expectedFirst), segment.getFileName().toString());
      assertTrue(Files.size(segment) <= 256, segment + " is larger than a segment");
      expectedFirst += frameOffsets(segment).size();
    }
    assertEquals(100, reopened.log().lastIndex());
    assertEquals(1, reopened.log().firstIndex());
    reopened.log().close();
  }

  @Test
  void reopeningContinuesTheNumbering() {
    write(3, SMALL);
    try (WriteAheadLog log = open(SMALL).log()) {
      assertEquals(3, log.lastIndex());
      assertEquals(4, log.append(record(4)));
    }
    Reopened reopened = open(SMALL);
    assertRecords(reopened.records(), 1, 4);
    reopened.log().close();
  }

  @Test
  void anEmptyDirectoryGivesAnEmptyLogStartingAtOne() {
    Reopened reopened = open(WriteAheadLog.Options.defaults());
    assertEquals(0, reopened.records().size());
    assertEquals(0, reopened.log().lastIndex());
    assertEquals(1, reopened.log().firstIndex());
    assertEquals(1, reopened.log().append(record(1)));
    reopened.log().close();
  }

  @Test
  void appendOnlyBuffersAndSyncWritesToDisk() {
    try (WriteAheadLog log = open(WriteAheadLog.Options.defaults()).log()) {
      log.append(record(1));
      assertEquals(0, log.diskBytes());
      log.sync();
      assertEquals(8 + record(1).length, log.diskBytes());
    }
  }

  @Test
  void aRecordLargerThanASegmentGetsASegmentOfItsOwn() throws IOException {
    try (WriteAheadLog log = open(SMALL).log()) {
      log.append(record(1));
      log.append(new byte[1000]);
      log.append(record(3));
    }
    assertEquals(3, segments().size());
    Reopened reopened = open(SMALL);
    assertEquals(1000, reopened.records().get(1).payload().length);
    reopened.log().close();
  }

  @Test
  void recordSizeIsBounded() {
    WriteAheadLog.Options options = WriteAheadLog.Options.defaults().withRecordBytesMax(100);
    try (WriteAheadLog log = open(options).log()) {
      IllegalArgumentException tooLarge = assertThrows(IllegalArgumentException.class, () -> log.append(new byte[101]));
      assertTrue(tooLarge.getMessage().contains("101 bytes exceeds"), tooLarge.getMessage());
      assertThrows(IllegalArgumentException.class, () -> log.append(new byte[0]));
      assertEquals(1, log.append(new byte[100]));
    }
    assertThrows(IllegalArgumentException.class, () -> WriteAheadLog.Options.defaults().withSegmentBytes(0));
  }

  // ---------------------------------------------------------------- group commit

  @Test
  void oneSyncPersistsAThousandAppendsWithOneFsync() {
    List<FaultInjectingChannel> channels = new ArrayList<>();
    WriteAheadLog.Options counting = WriteAheadLog.Options.defaults().withOpener((file, options) -> {
      FaultInjectingChannel channel = new FaultInjectingChannel(FileChannel.open(file, options), Long.MAX_VALUE, false);
      channels.add(channel);
      return channel;
    });
    WriteAheadLog log = open(counting).log();
    for (int i = 1; i <= 1000; i++) {
      log.append(record(i));
    }
    log.sync();
    assertEquals(1, channels.size());
    assertEquals(1, channels.get(0).forces(), "one fsync for the whole group");
    log.close();

    Reopened reopened = open(WriteAheadLog.Options.defaults());
    assertRecords(reopened.records(), 1, 1000);
    reopened.log().close();
  }

  // ---------------------------------------------------------------- torn tails

  @Test
  void aTruncatedLastRecordIsCutAndAppendsGoOn() throws IOException {
    write(20, SMALL);
    Path last = segments().get(segments().size() - 1);
    List<Long> frames = frameOffsets(last);
    long lastFrame = frames.get(frames.size() - 1);
    long size = Files.size(last);
    try (FileChannel channel = FileChannel.open(last, StandardOpenOption.WRITE)) {
      channel.truncate(size - 3);
    }

    Reopened reopened = open(SMALL);
    assertRecords(reopened.records(), 1, 19);
    assertEquals(size - 3 - lastFrame, reopened.opened().tornTailBytes());
    assertTrue(reopened.opened().tornTail().orElseThrow().contains(last.toString()));
    assertEquals(lastFrame, Files.size(last), "the torn bytes are gone from the file");
    assertEquals(20, reopened.log().append(record(20)));
    reopened.log().close();

    Reopened again = open(SMALL);
    assertRecords(again.records(), 1, 20);
    assertEquals(0, again.opened().tornTailBytes());
    again.log().close();
  }

  @Test
  void garbageAfterTheLastRecordIsCut() throws IOException {
    write(20, SMALL);
    Path last = segments().get(segments().size() - 1);
    long size = Files.size(last);
    byte[] garbage = new byte[13];
    new Random(1).nextBytes(garbage);
    modify(last, size, garbage);

    Reopened reopened = open(SMALL);
    assertRecords(reopened.records(), 1, 20);
    assertEquals(13, reopened.opened().tornTailBytes());
    reopened.log().append(record(21));
    reopened.log().close();
    Reopened again = open(SMALL);
    assertRecords(again.records(), 1, 21);
    again.log().close();
  }

  @Test
  void aHalfWrittenFrameAndZerosAreCut() throws IOException {
    write(5, WriteAheadLog.Options.defaults());
    Path only = segments().get(0);
    long size = Files.size(only);
    // A header announcing 100 bytes, 10 of them written, then the zeros a crash can leave.
    byte[] half = ByteBuffer.allocate(8 + 10 + 64).putInt(100).putInt(0x12345678).put(new byte[10]).array();
    modify(only, size, half);

    Reopened reopened = open(WriteAheadLog.Options.defaults());
    assertRecords(reopened.records(), 1, 5);
    assertEquals(half.length, reopened.opened().tornTailBytes());
    assertEquals(size, Files.size(only));
    reopened.log().close();
  }

  @Test
  void aFlippedByteInTheLastRecordOfTheLastSegmentIsATornTail() throws IOException {
    write(20, SMALL);
    Path last = segments().get(segments().size() - 1);
    List<Long> frames = frameOffsets(last);
    flipByte(last, Files.size(last) - 1);

    Reopened reopened = open(SMALL);
    assertRecords(reopened.records(), 1, 19);
    assertTrue(reopened.opened().tornTail().orElseThrow().contains("checksum mismatch"),
        reopened.opened().tornTail().orElseThrow());
    assertEquals(frames.get(frames.size() - 1), Files.size(last));
    reopened.log().close();
  }

  @Test
  void cuttingTheLastSegmentAnywhereRecoversExactlyTheWholeRecordsBeforeTheCut() throws IOException {
    Path original = dir.resolve("original");
    try (WriteAheadLog log = WriteAheadLog.open(original, SMALL, (i, p) -> { }).log()) {
      for (int i = 1; i <= 30; i++) {
        log.append(record(i));
      }
    }
    List<Path> segments;
    try (Stream<Path> files = Files.list(original)) {
      segments = files.sorted().toList();
    }
    Path last = segments.get(segments.size() - 1);
    long recordsBeforeLast = Long.parseLong(last.getFileName().toString().replace(".wal", "")) - 1;
    List<Long> frameEnds = new ArrayList<>();
    for (long offset : frameOffsets(last)) {
      frameEnds.add(offset + 8 + ByteBuffer.wrap(Files.readAllBytes(last)).getInt((int) offset));
    }
    long size = Files.size(last);
    for (long cut = 0; cut < size; cut++) {
      Path copy = dir.resolve("cut-" + cut);
      Files.createDirectories(copy);
      for (Path segment : segments) {
        Files.copy(segment, copy.resolve(segment.getFileName()));
      }
      try (FileChannel channel = FileChannel.open(copy.resolve(last.getFileName()), StandardOpenOption.WRITE)) {
        channel.truncate(cut);
      }
      long c = cut;
      long whole = frameEnds.stream().filter(e -> e <= c).count();
      long validBytes = frameEnds.stream().filter(e -> e <= c).max(Long::compare).orElse(0L);

      List<Rec> found = new ArrayList<>();
      WriteAheadLog.Opened opened = WriteAheadLog.open(copy, SMALL, (i, p) -> found.add(new Rec(i, p)));
      opened.log().close();
      assertRecords(found, 1, recordsBeforeLast + whole);
      assertEquals(cut - validBytes, opened.tornTailBytes(), "cut at " + cut);
    }
  }

  // ---------------------------------------------------------------- corruption

  @Test
  void aFlippedByteInAMiddleRecordIsCorruptionNamingFileAndOffset() throws IOException {
    write(5, WriteAheadLog.Options.defaults());
    Path only = segments().get(0);
    long third = frameOffsets(only).get(2);
    flipByte(only, third + 8 + 2);  // inside the payload

    CorruptLogException e = assertThrows(CorruptLogException.class, () -> open(WriteAheadLog.Options.defaults()));
    assertEquals(only, e.file());
    assertEquals(third, e.offset());
    assertTrue(e.getMessage().contains(only.toString()) && e.getMessage().contains("offset " + third), e.getMessage());
    assertTrue(e.getMessage().contains("valid record follows"), e.getMessage());
  }

  @Test
  void aFlippedByteAnywhereIsCaughtAndOnlyTheLastRecordCanPassForATornTail() throws IOException {
    Path original = dir.resolve("original");
    try (WriteAheadLog log = WriteAheadLog.open(original, SMALL, (i, p) -> { }).log()) {
      for (int i = 1; i <= 15; i++) {
        log.append(record(i));
      }
    }
    List<Path> segments;
    try (Stream<Path> files = Files.list(original)) {
      segments = files.sorted().toList();
    }
    assertTrue(segments.size() >= 2);
    Path last = segments.get(segments.size() - 1);
    List<Long> lastFrames = frameOffsets(last);
    long lastRecordOffset = lastFrames.get(lastFrames.size() - 1);
    int copies = 0;
    for (Path target : segments) {
      for (long position = 0; position < Files.size(target); position++) {
        Path copy = dir.resolve("flip-" + copies++);
        Files.createDirectories(copy);
        for (Path segment : segments) {
          Files.copy(segment, copy.resolve(segment.getFileName()));
        }
        flipByte(copy.resolve(target.getFileName()), position);
        List<Rec> found = new ArrayList<>();
        try {
          WriteAheadLog.open(copy, SMALL, (i, p) -> found.add(new Rec(i, p))).log().close();
        } catch (CorruptLogException expected) {
          continue;
        }
        String where = target.getFileName() + " at " + position;
        assertEquals(last, target, "damage outside the last segment went unnoticed: " + where);
        assertTrue(position >= lastRecordOffset, "damage before the last record went unnoticed: " + where);
        assertRecords(found, 1, 14);
      }
    }
  }

  @Test
  void aDamagedLengthInAMiddleRecordIsCorruptionNotATornTail() throws IOException {
    write(5, WriteAheadLog.Options.defaults());
    Path only = segments().get(0);
    long second = frameOffsets(only).get(1);
    modify(only, second, new byte[] {0x00, 0x10, 0x00, 0x00});  // length now runs past the end

    CorruptLogException e = assertThrows(CorruptLogException.class, () -> open(WriteAheadLog.Options.defaults()));
    assertEquals(second, e.offset());
  }

  @Test
  void anyBadRecordInASegmentThatIsNotTheLastIsCorruption() throws IOException {
    write(40, SMALL);
    Path first = segments().get(0);
    List<Long> frames = frameOffsets(first);
    long lastFrame = frames.get(frames.size() - 1);
    flipByte(first, Files.size(first) - 1);  // the last record of a sealed segment

    CorruptLogException e = assertThrows(CorruptLogException.class, () -> open(SMALL));
    assertEquals(first, e.file());
    assertEquals(lastFrame, e.offset());
    assertTrue(e.getMessage().contains("not the last"), e.getMessage());
  }

  @Test
  void aMissingSegmentIsCorruption() throws IOException {
    write(60, SMALL);
    List<Path> segments = segments();
    Files.delete(segments.get(2));

    CorruptLogException e = assertThrows(CorruptLogException.class, () -> open(SMALL));
    assertEquals(segments.get(3), e.file());
    assertTrue(e.getMessage().contains("segments are missing"), e.getMessage());
  }

  // ---------------------------------------------------------------- truncation

  @Test
  void truncateBeforeDeletesOnlyWholeSegmentsBelowTheIndex() throws IOException {
    write(100, SMALL);
    List<Path> before = segments();
    Reopened reopened = open(SMALL);
    WriteAheadLog log = reopened.log();
    long diskBefore = log.diskBytes();
    // Cut in the middle of the fourth segment: the first three go, the fourth stays whole.
    long fourthFirst = Long.parseLong(before.get(3).getFileName().toString().replace(".wal", ""));
    long fifthFirst = Long.parseLong(before.get(4).getFileName().toString().replace(".wal", ""));
    log.truncateBefore(fourthFirst + 1);
    assertEquals(before.subList(3, before.size()), segments());
    assertEquals(fourthFirst, log.firstIndex());
    assertTrue(log.diskBytes() < diskBefore);
    log.truncateBefore(fifthFirst);
    assertEquals(before.subList(4, before.size()), segments());

    log.truncateBefore(Long.MAX_VALUE);
    assertEquals(1, segments().size(), "the segment being written is never deleted");
    assertEquals(101, log.append(record(101)));
    log.close();

    Reopened again = open(SMALL);
    assertRecords(again.records(), again.records().get(0).index(), 101);
    assertEquals(again.records().get(0).index(), again.log().firstIndex());
    again.log().close();
  }

  // ---------------------------------------------------------------- failures

  @Test
  void aFailedWriteFailsTheLogAndLeavesOnlyATornTail() throws IOException {
    write(10, WriteAheadLog.Options.defaults());
    // Room for two more records and half of a third.
    long budget = (8 + record(11).length) + (8 + record(12).length) + 8 + 5;
    WriteAheadLog.Options failing = WriteAheadLog.Options.defaults().withOpener(
        (file, options) -> new FaultInjectingChannel(FileChannel.open(file, options), budget, false));
    WriteAheadLog log = open(failing).log();
    for (int i = 11; i <= 14; i++) {
      log.append(record(i));
    }
    StorageException first = assertThrows(StorageException.class, log::sync);
    assertTrue(first.getMessage().contains("No space left on device"), first.getMessage());
    assertTrue(first.getMessage().contains(".wal"), first.getMessage());
    StorageException again = assertThrows(StorageException.class, () -> log.append(record(15)));
    assertEquals(first.getMessage(), again.getMessage());
    assertEquals(first.getMessage(), assertThrows(StorageException.class, log::sync).getMessage());
    log.close();

    // Records 11 and 12 were written whole (never synced, but on disk); 13's half is a torn tail.
    Reopened reopened = open(WriteAheadLog.Options.defaults());
    assertRecords(reopened.records(), 1, 12);
    assertEquals(8 + 5, reopened.opened().tornTailBytes());
    reopened.log().close();
  }

  @Test
  void aFailedFsyncFailsTheLogForGood() {
    WriteAheadLog.Options failing = WriteAheadLog.Options.defaults().withOpener(
        (file, options) -> new FaultInjectingChannel(FileChannel.open(file, options), Long.MAX_VALUE, true));
    WriteAheadLog log = open(failing).log();
    log.append(record(1));
    StorageException first = assertThrows(StorageException.class, log::sync);
    assertTrue(first.getMessage().contains("syncing"), first.getMessage());
    assertThrows(StorageException.class, () -> log.append(record(2)));
    log.close();
  }
}

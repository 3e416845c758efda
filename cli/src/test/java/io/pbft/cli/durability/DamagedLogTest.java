package io.pbft.cli.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.cluster.ProcessCluster;
import io.pbft.proto.StatusResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Logs damaged while their replica was down. A tail cut short (what a crash in the middle of a
 * write leaves) is cut back to the last whole record with a warning, and the replica goes on
 * from there. A byte changed in the middle of the log (the disk returned something else than
 * was written) is reported as corruption; the replica sets its log and state aside, keeps them
 * for study, and recovers the state from its peers instead of running on data it cannot trust.
 */
class DamagedLogTest {
  private static final List<Integer> ALL = List.of(0, 1, 2, 3);
  private static final int CLIENTS = 6;
  private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration PROGRESS = Duration.ofSeconds(60);
  private static final Pattern TORN_WARNING = Pattern.compile("WARN .*replica 1: cut a torn record off the log's tail");
  private static final Pattern CORRUPT_ERROR =
      Pattern.compile("ERROR .*replica 2: write-ahead log is corrupt \\(.*\\); setting the log and state aside");

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void tornTailIsCutAndCorruptionIsSetAside() throws Exception {
    try (ProcessCluster c = ProcessCluster.start("durability-damage", CLIENTS + 1, ProcessCluster.SMALL);
         AckedPuts load = new AckedPuts(c.clientConfig(), CLIENTS, 16, "damage", OPERATION_TIMEOUT)) {
      load.start();
      assertTrue(load.awaitMore(200, PROGRESS), "no load: " + load.firstFailure());

      // Replica 1: the last segment loses its last few bytes.
      c.kill(1);
      Path segment = segments(c.dataDir(1)).get(segments(c.dataDir(1)).size() - 1);
      long size = Files.size(segment);
      assertTrue(size > 16, segment + " holds only " + size + " bytes");
      try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
        ch.truncate(size - 3);
      }
      c.launch(1);
      c.awaitUp(1);
      String log1 = c.log(1);
      assertTrue(TORN_WARNING.matcher(log1).find(), "no warning about the torn tail:\n" + log1);
      ReplicaCrashTest.assertRecoveredFromDisk(c, 1, "replica 1 after its tail was cut");
      ReplicaCrashTest.awaitCaughtUp(c, 1, "replica 1 after its tail was cut");
      assertTrue(load.awaitMore(50, PROGRESS), "no progress: " + load.firstFailure());

      // Replica 2: one byte in the middle of its biggest segment is flipped.
      c.kill(2);
      Path damaged = segments(c.dataDir(2)).stream().max(Comparator.comparingLong(DamagedLogTest::size)).orElseThrow();
      long middle = Files.size(damaged) / 2;
      flipByte(damaged, middle);
      c.launch(2);
      c.awaitUp(2);
      String log2 = c.log(2);
      assertTrue(CORRUPT_ERROR.matcher(log2).find(), "corruption not reported:\n" + log2);
      assertTrue(log2.contains(damaged.getFileName().toString()), "the report does not name " + damaged + ":\n" + log2);
      List<String> entries = List.of(listing(c.dataDir(2)).replaceAll("[\\[\\] ]", "").split(","));
      assertTrue(entries.stream().anyMatch(e -> e.startsWith("wal.corrupt-"))
          && entries.stream().anyMatch(e -> e.startsWith("state.corrupt-")),
          "the damaged log and state were not set aside: " + entries);
      Path setAside = c.dataDir(2).resolve(entries.stream().filter(e -> e.startsWith("wal.corrupt-")).findFirst()
          .orElseThrow());
      assertTrue(Files.exists(setAside.resolve(damaged.getFileName())), "the damaged segment is not kept in " + setAside);
      ReplicaCrashTest.awaitCaughtUp(c, 2, "replica 2 after its log was found corrupt");
      assertTrue(load.awaitMore(50, PROGRESS), "no progress: " + load.firstFailure());

      load.stop();
      List<StatusResponse> end = c.awaitAgreement(ALL, Duration.ofSeconds(90));
      assertTrue(end.get(2).getStateTransfers() > 0,
          "replica 2 should have recovered its state from its peers:\n" + ProcessCluster.describe(end));
      assertFalse(end.get(2).getStorageFailed());
      assertEquals(List.of(), load.verify(CLIENTS), "acknowledged puts lost");
      c.awaitAgreement(ALL, Duration.ofSeconds(60));
    }
  }

  /** The data directory's entries (names only), for messages. */
  static String listing(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return java.util.Arrays.toString(s.map(p -> p.getFileName().toString()).sorted().toArray());
    } catch (IOException e) {
      return "(cannot list " + dir + ": " + e.getMessage() + ")";
    }
  }

  private static List<Path> segments(Path dataDir) throws IOException {
    try (Stream<Path> files = Files.list(dataDir.resolve("wal"))) {
      return files.filter(p -> p.getFileName().toString().endsWith(".wal")).sorted().toList();
    }
  }

  private static long size(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void flipByte(Path file, long offset) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, offset);
      b.put(0, (byte) (b.get(0) ^ 0xff)).rewind();
      ch.write(b, offset);
      ch.force(true);
    }
  }
}

package io.pbft.cli.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The parts of the Byzantine client processes that need no replicas: the partial authenticator's
 * splits, and the replayer's tap (bench's capture file, tailed by the replayer's process).
 */
class ByzantineClientProcessTest {
  private static boolean[] valid(int... replicas) {
    boolean[] v = new boolean[4];
    for (int r : replicas) {
      v[r] = true;
    }
    return v;
  }

  @Test
  void thePartialAuthenticatorCyclesThroughTheSplitsAroundThePrimary() {
    // n = 4, f = 1, primary 0: backups 1, 2, 3.
    assertArrayEquals(valid(0), FloodingClient.validAt(0, 0, 4, 1), "just the primary");
    assertArrayEquals(valid(0, 1), FloodingClient.validAt(1, 0, 4, 1), "the primary and one backup");
    assertArrayEquals(valid(1, 2), FloodingClient.validAt(2, 0, 4, 1), "f + 1 backups, not the primary");
    assertArrayEquals(valid(1), FloodingClient.validAt(3, 0, 4, 1), "one backup only");
    assertArrayEquals(valid(0, 2, 3), FloodingClient.validAt(4, 0, 4, 1), "all but one backup");
    // The next cycle moves on to other backups; the primary stays the primary.
    assertArrayEquals(valid(0, 2), FloodingClient.validAt(6, 0, 4, 1));
    assertArrayEquals(valid(2), FloodingClient.validAt(8, 0, 4, 1));
    // Around the primary of view 1.
    assertArrayEquals(valid(1), FloodingClient.validAt(0, 1, 4, 1));
    assertArrayEquals(valid(2, 3), FloodingClient.validAt(2, 1, 4, 1));
    Set<Integer> lonelyBackups = new HashSet<>();
    for (long round = 3; round < 30; round += 5) {
      boolean[] v = FloodingClient.validAt(round, 0, 4, 1);
      for (int r = 0; r < 4; r++) {
        if (v[r]) {
          lonelyBackups.add(r);
        }
      }
    }
    assertEquals(Set.of(1, 2, 3), lonelyBackups, "every backup takes its turn as the only one");
  }

  private static SignedRequest request(int client, long t) {
    return SignedRequest.newBuilder().setRequest(Request.newBuilder().setClientId(client).setTimestamp(t)
        .setOperation(ByteString.copyFromUtf8("put k" + t + " v")).build().toByteString())
        .setSignature(ByteString.copyFrom(new byte[64])).build();
  }

  @Test
  void theReplayerReplaysWhatBenchCapturesAfterItStartedSoonAndLate(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("requests-sent.bin");
    try (RequestCapture capture = RequestCapture.open(file)) {
      capture.accept(request(0, 1)); // before the replayer starts: not replayed
      long giveUp = System.nanoTime() + 10_000_000_000L;
      while (Files.size(file) == 0 && System.nanoTime() - giveUp < 0) {
        Thread.sleep(5);
      }
      try (Replays replays = new Replays(file, 2)) {
        replays.start();
        Thread.sleep(100); // it has read up to the end of the file
        capture.accept(request(1, 7));
        long sentNanos = System.nanoTime();
        SignedRequest soon = replays.next(0, 5_000);
        long soonMs = (System.nanoTime() - sentNanos) / 1_000_000;
        assertNotNull(soon, replays.describe());
        assertEquals(request(1, 7), soon, "the request as captured, authenticator and all");
        assertEquals(request(1, 7), replays.next(1, 5_000), "to every replica");
        assertTrue(soonMs >= Replays.SOON_MS - 20, "soon, but not at once: " + soonMs + " ms");
        assertNull(replays.next(0, 1_000), "nothing more until the late replay");
        SignedRequest late = replays.next(0, Replays.LATE_MS + 5_000);
        long lateMs = (System.nanoTime() - sentNanos) / 1_000_000;
        assertEquals(request(1, 7), late, replays.describe());
        assertTrue(lateMs >= Replays.LATE_MS - 20, "late: " + lateMs + " ms");
        assertTrue(replays.describe().startsWith("1 requests overheard, 1 picked"), replays.describe());
      }
    }
  }
}

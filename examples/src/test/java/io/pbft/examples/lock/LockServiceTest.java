package io.pbft.examples.lock;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The lock service alone, fed batches with chosen agreed times and seeds. */
class LockServiceTest {
  private long sequence;

  private static byte[] seed(long n) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(("seed" + n).getBytes(StandardCharsets.UTF_8));
  }

  /** Runs {@code ops} as one batch at agreed time {@code timeMs}; returns the results. */
  private List<String> batch(LockService s, long timeMs, String... ops) throws Exception {
    sequence++;
    List<Operation> operations = new ArrayList<>();
    for (int i = 0; i < ops.length; i++) {
      operations.add(new Operation(0, sequence * 100 + i, ops[i].getBytes(StandardCharsets.UTF_8)));
    }
    ExecutionContext context = new ExecutionContext(sequence, timeMs, seed(sequence));
    return s.execute(context, operations).stream().map(b -> new String(b, StandardCharsets.UTF_8)).toList();
  }

  private static String word(String result, int i) {
    return result.split(" ")[i];
  }

  @Test
  void aLeaseExpiresAtTheAgreedTimeAndTheLockIsFreeAgain() throws Exception {
    LockService s = new LockService();
    String granted = batch(s, 1_000, "acquire db alice 500").get(0);
    assertTrue(granted.startsWith("granted "), granted);
    assertEquals("1", word(granted, 2), "the first fencing token");
    assertEquals("1500", word(granted, 3), "expires at agreed time + TTL");
    assertEquals(List.of("held alice 1 1500"), batch(s, 1_499, "acquire db bob 500"), "still held 1 ms before");
    String second = batch(s, 1_500, "acquire db bob 500").get(0);
    assertTrue(second.startsWith("granted "), "free at its expiry time: " + second);
    assertEquals("2", word(second, 2), "fencing tokens only grow");
    assertEquals(List.of("lost"), batch(s, 1_600, "renew db " + word(granted, 1) + " 500"),
        "alice's lease ran out: she cannot renew it");
  }

  @Test
  void onlyTheLeaseHolderRenewsOrReleases() throws Exception {
    LockService s = new LockService();
    String granted = batch(s, 10_000, "acquire q alice 1000").get(0);
    String id = word(granted, 1);
    assertEquals(32, id.length(), "a 128-bit lease id: " + id);
    assertEquals(List.of("lost", "lost"), batch(s, 10_100, "renew q 00000000000000000000000000000000 1000",
        "release q deadbeef"));
    assertEquals(List.of("renewed 11200"), batch(s, 10_200, "renew q " + id + " 1000"));
    assertEquals(List.of("held alice 1 11200"), batch(s, 11_100, "holder q"));
    assertEquals(List.of("released", "free"), batch(s, 11_150, "release q " + id, "holder q"));
  }

  @Test
  void leaseIdsComeFromTheAgreedSeedSoReplicasAgree() throws Exception {
    LockService a = new LockService();
    LockService b = new LockService();
    sequence = 0;
    List<String> fromA = batch(a, 5_000, "acquire x p 100", "acquire y q 100");
    sequence = 0;
    List<String> fromB = batch(b, 5_000, "acquire x p 100", "acquire y q 100");
    assertEquals(fromA, fromB, "same batch, same context: same lease ids");
    assertArrayEquals(a.stateDigest(), b.stateDigest());
    assertNotEquals(word(fromA.get(0), 1), word(fromA.get(1), 1), "each operation draws its own stream");
  }

  @Test
  void snapshotRestoresTheWholeStateAndBadInputChangesNothing() throws Exception {
    LockService s = new LockService();
    batch(s, 1_000, "acquire a alice 60000", "acquire b bob 60000");
    byte[] digest = s.stateDigest();
    assertEquals(List.of("error unknown operation 'steal'", "error TTL must be 1 to 3600000 ms",
        "error acquire takes 3 arguments"), batch(s, 1_001, "steal a", "acquire c carol 0", "acquire c"));
    LockService copy = new LockService();
    copy.restore(s.snapshot());
    assertArrayEquals(s.stateDigest(), copy.stateDigest());
    assertEquals("held bob 2 61000", new String(copy.query("holder b".getBytes(StandardCharsets.UTF_8)),
        StandardCharsets.UTF_8));
    assertThrows(IllegalArgumentException.class, () -> copy.restore(new byte[] {1, 2, 3}));
    assertTrue(digest.length == 32);
  }
}

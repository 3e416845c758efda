package io.pbft.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class MacTest {
  private static final byte[] KEY = new byte[32];
  private static final byte[] MESSAGE = "reply v=1 t=5 c=2".getBytes(StandardCharsets.UTF_8);

  static {
    Arrays.fill(KEY, (byte) 0x42);
  }

  @Test
  void matchesRfc4231TestCase2() {
    Mac mac = new Mac("Jefe".getBytes(StandardCharsets.US_ASCII));
    byte[] tag = mac.compute("what do ya want for nothing?".getBytes(StandardCharsets.US_ASCII));
    assertEquals("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", Digests.hex(tag));
  }

  @Test
  void tagIsThirtyTwoBytesAndRepeatable() {
    Mac mac = new Mac(KEY);
    byte[] tag = mac.compute(MESSAGE);
    assertEquals(Mac.SIZE_BYTES, tag.length);
    assertArrayEquals(tag, mac.compute(MESSAGE));
  }

  @Test
  void verifyAcceptsTheRightTag() {
    Mac mac = new Mac(KEY);
    assertTrue(mac.verify(MESSAGE, new Mac(KEY).compute(MESSAGE)));
  }

  @Test
  void verifyRejectsATagWithAFlippedBit() {
    Mac mac = new Mac(KEY);
    byte[] tag = mac.compute(MESSAGE);
    for (int bit = 0; bit < tag.length * 8; bit += 3) {
      byte[] tampered = tag.clone();
      tampered[bit / 8] ^= (byte) (1 << (bit % 8));
      assertFalse(mac.verify(MESSAGE, tampered), "bit " + bit);
    }
  }

  @Test
  void verifyRejectsATamperedMessage() {
    Mac mac = new Mac(KEY);
    byte[] tag = mac.compute(MESSAGE);
    byte[] tampered = MESSAGE.clone();
    tampered[0] ^= 1;
    assertFalse(mac.verify(tampered, tag));
  }

  @Test
  void verifyRejectsATagUnderAnotherKey() {
    byte[] otherKey = KEY.clone();
    otherKey[31] ^= 1;
    assertFalse(new Mac(KEY).verify(MESSAGE, new Mac(otherKey).compute(MESSAGE)));
  }

  @Test
  void verifyRejectsTruncatedExtendedEmptyAndNullTags() {
    Mac mac = new Mac(KEY);
    byte[] tag = mac.compute(MESSAGE);
    // A comparison that stopped at the shorter length would accept a prefix.
    assertFalse(mac.verify(MESSAGE, Arrays.copyOf(tag, 16)));
    assertFalse(mac.verify(MESSAGE, Arrays.copyOf(tag, 33)));
    assertFalse(mac.verify(MESSAGE, new byte[0]));
    assertFalse(mac.verify(MESSAGE, null));
  }

  @Test
  void instanceIsReusableAfterAFailedVerification() {
    Mac mac = new Mac(KEY);
    byte[] tag = mac.compute(MESSAGE);
    assertFalse(mac.verify(MESSAGE, new byte[32]));
    assertTrue(mac.verify(MESSAGE, tag));
  }
}

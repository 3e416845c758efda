package io.pbft.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SessionKeysTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final byte[] TRANSCRIPT = "open||accept".getBytes(StandardCharsets.UTF_8);

  @Test
  void bothSidesDeriveTheSameMacKey() {
    SessionKeys client = new SessionKeys(RANDOM);
    SessionKeys replica = new SessionKeys(RANDOM);
    byte[] clientKey = client.deriveMacKey(replica.publicKey(), TRANSCRIPT);
    byte[] replicaKey = replica.deriveMacKey(client.publicKey(), TRANSCRIPT);
    assertEquals(32, clientKey.length);
    assertArrayEquals(clientKey, replicaKey);
  }

  @Test
  void differentTranscriptGivesADifferentKey() {
    SessionKeys client = new SessionKeys(RANDOM);
    SessionKeys replica = new SessionKeys(RANDOM);
    byte[] key = client.deriveMacKey(replica.publicKey(), TRANSCRIPT);
    byte[] other = client.deriveMacKey(replica.publicKey(), "open||other accept".getBytes(StandardCharsets.UTF_8));
    assertFalse(Arrays.equals(key, other));
  }

  @Test
  void differentPeerGivesADifferentKey() {
    SessionKeys client = new SessionKeys(RANDOM);
    byte[] one = client.deriveMacKey(new SessionKeys(RANDOM).publicKey(), TRANSCRIPT);
    byte[] two = client.deriveMacKey(new SessionKeys(RANDOM).publicKey(), TRANSCRIPT);
    assertFalse(Arrays.equals(one, two));
  }

  @Test
  void freshEphemeralKeysDiffer() {
    assertFalse(Arrays.equals(new SessionKeys(RANDOM).publicKey(), new SessionKeys(RANDOM).publicKey()));
    assertEquals(SessionKeys.KEY_BYTES, new SessionKeys(RANDOM).publicKey().length);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "0000000000000000000000000000000000000000000000000000000000000000",  // u = 0
      "0100000000000000000000000000000000000000000000000000000000000000",  // u = 1 (order 4)
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // u = p - 1 (order 2)
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
  })
  void lowOrderPeerKeyIsRejected(String hex) {
    SessionKeys keys = new SessionKeys(RANDOM);
    assertThrows(IllegalArgumentException.class, () -> keys.deriveMacKey(Digests.fromHex(hex), TRANSCRIPT));
  }

  @Test
  void wrongSizeOrNullPeerKeyIsRejected() {
    SessionKeys keys = new SessionKeys(RANDOM);
    byte[] good = new SessionKeys(RANDOM).publicKey();
    assertThrows(IllegalArgumentException.class, () -> keys.deriveMacKey(Arrays.copyOf(good, 31), TRANSCRIPT));
    assertThrows(IllegalArgumentException.class, () -> keys.deriveMacKey(Arrays.copyOf(good, 33), TRANSCRIPT));
    assertThrows(IllegalArgumentException.class, () -> keys.deriveMacKey(new byte[0], TRANSCRIPT));
    assertThrows(IllegalArgumentException.class, () -> keys.deriveMacKey(null, TRANSCRIPT));
  }

  @Test
  void publicKeyAccessorReturnsACopy() {
    SessionKeys keys = new SessionKeys(RANDOM);
    byte[] pk = keys.publicKey();
    pk[0] ^= 1;
    assertFalse(Arrays.equals(pk, keys.publicKey()));
  }
}

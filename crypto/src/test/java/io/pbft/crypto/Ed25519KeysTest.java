package io.pbft.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Ed25519KeysTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final byte[] MESSAGE = "pre-prepare v=3 n=17".getBytes(StandardCharsets.UTF_8);

  @Test
  void signatureVerifiesUnderTheSignersPublicKey() {
    Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
    byte[] signature = keys.sign(MESSAGE);
    assertEquals(Ed25519Keys.SIGNATURE_BYTES, signature.length);
    assertTrue(keys.verifier().verify(MESSAGE, signature));
    assertTrue(PublicKeyVerifier.of(keys.publicKey()).verify(MESSAGE, signature));
  }

  @Test
  void rfc8032TestVectorOneSignsAndVerifies() {
    // RFC 8032 section 7.1, TEST 1 (empty message).
    Ed25519Keys keys = Ed25519Keys.fromSecretKey(
        Digests.fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
    assertEquals("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", Digests.hex(keys.publicKey()));
    byte[] signature = keys.sign(new byte[0]);
    assertEquals("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", Digests.hex(signature));
    assertTrue(keys.verifier().verify(new byte[0], signature));
  }

  @Test
  void flippedBitInTheMessageFailsVerification() {
    Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
    byte[] signature = keys.sign(MESSAGE);
    for (int bit = 0; bit < MESSAGE.length * 8; bit += 7) {
      byte[] tampered = MESSAGE.clone();
      tampered[bit / 8] ^= (byte) (1 << (bit % 8));
      assertFalse(keys.verifier().verify(tampered, signature), "bit " + bit);
    }
  }

  @Test
  void flippedBitInTheSignatureFailsVerification() {
    Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
    byte[] signature = keys.sign(MESSAGE);
    for (int bit = 0; bit < signature.length * 8; bit += 5) {
      byte[] tampered = signature.clone();
      tampered[bit / 8] ^= (byte) (1 << (bit % 8));
      assertFalse(keys.verifier().verify(MESSAGE, tampered), "bit " + bit);
    }
  }

  @Test
  void signatureByAnotherKeyFailsVerification() {
    byte[] signature = Ed25519Keys.generate(RANDOM).sign(MESSAGE);
    assertFalse(Ed25519Keys.generate(RANDOM).verifier().verify(MESSAGE, signature));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 63, 65, 128})
  void wrongSizeSignatureReturnsFalseWithoutThrowing(int size) {
    Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
    byte[] signature = Arrays.copyOf(keys.sign(MESSAGE), size);
    assertFalse(keys.verifier().verify(MESSAGE, signature));
  }

  @Test
  void nullSignatureOrMessageReturnsFalse() {
    Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
    assertFalse(keys.verifier().verify(MESSAGE, null));
    assertFalse(keys.verifier().verify(null, keys.sign(MESSAGE)));
  }

  @Test
  void signaturesAreDeterministic() {
    Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
    assertArrayEquals(keys.sign(MESSAGE), keys.sign(MESSAGE));
  }

  @Test
  void keysRebuiltFromTheSecretKeyHaveTheSamePublicKey() {
    Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
    Ed25519Keys rebuilt = Ed25519Keys.fromSecretKey(keys.secretKey());
    assertArrayEquals(keys.publicKey(), rebuilt.publicKey());
    assertEquals(keys, rebuilt);
    assertTrue(keys.verifier().verify(MESSAGE, rebuilt.sign(MESSAGE)));
  }

  @Test
  void secretKeyOfWrongSizeIsRejected() {
    assertThrows(IllegalArgumentException.class, () -> Ed25519Keys.fromSecretKey(new byte[31]));
    assertThrows(IllegalArgumentException.class, () -> Ed25519Keys.fromSecretKey(new byte[33]));
  }

  @Test
  void toStringDoesNotRevealTheSecretKey() {
    Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
    assertFalse(keys.toString().contains(Digests.hex(keys.secretKey())));
    assertTrue(keys.toString().contains(Digests.hex(keys.publicKey())));
  }

  @Test
  void accessorsReturnCopies() {
    Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
    byte[] pk = keys.publicKey();
    pk[0] ^= 1;
    assertFalse(Arrays.equals(pk, keys.publicKey()));
    PublicKeyVerifier verifier = keys.verifier();
    byte[] vk = verifier.publicKey();
    vk[0] ^= 1;
    assertArrayEquals(keys.publicKey(), verifier.publicKey());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "0000000000000000000000000000000000000000000000000000000000000000",  // low-order point
      "0100000000000000000000000000000000000000000000000000000000000000",  // the neutral element
      "0200000000000000000000000000000000000000000000000000000000000000",  // y with no x on the curve
      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // y >= p, non-canonical
  })
  void invalidPublicKeyIsRejected(String hex) {
    assertThrows(IllegalArgumentException.class, () -> PublicKeyVerifier.of(Digests.fromHex(hex)));
  }

  @Test
  void publicKeyOfWrongSizeOrNullIsRejected() {
    assertThrows(IllegalArgumentException.class, () -> PublicKeyVerifier.of(new byte[31]));
    assertThrows(IllegalArgumentException.class, () -> PublicKeyVerifier.of(new byte[33]));
    assertThrows(IllegalArgumentException.class, () -> PublicKeyVerifier.of(null));
  }
}

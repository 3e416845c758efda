package io.pbft.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BatchVerifierTest {
  private final SecureRandom random = new SecureRandom();
  private final byte[] secret = random.generateSeed(32);

  private record Signed(Ed25519Keys keys, BatchVerifier.Key key, byte[] message, byte[] signature) {
    BatchVerifier.Item item() {
      return new BatchVerifier.Item(key, message, signature);
    }
  }

  private Signed signed(int size) {
    Ed25519Keys keys = Ed25519Keys.generate(random);
    byte[] message = new byte[size];
    random.nextBytes(message);
    return new Signed(keys, BatchVerifier.key(keys.publicKey()), message, keys.sign(message));
  }

  private List<BatchVerifier.Item> items(int count) {
    List<BatchVerifier.Item> items = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      items.add(signed(i * 37 % 300).item());
    }
    return items;
  }

  @Test
  void acceptsWhatRfc8032SigningProducesAloneAndInBatches() {
    for (int i = 0; i < 50; i++) {
      Signed s = signed(i * 13);
      assertTrue(BatchVerifier.verify(s.key(), s.message(), s.signature()));
    }
    for (int k : new int[] {1, 2, 3, 16, 64}) {
      assertTrue(BatchVerifier.verifyAll(items(k), secret), "batch of " + k);
    }
    assertTrue(BatchVerifier.verifyAll(List.of(), secret));
  }

  @Test
  void refusesAnyChangedBitAloneAndFailsTheBatchHoldingIt() {
    Random pick = new Random(7);
    for (int round = 0; round < 40; round++) {
      List<BatchVerifier.Item> items = items(8);
      int victim = pick.nextInt(items.size());
      BatchVerifier.Item good = items.get(victim);
      BatchVerifier.Item bad;
      if (round % 2 == 0) {
        byte[] sig = good.signature().clone();
        sig[pick.nextInt(64)] ^= (byte) (1 << pick.nextInt(8));
        bad = new BatchVerifier.Item(good.key(), good.message(), sig);
      } else {
        byte[] msg = Arrays.copyOf(good.message(), good.message().length + 1);
        bad = new BatchVerifier.Item(good.key(), msg, good.signature());
      }
      assertFalse(BatchVerifier.verify(bad.key(), bad.message(), bad.signature()), "round " + round);
      items.set(victim, bad);
      assertFalse(BatchVerifier.verifyAll(items, secret), "round " + round);
    }
  }

  @Test
  void refusesASignatureByAnotherKeyAndMalformedInput() {
    Signed a = signed(40);
    Signed b = signed(40);
    assertFalse(BatchVerifier.verify(b.key(), a.message(), a.signature()));
    assertFalse(BatchVerifier.verify(a.key(), a.message(), Arrays.copyOf(a.signature(), 63)));
    assertFalse(BatchVerifier.verify(a.key(), a.message(), null));
    assertFalse(BatchVerifier.verifyAll(List.of(a.item(), new BatchVerifier.Item(a.key(), null, a.signature())), secret));
    assertThrows(IllegalArgumentException.class, () -> BatchVerifier.key(new byte[31]));
    byte[] smallOrder = new byte[32];
    smallOrder[0] = 1; // y = 1: the identity
    assertThrows(IllegalArgumentException.class, () -> BatchVerifier.key(smallOrder));
  }

  @Test
  void refusesANonCanonicalS() {
    Signed s = signed(10);
    BigInteger scalar = BatchVerifier.littleEndian(s.signature(), 32, 32).add(BatchVerifier.order());
    byte[] sig = s.signature().clone();
    System.arraycopy(BatchVerifier.toLittleEndian(scalar, 32), 0, sig, 32, 32);
    // [S + L]B = [S]B: the equation alone would hold, the canonical check refuses it.
    assertFalse(BatchVerifier.verify(s.key(), s.message(), sig));
    assertFalse(PublicKeyVerifier.of(s.keys().publicKey()).verify(s.message(), sig));
  }

  @Test
  void pointArithmeticAgreesWithItself() {
    BatchVerifier.Point b = BatchVerifier.basePoint();
    assertArrayEquals(b.encode(), BatchVerifier.multiply(b, BigInteger.ONE).encode());
    assertArrayEquals(b.dbl().encode(), BatchVerifier.multiply(b, BigInteger.TWO).encode());
    BatchVerifier.Point five = b.copy();
    for (int i = 0; i < 4; i++) {
      five.addInPlace(b.cached(), false);
    }
    assertArrayEquals(five.encode(), BatchVerifier.multiply(b, BigInteger.valueOf(5)).encode());
    BatchVerifier.Point none = BatchVerifier.multiply(b, BigInteger.valueOf(5));
    none.addInPlace(five.cached(), true);
    assertTrue(none.isIdentity());
    BatchVerifier.Point minusOne = BatchVerifier.multiply(b, BatchVerifier.order().subtract(BigInteger.ONE));
    minusOne.addInPlace(b.cached(), false);
    assertTrue(minusOne.isIdentity(), "[L - 1]B + B");
  }

  /** Signs as RFC 8032 does from a scalar we know, optionally adding a small-order point to R. */
  private byte[] signWithScalar(BigInteger a, byte[] publicKey, byte[] message, BatchVerifier.Point torsion)
      throws Exception {
    BatchVerifier.Point base = BatchVerifier.basePoint();
    BigInteger r = new BigInteger(250, random);
    BatchVerifier.Point rPoint = BatchVerifier.multiply(base, r);
    if (torsion != null) {
      rPoint.addInPlace(torsion.cached(), false);
    }
    byte[] rEnc = rPoint.encode();
    MessageDigest sha = MessageDigest.getInstance("SHA-512");
    sha.update(rEnc);
    sha.update(publicKey);
    sha.update(message);
    BigInteger h = BatchVerifier.littleEndian(sha.digest(), 0, 64).mod(BatchVerifier.order());
    BigInteger s = r.add(h.multiply(a)).mod(BatchVerifier.order());
    byte[] sig = new byte[64];
    System.arraycopy(rEnc, 0, sig, 0, 32);
    System.arraycopy(BatchVerifier.toLittleEndian(s, 32), 0, sig, 32, 32);
    return sig;
  }

  @Test
  void agreesWithBouncyCastleOnSignaturesMadeFromAKnownScalar() throws Exception {
    for (int i = 0; i < 10; i++) {
      BigInteger a = new BigInteger(252, random);
      byte[] publicKey = BatchVerifier.multiply(BatchVerifier.basePoint(), a).encode();
      byte[] message = new byte[i * 10];
      random.nextBytes(message);
      byte[] sig = signWithScalar(a, publicKey, message, null);
      assertTrue(PublicKeyVerifier.of(publicKey).verify(message, sig), "BouncyCastle accepts it");
      assertTrue(BatchVerifier.verify(BatchVerifier.key(publicKey), message, sig));
    }
  }

  /**
   * Where a cofactorless check would differ: the key's owner adds a point of order 2 to R.
   * BouncyCastle's verification is cofactored too, so alone, in a batch, or by BouncyCastle, every
   * replica reaches the same verdict on it.
   */
  @Test
  void acceptsASmallOrderComponentInRTheSameWayAloneAndInABatch() throws Exception {
    byte[] minusOne = new byte[32];
    Arrays.fill(minusOne, (byte) 0xff);
    minusOne[0] = (byte) 0xec;
    minusOne[31] = 0x7f; // y = p - 1, x = 0: the point of order 2
    BatchVerifier.Point torsion = BatchVerifier.decode(minusOne);
    assertTrue(torsion.dbl().isIdentity() && !torsion.isIdentity());
    BigInteger a = new BigInteger(252, random);
    byte[] publicKey = BatchVerifier.multiply(BatchVerifier.basePoint(), a).encode();
    byte[] message = "crafted".getBytes();
    byte[] sig = signWithScalar(a, publicKey, message, torsion);
    assertTrue(PublicKeyVerifier.of(publicKey).verify(message, sig), "BouncyCastle: accepted");
    BatchVerifier.Key key = BatchVerifier.key(publicKey);
    assertTrue(BatchVerifier.verify(key, message, sig), "cofactored: accepted");
    List<BatchVerifier.Item> batch = items(5);
    batch.add(2, new BatchVerifier.Item(key, message, sig));
    for (int i = 0; i < 20; i++) {
      assertTrue(BatchVerifier.verifyAll(batch, random.generateSeed(16)), "in a batch: accepted whatever the z_i");
    }
  }

  @Test
  void refusesNonCanonicalPointEncodings() {
    byte[] y = new byte[32];
    Arrays.fill(y, (byte) 0xff);
    y[0] = (byte) 0xee;
    y[31] = 0x7f; // y = p: not canonical (it would be 0)
    assertTrue(BatchVerifier.decode(y) == null);
    byte[] one = new byte[32];
    one[0] = 1;
    one[31] = (byte) 0x80; // the identity with the sign bit set: x = 0 is not negative
    assertTrue(BatchVerifier.decode(one) == null);
    Signed s = signed(5);
    byte[] sig = s.signature().clone();
    System.arraycopy(y, 0, sig, 0, 32);
    assertFalse(BatchVerifier.verify(s.key(), s.message(), sig));
    assertFalse(PublicKeyVerifier.of(s.keys().publicKey()).verify(s.message(), sig));
    System.arraycopy(one, 0, sig, 0, 32);
    assertFalse(BatchVerifier.verify(s.key(), s.message(), sig));
    assertFalse(PublicKeyVerifier.of(s.keys().publicKey()).verify(s.message(), sig));
  }

  /**
   * The key's owner can make R a non-canonical encoding of the identity (r = 0, S = h a): y = p + 1,
   * or y = 1 with the sign bit set. Both verifiers must agree on such a signature, whatever it is.
   */
  @Test
  void agreesWithBouncyCastleOnNonCanonicalEncodingsOfR() throws Exception {
    byte[] yIsPPlusOne = new byte[32];
    Arrays.fill(yIsPPlusOne, (byte) 0xff);
    yIsPPlusOne[0] = (byte) 0xee;
    yIsPPlusOne[31] = 0x7f;
    byte[] negativeZero = new byte[32];
    negativeZero[0] = 1;
    negativeZero[31] = (byte) 0x80;
    byte[] canonical = new byte[32];
    canonical[0] = 1;
    for (byte[] rEnc : List.of(yIsPPlusOne, negativeZero, canonical)) {
      BigInteger a = new BigInteger(252, random);
      byte[] publicKey = BatchVerifier.multiply(BatchVerifier.basePoint(), a).encode();
      byte[] message = "identity as R".getBytes();
      MessageDigest sha = MessageDigest.getInstance("SHA-512");
      sha.update(rEnc);
      sha.update(publicKey);
      sha.update(message);
      BigInteger h = BatchVerifier.littleEndian(sha.digest(), 0, 64).mod(BatchVerifier.order());
      byte[] sig = new byte[64];
      System.arraycopy(rEnc, 0, sig, 0, 32);
      System.arraycopy(BatchVerifier.toLittleEndian(h.multiply(a).mod(BatchVerifier.order()), 32), 0, sig, 32, 32);
      boolean bouncyCastle = PublicKeyVerifier.of(publicKey).verify(message, sig);
      BatchVerifier.Key key = BatchVerifier.key(publicKey);
      assertEquals(bouncyCastle, BatchVerifier.verify(key, message, sig), Digests.hex(rEnc));
      List<BatchVerifier.Item> batch = items(3);
      batch.add(new BatchVerifier.Item(key, message, sig));
      assertEquals(bouncyCastle, BatchVerifier.verifyAll(batch, secret), Digests.hex(rEnc));
    }
  }
}

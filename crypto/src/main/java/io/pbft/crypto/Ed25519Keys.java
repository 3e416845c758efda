package io.pbft.crypto;

import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * An Ed25519 key pair. Signing uses BouncyCastle's low-level RFC 8032 code, which is an
 * order of magnitude faster than the JDK's EdDSA provider on this kind of machine.
 */
public final class Ed25519Keys implements Signer {
  public static final int SECRET_KEY_BYTES = Ed25519.SECRET_KEY_SIZE;
  public static final int PUBLIC_KEY_BYTES = Ed25519.PUBLIC_KEY_SIZE;
  public static final int SIGNATURE_BYTES = Ed25519.SIGNATURE_SIZE;

  private final byte[] secretKey;
  private final byte[] publicKey;

  private Ed25519Keys(byte[] secretKey) {
    if (secretKey.length != SECRET_KEY_BYTES) {
      throw new IllegalArgumentException(
          "an Ed25519 secret key is " + SECRET_KEY_BYTES + " bytes, got " + secretKey.length);
    }
    this.secretKey = secretKey.clone();
    this.publicKey = new byte[PUBLIC_KEY_BYTES];
    Ed25519.generatePublicKey(this.secretKey, 0, this.publicKey, 0);
  }

  public static Ed25519Keys generate(SecureRandom random) {
    byte[] sk = new byte[SECRET_KEY_BYTES];
    Ed25519.generatePrivateKey(random, sk);
    return new Ed25519Keys(sk);
  }

  public static Ed25519Keys fromSecretKey(byte[] secretKey) {
    return new Ed25519Keys(secretKey);
  }

  public byte[] secretKey() {
    return secretKey.clone();
  }

  public byte[] publicKey() {
    return publicKey.clone();
  }

  public PublicKeyVerifier verifier() {
    return PublicKeyVerifier.of(publicKey);
  }

  @Override
  public byte[] sign(byte[] message) {
    byte[] sig = new byte[SIGNATURE_BYTES];
    Ed25519.sign(secretKey, 0, publicKey, 0, message, 0, message.length, sig, 0);
    return sig;
  }

  @Override
  public String toString() {
    return "Ed25519Keys{public=" + Digests.hex(publicKey) + "}";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Ed25519Keys k && Arrays.equals(k.publicKey, publicKey);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(publicKey);
  }
}

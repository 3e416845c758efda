package io.pbft.crypto;

import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Verifies Ed25519 signatures of one identity. The public key is decoded and validated once,
 * at construction, so every verification skips that work. Thread-safe.
 */
public final class PublicKeyVerifier implements SignatureCheck {
  private final byte[] publicKey;
  private final Ed25519.PublicPoint point;

  private PublicKeyVerifier(byte[] publicKey, Ed25519.PublicPoint point) {
    this.publicKey = publicKey;
    this.point = point;
  }

  /** @throws IllegalArgumentException if the bytes are not a valid Ed25519 public key */
  public static PublicKeyVerifier of(byte[] publicKey) {
    if (publicKey == null || publicKey.length != Ed25519.PUBLIC_KEY_SIZE) {
      throw new IllegalArgumentException("an Ed25519 public key is " + Ed25519.PUBLIC_KEY_SIZE + " bytes");
    }
    Ed25519.PublicPoint point = Ed25519.validatePublicKeyFullExport(publicKey, 0);
    if (point == null) {
      throw new IllegalArgumentException("not a valid Ed25519 public key: " + Digests.hex(publicKey));
    }
    return new PublicKeyVerifier(publicKey.clone(), point);
  }

  /** Returns false (never throws) for a signature of the wrong size or one that does not verify. */
  @Override
  public boolean verify(byte[] message, byte[] signature) {
    if (message == null || signature == null || signature.length != Ed25519.SIGNATURE_SIZE) {
      return false;
    }
    return Ed25519.verify(signature, 0, point, message, 0, message.length);
  }

  public byte[] publicKey() {
    return publicKey.clone();
  }
}

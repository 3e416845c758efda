package io.pbft.crypto;

import java.security.SecureRandom;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.bouncycastle.math.ec.rfc7748.X25519;

/**
 * Ephemeral X25519 key agreement for client sessions. Each side signs its ephemeral public
 * key with its long-term Ed25519 key (see SessionOpen / SessionAccept in the wire format), so
 * the derived MAC key is known only to that client and that replica.
 */
public final class SessionKeys {
  public static final int KEY_BYTES = X25519.POINT_SIZE;
  private static final byte[] INFO = "pbft reply mac v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  /** HKDF info of the key a client authenticates its requests to one replica with. */
  static final byte[] REQUEST_INFO = "pbft request mac v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final byte[] privateKey = new byte[X25519.SCALAR_SIZE];
  private final byte[] publicKey = new byte[X25519.POINT_SIZE];

  public SessionKeys(SecureRandom random) {
    X25519.generatePrivateKey(random, privateKey);
    X25519.generatePublicKey(privateKey, 0, publicKey, 0);
  }

  public byte[] publicKey() {
    return publicKey.clone();
  }

  /**
   * Derives the session MAC key from the peer's ephemeral public key. The transcript (both
   * signed handshake messages' bytes, or their digest) is mixed in as HKDF salt.
   *
   * @throws IllegalArgumentException if the peer key is malformed or a low-order point
   */
  public byte[] deriveMacKey(byte[] peerPublicKey, byte[] transcript) {
    return deriveKey(peerPublicKey, transcript, INFO);
  }

  /** As {@link #deriveMacKey}, for another purpose named by the HKDF {@code info}. */
  byte[] deriveKey(byte[] peerPublicKey, byte[] transcript, byte[] info) {
    if (peerPublicKey == null || peerPublicKey.length != X25519.POINT_SIZE) {
      throw new IllegalArgumentException("an X25519 public key is " + X25519.POINT_SIZE + " bytes");
    }
    byte[] shared = new byte[X25519.POINT_SIZE];
    if (!X25519.calculateAgreement(privateKey, 0, peerPublicKey, 0, shared, 0)) {
      throw new IllegalArgumentException("X25519 agreement failed: low-order peer key");
    }
    HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
    hkdf.init(new HKDFParameters(shared, transcript, info));
    byte[] key = new byte[32];
    hkdf.generateBytes(key, 0, key.length);
    return key;
  }
}

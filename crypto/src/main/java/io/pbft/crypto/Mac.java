package io.pbft.crypto;

import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import javax.crypto.spec.SecretKeySpec;

/** HMAC-SHA256 under a session key. One instance per key; not thread-safe. */
public final class Mac {
  public static final int SIZE_BYTES = 32;
  private final javax.crypto.Mac mac;

  public Mac(byte[] key) {
    try {
      mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  public byte[] compute(byte[] message) {
    return mac.doFinal(message);
  }

  /** Constant-time comparison. */
  public boolean verify(byte[] message, byte[] tag) {
    return tag != null && MessageDigest.isEqual(compute(message), tag);
  }
}

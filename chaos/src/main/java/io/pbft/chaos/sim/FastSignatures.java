package io.pbft.chaos.sim;

import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.SignatureCheck;
import io.pbft.crypto.Signer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The simulator's fast crypto: a "signature" is HMAC-SHA512 of the message under the signer's
 * secret key, 64 bytes like an Ed25519 signature. It binds signer and content as a signature
 * does, as far as the simulation goes: only the signer's own code holds its secret (a traitor
 * signs with its own {@link Signer}, and no behaviour reads another identity's key), and the
 * checks are made by the simulator, which knows every secret. What it does not model is a
 * third party that can check without the secret; nothing in the protocol depends on who
 * checks. It costs about a microsecond where Ed25519 costs 40 to sign and 80 to verify.
 */
public final class FastSignatures {
  private static final String ALGORITHM = "HmacSHA512";
  private static final ThreadLocal<Mac> MAC = ThreadLocal.withInitial(() -> {
    try {
      return Mac.getInstance(ALGORITHM);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(ALGORITHM + " is missing from this JDK", e);
    }
  });

  private FastSignatures() {}

  /** Signs as {@code keys}'s identity, under its secret key. */
  public static Signer signer(Ed25519Keys keys) {
    SecretKeySpec key = new SecretKeySpec(keys.secretKey(), ALGORITHM);
    return message -> mac(key, message);
  }

  /**
   * The check of each identity in {@code identities}, found by its public key (as a cluster
   * configuration names it); an unknown public key gets a check that refuses everything.
   */
  public static Function<byte[], SignatureCheck> checks(List<Ed25519Keys> identities) {
    Map<String, SecretKeySpec> byPublicKey = new HashMap<>();
    for (Ed25519Keys k : identities) {
      byPublicKey.put(java.util.HexFormat.of().formatHex(k.publicKey()), new SecretKeySpec(k.secretKey(), ALGORITHM));
    }
    return publicKey -> {
      SecretKeySpec key = byPublicKey.get(java.util.HexFormat.of().formatHex(publicKey));
      if (key == null) {
        return (message, signature) -> false;
      }
      return (message, signature) -> message != null && signature != null
          && MessageDigest.isEqual(mac(key, message), signature);
    };
  }

  private static byte[] mac(SecretKeySpec key, byte[] message) {
    Mac mac = MAC.get();
    try {
      mac.init(key);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot key " + ALGORITHM, e);
    }
    return mac.doFinal(message);
  }
}

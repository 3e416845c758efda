package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.Mac;
import io.pbft.crypto.SignatureCheck;
import io.pbft.crypto.Signer;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The simulator's fast crypto: a "signature" is a 64-byte keyed hash of the message under a key
 * derived from the signer's secret key, in place of Ed25519. It binds signer and content as a
 * signature does within a simulation: only the signer's own code holds its key (a traitor signs
 * with its own {@link Signer}, and no behaviour reads another identity's key), a changed byte of
 * the message or of the tag fails the check, and the simulator, which knows every key, checks.
 *
 * <p>It is not a cryptographic MAC: its unforgeability rests on no traitor attacking the hash,
 * which none in the catalogue does (their lies are re-signed with their own key or refused).
 * That is what makes it cheap: two 64-bit multiply-rotate lanes over the message, about 0.1 us
 * per kilobyte, where HMAC-SHA256 costs 1 us per kilobyte and Ed25519 40 to sign and 80 to
 * verify. Pre-prepares carrying batches and view changes carrying certificates are kilobytes,
 * and every replica checks every message it receives.
 */
public final class FastSignatures {
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final int TAG_BYTES = 64;

  private FastSignatures() {}

  /** Signs as {@code keys}'s identity, under a key derived from its secret key. */
  public static Signer signer(Ed25519Keys keys) {
    long[] k = key(keys);
    return message -> tag(k[0], k[1], message);
  }

  /**
   * The check of each identity in {@code identities}, found by its public key (as a cluster
   * configuration names it); an unknown public key gets a check that refuses everything.
   */
  public static Function<byte[], SignatureCheck> checks(List<Ed25519Keys> identities) {
    Map<String, long[]> byPublicKey = new HashMap<>();
    for (Ed25519Keys k : identities) {
      byPublicKey.put(HexFormat.of().formatHex(k.publicKey()), key(k));
    }
    return publicKey -> {
      long[] k = byPublicKey.get(HexFormat.of().formatHex(publicKey));
      if (k == null) {
        return (message, signature) -> false;
      }
      return (message, signature) -> message != null && signature != null && signature.length == TAG_BYTES
          && MessageDigest.isEqual(tag(k[0], k[1], message), signature);
    };
  }

  /**
   * The fast stand-in for a request's MAC (HMAC-SHA256 in real runs): the same keyed hash, under
   * the first 16 bytes of the session's request key, cut to a MAC's 32 bytes. Only the client and
   * the replica of a session know its key, as with HMAC.
   */
  public static byte[] requestMac(byte[] key, ByteString request) {
    long k0 = (long) LONGS.get(key, 0);
    long k1 = (long) LONGS.get(key, 8);
    return Arrays.copyOf(tag(k0, k1, request.toByteArray()), Mac.SIZE_BYTES);
  }

  private static long[] key(Ed25519Keys keys) {
    byte[] d = Digests.sha256(keys.secretKey());
    return new long[] {(long) LONGS.get(d, 0), (long) LONGS.get(d, 8)};
  }

  static byte[] tag(long k0, long k1, byte[] m) {
    long a = k0 ^ (m.length * 0x9E3779B97F4A7C15L);
    long b = k1 + m.length;
    int i = 0;
    for (; i + Long.BYTES <= m.length; i += Long.BYTES) {
      long w = (long) LONGS.get(m, i);
      a = Long.rotateLeft((a ^ w) * 0xBF58476D1CE4E5B9L, 31);
      b = Long.rotateLeft((b + w) * 0x94D049BB133111EBL, 27) ^ a;
    }
    long tail = 0;
    for (int shift = 0; i < m.length; i++, shift += 8) {
      tail |= (m[i] & 0xffL) << shift;
    }
    a = mix(a ^ tail ^ k1);
    b = mix(b + tail + k0);
    byte[] out = new byte[TAG_BYTES];
    long x = a;
    long y = b;
    for (int j = 0; j < TAG_BYTES; j += 2 * Long.BYTES) {
      LONGS.set(out, j, x);
      LONGS.set(out, j + Long.BYTES, y);
      x = mix(x + y + j);
      y = mix(y ^ x ^ k0);
    }
    return out;
  }

  /** The finalizer of SplitMix64: every input bit affects every output bit. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}

package io.pbft.config;

import io.pbft.crypto.PublicKeyVerifier;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Who may change the group: the {@code administration:} section of cluster.yaml, and the same
 * part of every later configuration epoch. A change is valid when at least {@code threshold}
 * distinct keys of the epoch it is ordered in signed it (docs/RECONFIGURATION.md). Replicas never
 * hold these keys: a change that a replica could sign would let f traitors vote themselves a
 * majority.
 *
 * <p>The value is checked by {@link #problem()}, not by its constructor, so that a
 * reconfiguration command naming a bad one is refused with the reason instead of throwing.
 */
public record Administration(List<AdministrationKey> keys, int threshold) {
  /** At most this many keys: every one may cost a signature check per command. */
  public static final int KEYS_MAX = 64;

  /** No administration keys: the group cannot be changed at run time (a file without the section). */
  public static final Administration NONE = new Administration(List.of(), 0);

  public Administration {
    keys = List.copyOf(keys);
  }

  /** Whether this is {@link #NONE}, the administration of a group nobody may change. */
  public boolean isNone() {
    return keys.isEmpty() && threshold == 0;
  }

  /**
   * What is wrong with this administration, naming the field (keys are named by their position,
   * {@code administration.keys[i]}), or null when it is valid: at least one key, at most
   * {@link #KEYS_MAX}, each a valid Ed25519 public key listed once, and a threshold from 1 to the
   * number of keys. {@link #NONE} is not valid: callers decide where no administration is allowed.
   */
  public String problem() {
    if (keys.isEmpty()) {
      return "administration.keys must list at least one key";
    }
    if (keys.size() > KEYS_MAX) {
      return "administration.keys lists " + keys.size() + " keys; at most " + KEYS_MAX + " are allowed";
    }
    Map<ByteBuffer, Integer> seen = new HashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      byte[] key = keys.get(i).publicKey();
      try {
        PublicKeyVerifier.of(key);
      } catch (IllegalArgumentException e) {
        return "administration.keys[" + i + "]: publicKey is not a valid Ed25519 public key (" + e.getMessage() + ")";
      }
      Integer earlier = seen.putIfAbsent(ByteBuffer.wrap(key), i);
      if (earlier != null) {
        return "administration.keys[" + i + "]: publicKey is listed twice (also administration.keys[" + earlier
            + "])";
      }
    }
    if (threshold < 1 || threshold > keys.size()) {
      return "administration.threshold must be between 1 and " + keys.size() + " (the number of keys), got "
          + threshold;
    }
    return null;
  }

  /** Whether {@code publicKey} is one of the keys. */
  public boolean hasKey(byte[] publicKey) {
    return indexOf(publicKey) >= 0;
  }

  /** The position of {@code publicKey} among the keys, or -1. */
  public int indexOf(byte[] publicKey) {
    for (int i = 0; i < keys.size(); i++) {
      if (java.util.Arrays.equals(keys.get(i).publicKey(), publicKey)) {
        return i;
      }
    }
    return -1;
  }

  /** The public keys in order. */
  public List<byte[]> publicKeys() {
    List<byte[]> out = new ArrayList<>(keys.size());
    keys.forEach(k -> out.add(k.publicKey()));
    return out;
  }

  /**
   * The same keys and threshold without their key files: what the group agrees on (where a
   * private key is kept is a local matter of one machine).
   */
  public Administration withoutKeyFiles() {
    List<AdministrationKey> bare = new ArrayList<>(keys.size());
    keys.forEach(k -> bare.add(new AdministrationKey(k.publicKey())));
    return new Administration(bare, threshold);
  }

  @Override
  public String toString() {
    return isNone() ? "Administration{none}" : "Administration{" + threshold + " of " + keys + "}";
  }
}

package io.pbft.config;

import io.pbft.crypto.Digests;
import java.util.Arrays;
import java.util.Objects;

/**
 * One administration key: an Ed25519 public key whose holder may sign changes of the group
 * (docs/RECONFIGURATION.md).
 *
 * @param keyFile where its private key is, relative to the configuration's directory; null when
 *     this machine does not hold it (the usual case: administration keys belong offline, with
 *     the operators) or when the key comes from a reconfiguration command
 */
public record AdministrationKey(byte[] publicKey, String keyFile) {
  public AdministrationKey {
    publicKey = Objects.requireNonNull(publicKey, "publicKey").clone();
  }

  public AdministrationKey(byte[] publicKey) {
    this(publicKey, null);
  }

  @Override
  public byte[] publicKey() {
    return publicKey.clone();
  }

  /** The first bytes of the key in hex, enough to tell keys apart in a message. */
  public String shortName() {
    return Digests.hex(publicKey).substring(0, Math.min(16, 2 * publicKey.length));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AdministrationKey k && Arrays.equals(k.publicKey, publicKey)
        && Objects.equals(k.keyFile, keyFile);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(publicKey) * 31 + Objects.hashCode(keyFile);
  }

  @Override
  public String toString() {
    return "AdministrationKey{" + Digests.hex(publicKey) + (keyFile == null ? "" : ", " + keyFile) + "}";
  }
}

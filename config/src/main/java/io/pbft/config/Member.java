package io.pbft.config;

import io.pbft.crypto.Digests;
import java.util.Arrays;
import java.util.Objects;

/**
 * One member of a {@link Membership configuration epoch}: what the whole group agrees on about a
 * replica. Unlike {@link ReplicaInfo} it holds nothing local to one machine (no key file, no
 * metrics endpoint). Checked as part of its membership ({@link Membership#problem}), not here, so
 * that a reconfiguration command naming a bad one is refused with the reason.
 *
 * @param publicKey the replica's Ed25519 public key
 * @param tlsCertificate the replica's TLS certificate (DER, subject CN {@code replica-<id>}), or
 *     empty: the cluster CA vouches for its certificate, as in epoch 0
 */
public record Member(int id, String host, int port, byte[] publicKey, byte[] tlsCertificate) {
  public Member {
    Objects.requireNonNull(host, "host");
    publicKey = Objects.requireNonNull(publicKey, "publicKey").clone();
    tlsCertificate = tlsCertificate == null ? new byte[0] : tlsCertificate.clone();
  }

  /** A member without a TLS certificate of its own. */
  public Member(int id, String host, int port, byte[] publicKey) {
    this(id, host, port, publicKey, null);
  }

  /** The member a replica entry of cluster.yaml describes. */
  public static Member of(ReplicaInfo replica) {
    return new Member(replica.id(), replica.host(), replica.port(), replica.publicKey());
  }

  public String address() {
    return host + ":" + port;
  }

  @Override
  public byte[] publicKey() {
    return publicKey.clone();
  }

  @Override
  public byte[] tlsCertificate() {
    return tlsCertificate.clone();
  }

  public boolean hasTlsCertificate() {
    return tlsCertificate.length > 0;
  }

  /** The replica entry for this member: no key file, no metrics endpoint. */
  public ReplicaInfo toReplicaInfo() {
    return new ReplicaInfo(id, host, port, publicKey.clone(), null);
  }

  /** The same member at another address. */
  public Member withAddress(String newHost, int newPort) {
    return new Member(id, newHost, newPort, publicKey, tlsCertificate);
  }

  /** The same member under another key (and certificate: the old one names the old key's holder). */
  public Member withKey(byte[] newPublicKey, byte[] newTlsCertificate) {
    return new Member(id, host, port, newPublicKey, newTlsCertificate);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Member m && m.id == id && m.port == port && m.host.equals(host)
        && Arrays.equals(m.publicKey, publicKey) && Arrays.equals(m.tlsCertificate, tlsCertificate);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, host, port, Arrays.hashCode(publicKey), Arrays.hashCode(tlsCertificate));
  }

  @Override
  public String toString() {
    return "Member{" + id + " at " + address() + ", key " + Digests.hex(publicKey)
        + (hasTlsCertificate() ? ", TLS certificate of " + tlsCertificate.length + " bytes" : "") + "}";
  }
}

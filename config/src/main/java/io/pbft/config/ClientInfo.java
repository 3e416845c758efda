package io.pbft.config;

import io.pbft.crypto.PublicKeyVerifier;

/** One client identity as the cluster configuration describes it. */
public record ClientInfo(int id, byte[] publicKey, String keyFile) {
  public PublicKeyVerifier verifier() {
    return PublicKeyVerifier.of(publicKey);
  }
}

package io.pbft.config;

import io.pbft.crypto.PublicKeyVerifier;

/** One replica as the cluster configuration describes it. */
public record ReplicaInfo(int id, String host, int port, byte[] publicKey, String keyFile) {
  public String address() {
    return host + ":" + port;
  }

  public PublicKeyVerifier verifier() {
    return PublicKeyVerifier.of(publicKey);
  }
}

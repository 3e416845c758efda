package io.pbft.config;

import io.pbft.crypto.PublicKeyVerifier;

/**
 * One replica as the cluster configuration describes it.
 *
 * @param metrics where it serves Prometheus metrics, or null for none (the default: an endpoint
 *     nobody scrapes is a port to keep free and to guard for nothing)
 */
public record ReplicaInfo(int id, String host, int port, byte[] publicKey, String keyFile, MetricsAddress metrics) {
  /** A replica without a metrics endpoint. */
  public ReplicaInfo(int id, String host, int port, byte[] publicKey, String keyFile) {
    this(id, host, port, publicKey, keyFile, null);
  }

  public String address() {
    return host + ":" + port;
  }

  public PublicKeyVerifier verifier() {
    return PublicKeyVerifier.of(publicKey);
  }

  /** The same replica reached at {@code newHost:newPort} (keys and metrics endpoint kept). */
  public ReplicaInfo withAddress(String newHost, int newPort) {
    return new ReplicaInfo(id, newHost, newPort, publicKey, keyFile, metrics);
  }

  /** The same replica serving metrics at {@code address} (null: none). */
  public ReplicaInfo withMetrics(MetricsAddress address) {
    return new ReplicaInfo(id, host, port, publicKey, keyFile, address);
  }
}

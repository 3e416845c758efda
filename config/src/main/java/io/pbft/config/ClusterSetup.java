package io.pbft.config;

import io.pbft.crypto.Ed25519Keys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/** Generates keys and a cluster configuration: what {@code pbft keygen} does. */
public final class ClusterSetup {
  private ClusterSetup() {}

  /**
   * Writes {@code out/cluster.yaml} and {@code out/keys/*.key}.
   *
   * @param faults f to tolerate, or -1 to derive it from the replica count
   */
  public static ClusterConfig generate(Path out, int replicaCount, int clientCount, String host, int basePort,
      int faults, SecureRandom random) {
    if (replicaCount < 1) {
      throw new ConfigException("--replicas must be at least 1, got " + replicaCount);
    }
    if (clientCount < 0) {
      throw new ConfigException("--clients must not be negative, got " + clientCount);
    }
    int f = faults < 0 ? ClusterConfig.faultsTolerated(replicaCount) : faults;
    if (replicaCount < 3 * f + 1) {
      throw new ConfigException("tolerating f = " + f + " faults needs n >= 3f + 1 = " + (3 * f + 1)
          + " replicas, got --replicas " + replicaCount);
    }
    if (basePort < 1 || basePort + replicaCount - 1 > 65535) {
      throw new ConfigException("--base-port " + basePort + " leaves no room for " + replicaCount + " ports");
    }
    try {
      Files.createDirectories(out.resolve("keys"));
    } catch (java.io.IOException e) {
      throw new ConfigException("cannot create " + out + ": " + e.getMessage(), e);
    }
    List<ReplicaInfo> replicas = new ArrayList<>();
    for (int i = 0; i < replicaCount; i++) {
      Ed25519Keys keys = Ed25519Keys.generate(random);
      String keyFile = "keys/replica-" + i + ".key";
      KeyFiles.write(out.resolve(keyFile), keys);
      replicas.add(new ReplicaInfo(i, host, basePort + i, keys.publicKey(), keyFile));
    }
    List<ClientInfo> clients = new ArrayList<>();
    for (int c = 0; c < clientCount; c++) {
      Ed25519Keys keys = Ed25519Keys.generate(random);
      String keyFile = "keys/client-" + c + ".key";
      KeyFiles.write(out.resolve(keyFile), keys);
      clients.add(new ClientInfo(c, keys.publicKey(), keyFile));
    }
    ClusterConfig config = new ClusterConfig(replicas, clients, f, ProtocolSettings.defaults(),
        TransportSettings.defaults(), out.toAbsolutePath());
    config.write(out.resolve("cluster.yaml"));
    return config;
  }
}

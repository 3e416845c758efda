package io.pbft.docker;

import io.pbft.config.ClusterConfig;
import io.pbft.config.TlsConfig;
import io.pbft.crypto.tls.CertificateAuthority;
import io.pbft.config.ClusterSetup;
import io.pbft.testkit.ClusterConfigs;
import io.pbft.testkit.Directories;
import io.pbft.testkit.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;

/**
 * The keys and configurations of a container cluster, in a temporary folder: keys for every
 * replica and client, {@code cluster.yaml} naming replica i by its container host name
 * {@code replicaI} (port {@value PbftCluster#REPLICA_PORT} everywhere), and {@code
 * cluster-host.yaml} for clients on the host, replica i at 127.0.0.1 and a free port published
 * for it.
 */
final class ClusterFiles implements AutoCloseable {
  private final Path dir;
  private final ClusterConfig containerConfig;
  private final ClusterConfig hostConfig;
  private final int[] hostPorts;

  private ClusterFiles(Path dir, ClusterConfig containerConfig, ClusterConfig hostConfig, int[] hostPorts) {
    this.dir = dir;
    this.containerConfig = containerConfig;
    this.hostConfig = hostConfig;
    this.hostPorts = hostPorts;
  }

  /** Generates keys and both configurations as {@code options} say; on failure nothing is left behind. */
  static ClusterFiles generate(ClusterOptions options) {
    Path dir = Directories.temporary("cluster");
    try {
      ClusterConfig generated = ClusterSetup.generate(dir, options.n, options.clients, "127.0.0.1",
          PbftCluster.REPLICA_PORT, -1, new SecureRandom());
      // Both sections at once: rules between them (a batch must fit in a message) hold for the pair.
      generated = generated.withSettings(options.protocol.apply(generated.protocol()),
          options.transport.apply(generated.transport())).withAdministration(options.administration);
      ClusterConfig inside = ClusterConfigs.withAddresses(generated, PbftCluster::hostName,
          i -> PbftCluster.REPLICA_PORT);
      if (inside.tls().enabled()) {
        // certificates naming the container host names the peers dial (and 127.0.0.1, where the
        // host reaches the published ports), from the CA the generation made
        inside = ClusterSetup.issueTls(dir, inside, CertificateAuthority.load(dir.resolve(TlsConfig.CA_CERT_FILE),
            dir.resolve(TlsConfig.CA_KEY_FILE), new SecureRandom()), false, ClusterSetup.CERTIFICATE_VALIDITY);
      }
      inside.write(dir.resolve("cluster.yaml"));
      int[] ports = Ports.free(options.n);
      ClusterConfig outside = ClusterConfigs.onLoopback(generated, ports);
      outside.write(dir.resolve("cluster-host.yaml"));
      return new ClusterFiles(dir, inside, outside, ports);
    } catch (RuntimeException | Error e) {
      Directories.deleteRecursively(dir);
      throw e;
    }
  }

  Path dir() {
    return dir;
  }

  ClusterConfig containerConfig() {
    return containerConfig;
  }

  ClusterConfig hostConfig() {
    return hostConfig;
  }

  /** The port on 127.0.0.1 published for replica {@code id}. */
  int hostPort(int id) {
    return hostPorts[id];
  }

  int[] hostPorts() {
    return hostPorts.clone();
  }

  /** The key file of replica {@code id}, as it is copied into its container (and only there). */
  byte[] replicaKey(int id) {
    try {
      return Files.readAllBytes(dir.resolve(containerConfig.replica(id).keyFile()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the key of replica " + id, e);
    }
  }

  /** A file of the cluster folder (a TLS certificate or key), as it is copied into a container. */
  byte[] file(String relative) {
    try {
      return Files.readAllBytes(dir.resolve(relative));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + relative + " of the cluster", e);
    }
  }

  /** Deletes the folder with the keys. */
  @Override
  public void close() {
    Directories.deleteRecursively(dir);
  }
}

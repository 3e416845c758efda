package io.pbft.config;

import io.pbft.crypto.Ed25519Keys;
import java.nio.file.Files;
import java.nio.file.Path;
import io.pbft.crypto.tls.CertificateAuthority;
import io.pbft.crypto.tls.Pem;
import io.pbft.crypto.tls.TlsIdentity;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Generates keys and a cluster configuration: what {@code pbft keygen} does. */
public final class ClusterSetup {
  private ClusterSetup() {}

  /** How long certificates that keygen issues are valid unless told otherwise. */
  public static final Duration CERTIFICATE_VALIDITY = Duration.ofDays(365);
  /** How long a CA that keygen makes is valid: longer than the certificates it issues. */
  public static final Duration CA_VALIDITY = Duration.ofDays(3650);

  /**
   * Writes {@code out/cluster.yaml}, {@code out/keys/*.key} and, TLS being on by default, a new
   * cluster CA and a certificate for every replica, client and the operator in {@code out/tls/}
   * (see {@link #issueTls}).
   *
   * @param faults f to tolerate, or -1 to derive it from the replica count
   */
  public static ClusterConfig generate(Path out, int replicaCount, int clientCount, String host, int basePort,
      int faults, SecureRandom random) {
    ClusterConfig plain = generateWithoutTls(out, replicaCount, clientCount, host, basePort, faults, random);
    ClusterConfig config = issueTls(out, plain, CertificateAuthority.generate("pbft cluster CA", CA_VALIDITY, random),
        true, CERTIFICATE_VALIDITY);
    config.write(out.resolve("cluster.yaml"));
    return config;
  }

  /**
   * Issues TLS certificates for a cluster into {@code out/tls/}: {@code replica-I.crt/.key} naming
   * the replica's host (plus localhost and 127.0.0.1, for clients on the same machine and for
   * ports published there), {@code client-J} and {@code operator}, and {@code ca.crt}. With
   * {@code writeCaKey}, also {@code ca.key} (a CA made here; an existing CA's key stays where it
   * is). Existing files are replaced, each atomically, which is how certificates are rotated.
   * Returns the configuration with TLS on (its file is not written).
   */
  public static ClusterConfig issueTls(Path out, ClusterConfig config, CertificateAuthority ca, boolean writeCaKey,
      Duration validity) {
    Path dir = out.resolve(TlsConfig.DIRECTORY);
    Pem.writeCertificate(out.resolve(TlsConfig.CA_CERT_FILE), ca.certificate());
    if (writeCaKey) {
      Pem.writePrivateKey(out.resolve(TlsConfig.CA_KEY_FILE), ca.key());
    }
    TlsConfig tls = config.tls().enabled() ? config.tls() : TlsConfig.STANDARD;
    for (ReplicaInfo r : config.replicas()) {
      write(out, tls.replicaFiles(r.id()), ca.issue(TlsIdentity.replica(r.id()).commonName(),
          CertificateAuthority.withLoopback(List.of(r.host())), CertificateAuthority.Usage.SERVER_AND_CLIENT,
          validity));
    }
    for (ClientInfo c : config.clients()) {
      write(out, tls.clientFiles(c.id()), ca.issue(TlsIdentity.client(c.id()).commonName(), List.of(),
          CertificateAuthority.Usage.CLIENT, validity));
    }
    write(out, tls.operatorFiles(), ca.issue(TlsIdentity.OPERATOR.commonName(), List.of(),
        CertificateAuthority.Usage.CLIENT, validity));
    if (!java.nio.file.Files.isDirectory(dir)) {
      throw new ConfigException("cannot create " + dir);
    }
    return config.withTls(tls);
  }

  private static void write(Path out, TlsConfig.Files files, CertificateAuthority.Issued issued) {
    Pem.writePrivateKey(out.resolve(files.keyFile()), issued.key());
    Pem.writeCertificate(out.resolve(files.certFile()), issued.certificate());
  }

  /** As {@link #generate}, with every link plaintext ({@code pbft keygen --no-tls}). */
  public static ClusterConfig generateWithoutTls(Path out, int replicaCount, int clientCount, String host,
      int basePort, int faults, SecureRandom random) {
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

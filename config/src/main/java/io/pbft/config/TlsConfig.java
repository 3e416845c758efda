package io.pbft.config;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The {@code tls:} section of cluster.yaml: whether every link is TLS, the CA certificate every
 * party trusts, and where each identity's certificate and private key are. Paths are relative to
 * the configuration's directory, like {@code keyFile}. An identity without an entry uses the
 * layout {@code pbft keygen} writes: {@code tls/replica-I.crt}, {@code tls/client-J.crt},
 * {@code tls/operator.crt}, each beside its {@code .key}. Files are read and checked when an
 * identity is used ({@link ClusterConfig#replicaTls}), so that a machine needs only its own.
 *
 * @param replicas explicit certificate and key files by replica id (others: the layout)
 * @param clients explicit certificate and key files by client id (others: the layout)
 * @param operator explicit files of the operator identity, or null for the layout
 */
public record TlsConfig(boolean enabled, String caCertFile, Map<Integer, Files> replicas, Map<Integer, Files> clients,
    Files operator) {
  public static final String DIRECTORY = "tls";
  public static final String CA_CERT_FILE = DIRECTORY + "/ca.crt";
  public static final String CA_KEY_FILE = DIRECTORY + "/ca.key";

  /** TLS off: every link plaintext, as before TLS existed. */
  public static final TlsConfig DISABLED = new TlsConfig(false, null, Map.of(), Map.of(), null);

  /** TLS on with the layout {@code pbft keygen} writes. */
  public static final TlsConfig STANDARD = new TlsConfig(true, CA_CERT_FILE, Map.of(), Map.of(), null);

  /** A certificate file and the file of its private key. */
  public record Files(String certFile, String keyFile) {
    public Files {
      Objects.requireNonNull(certFile, "certFile");
      Objects.requireNonNull(keyFile, "keyFile");
    }
  }

  public TlsConfig {
    replicas = Map.copyOf(replicas);
    clients = Map.copyOf(clients);
    if (enabled && (caCertFile == null || caCertFile.isBlank())) {
      throw new ConfigException("tls.caCertFile is required when tls.enabled is true");
    }
  }

  public static Files replicaLayout(int id) {
    return layout("replica-" + id);
  }

  public static Files clientLayout(int id) {
    return layout("client-" + id);
  }

  public static Files operatorLayout() {
    return layout("operator");
  }

  private static Files layout(String name) {
    return new Files(DIRECTORY + "/" + name + ".crt", DIRECTORY + "/" + name + ".key");
  }

  public Files replicaFiles(int id) {
    return replicas.getOrDefault(id, replicaLayout(id));
  }

  public Files clientFiles(int id) {
    return clients.getOrDefault(id, clientLayout(id));
  }

  public Files operatorFiles() {
    return operator != null ? operator : operatorLayout();
  }

  /** The same section, switched on or off. */
  public TlsConfig withEnabled(boolean on) {
    return new TlsConfig(on, on && caCertFile == null ? CA_CERT_FILE : caCertFile, replicas, clients, operator);
  }

  static Map<Integer, Files> sorted(Map<Integer, Files> m) {
    return new TreeMap<>(m);
  }
}

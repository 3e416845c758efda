package io.pbft.cli;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.MetricsAddress;
import io.pbft.config.ReplicaInfo;
import io.pbft.config.TlsConfig;
import io.pbft.crypto.tls.CertificateAuthority;
import io.pbft.crypto.tls.TlsMaterialException;
import java.time.Duration;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pbft keygen}: key pairs for every replica and client, and the cluster configuration. */
@Command(name = "keygen", mixinStandardHelpOptions = true,
    description = "Generate keys, TLS certificates and a cluster configuration (DIR/cluster.yaml, DIR/keys/, DIR/tls/).")
final class KeygenCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--replicas", paramLabel = "N", defaultValue = "4", description = "Replicas (default ${DEFAULT-VALUE}).")
  int replicas;

  @Option(names = "--clients", paramLabel = "N", defaultValue = "8",
      description = "Client identities (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--out", paramLabel = "DIR", required = true, description = "Directory to write to.")
  Path out;

  @Option(names = "--base-port", paramLabel = "P", defaultValue = "7000",
      description = "Port of replica 0; replica i listens on P + i (default ${DEFAULT-VALUE}).")
  int basePort;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Host of every replica (default ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--hosts", paramLabel = "H0,H1,...", split = ",",
      description = {"One host name per replica instead of --host, e.g. container names: replica i is at Hi and "
          + "every replica listens on --base-port."})
  List<String> hosts;

  @Option(names = "--published-base-port", paramLabel = "P",
      description = {"Also write DIR/cluster-host.yaml, the same cluster as seen from the Docker host: replica i at "
          + "127.0.0.1:P + i (where its container port is published)."})
  Integer publishedBasePort;

  @Option(names = "--faults", paramLabel = "F",
      description = "Faulty replicas to tolerate; needs replicas >= 3F + 1 (default: the most the replica count allows).")
  Integer faults;

  @Option(names = "--metrics-base-port", paramLabel = "P",
      description = {"Give every replica a Prometheus endpoint: replica i serves http://HOST:(P + i)/metrics, or "
          + "port P on each host with --hosts, HOST being --metrics-host. Default: no endpoint (see the README's "
          + "Metrics section)."})
  Integer metricsBasePort;

  @Option(names = "--metrics-host", paramLabel = "HOST", defaultValue = MetricsAddress.LOOPBACK,
      description = {"Address the metrics endpoints bind (default ${DEFAULT-VALUE}: reachable from the replica's "
          + "own machine only; 0.0.0.0 in a container that a Prometheus server outside scrapes)."})
  String metricsHost;

  @Option(names = "--force", description = "Overwrite an existing DIR/cluster.yaml and its keys.")
  boolean force;

  @Option(names = "--no-tls", description = {"Plaintext links: no DIR/tls/, and 'tls: {enabled: false}' in the "
      + "configuration. Default: TLS on every link, with a new cluster CA (DIR/tls/ca.crt, ca.key) and a certificate "
      + "for every replica, client and the operator."})
  boolean noTls;

  @Option(names = "--tls-ca-cert", paramLabel = "FILE",
      description = "Issue the certificates with this existing CA (PEM certificate; needs --tls-ca-key) instead of a new one.")
  Path tlsCaCert;

  @Option(names = "--tls-ca-key", paramLabel = "FILE",
      description = "The existing CA's private key (PEM, unencrypted); it is not copied into DIR.")
  Path tlsCaKey;

  @Option(names = "--tls-days", paramLabel = "DAYS", defaultValue = "365",
      description = "Validity of the certificates issued (default ${DEFAULT-VALUE} days; never beyond the CA's).")
  int tlsDays;

  @Option(names = "--reissue-tls", description = {"Only issue new TLS certificates for the cluster in DIR (its "
      + "cluster.yaml and keys stay), with DIR/tls/ca.key or --tls-ca-cert/--tls-ca-key: how certificates are "
      + "rotated. Running replicas pick the new files up within seconds, without a restart."})
  boolean reissueTls;

  @Override
  public Integer call() {
    if ((tlsCaCert == null) != (tlsCaKey == null)) {
      throw CliException.usage("--tls-ca-cert and --tls-ca-key go together");
    }
    if (noTls && (tlsCaCert != null || reissueTls)) {
      throw CliException.usage("--no-tls cannot be combined with --tls-ca-cert or --reissue-tls");
    }
    if (tlsDays < 1) {
      throw CliException.usage("--tls-days must be at least 1, got " + tlsDays);
    }
    if (reissueTls) {
      return reissue();
    }
    if (faults != null && faults < 0) {
      throw CliException.usage("--faults must not be negative, got " + faults);
    }
    if (Files.exists(out) && !Files.isDirectory(out)) {
      throw CliException.usage("--out " + out + " exists and is not a directory");
    }
    Path yaml = out.resolve("cluster.yaml");
    if (Files.exists(yaml) && !force) {
      throw CliException.usage(yaml + " already exists; pass --force to overwrite it (and its keys)");
    }
    if (hosts != null) {
      if (spec.commandLine().getParseResult().hasMatchedOption("--host")) {
        throw CliException.usage("--host and --hosts cannot be combined");
      }
      if (hosts.size() != replicas) {
        throw CliException.usage("--hosts names " + hosts.size() + " hosts but --replicas is " + replicas
            + " (give one host per replica)");
      }
      for (String h : hosts) {
        if (h.isBlank() || h.contains(":")) {
          throw CliException.usage("--hosts: '" + h + "' is not a host name");
        }
      }
      if (basePort < 1 || basePort > 65535) {
        throw CliException.usage("--base-port " + basePort + " is out of range");
      }
    }
    if (metricsBasePort != null && (metricsBasePort < 1
        || (hosts == null ? metricsBasePort + replicas - 1 : metricsBasePort) > 65535)) {
      throw CliException.usage("--metrics-base-port " + metricsBasePort + " leaves no room for " + replicas + " ports");
    }
    // Checked before anything is written: on one host the replicas' ports and the metrics ports
    // must not overlap (the configuration would refuse them, after the keys were made).
    if (metricsBasePort != null && (hosts == null
        ? metricsBasePort < basePort + replicas && basePort < metricsBasePort + replicas
        : metricsBasePort.intValue() == basePort)) {
      throw CliException.usage("--metrics-base-port " + metricsBasePort + ": the metrics ports overlap the replicas' "
          + "ports from --base-port " + basePort);
    }
    if (metricsBasePort == null && spec.commandLine().getParseResult().hasMatchedOption("--metrics-host")) {
      throw CliException.usage("--metrics-host needs --metrics-base-port");
    }
    if (publishedBasePort != null && (publishedBasePort < 1 || publishedBasePort + replicas - 1 > 65535)) {
      throw CliException.usage("--published-base-port " + publishedBasePort + " leaves no room for " + replicas
          + " ports");
    }
    SecureRandom random = new SecureRandom();
    CertificateAuthority ca = noTls ? null : certificateAuthority(random); // a bad CA file: nothing written yet
    ClusterConfig config = ClusterSetup.generateWithoutTls(out, replicas, clients, host, basePort,
        faults == null ? -1 : faults, random);
    if (hosts != null) {
      // every replica at its own host name, all on the same port (containers on one network)
      config = withAddresses(config, i -> hosts.get(i).strip(), i -> basePort);
    }
    if (metricsBasePort != null) {
      MetricsAddress[] metrics = new MetricsAddress[replicas];
      for (int i = 0; i < replicas; i++) {
        metrics[i] = new MetricsAddress(metricsHost.strip(), hosts == null ? metricsBasePort + i : metricsBasePort);
      }
      try {
        config = config.withMetrics(i -> metrics[i]);
      } catch (io.pbft.config.ConfigException e) {
        throw CliException.usage("--metrics-base-port " + metricsBasePort + ": " + e.getMessage());
      }
    }
    if (ca != null) {
      // after the addresses are final: each replica's certificate names its host
      config = ClusterSetup.issueTls(out, config, ca, tlsCaCert == null, Duration.ofDays(tlsDays));
    } else {
      config = config.withTls(TlsConfig.DISABLED);
    }
    config.write(yaml);
    PrintWriter o = spec.commandLine().getOut();
    o.printf("wrote %s: n = %d replicas (f = %d), %d clients, replicas at %s..%s%n", yaml, config.n(), config.f(),
        config.clients().size(), config.replica(0).address(), config.replica(config.n() - 1).address());
    o.printf("wrote %d private keys to %s (keep them secret)%n", config.n() + config.clients().size(),
        out.resolve("keys"));
    if (publishedBasePort != null) {
      Path hostYaml = out.resolve("cluster-host.yaml");
      // For clients on the host; the replicas' metrics addresses are binds inside their containers
      // (and would all be on 127.0.0.1 here), so the host's copy names none.
      ClusterConfig hostSide = withAddresses(config.withMetrics(i -> null), i -> "127.0.0.1",
          i -> publishedBasePort + i);
      hostSide.write(hostYaml);
      o.printf("wrote %s: the same cluster seen from the host, replicas at %s..%s%n", hostYaml,
          hostSide.replica(0).address(), hostSide.replica(hostSide.n() - 1).address());
    }
    if (ca != null) {
      o.printf("wrote TLS certificates to %s (CA: %s%s)%n", out.resolve(TlsConfig.DIRECTORY),
          tlsCaCert != null ? tlsCaCert : out.resolve(TlsConfig.CA_CERT_FILE),
          tlsCaCert != null ? ", an existing CA" : "; keep " + out.resolve(TlsConfig.CA_KEY_FILE)
              + " offline once the certificates are issued, and bring it back to issue more");
    } else {
      o.printf("TLS is off (--no-tls): every link is plaintext%n");
    }
    if (metricsBasePort != null) {
      o.printf("replicas serve Prometheus metrics at http://%s/metrics..http://%s/metrics%n", config.replica(0).metrics(),
          config.replica(config.n() - 1).metrics());
    }
    o.printf("start replica I with: pbft replica --config %s --id I%n", yaml);
    o.flush();
    return 0;
  }

  /** The CA to issue with: the one given, or a new one. */
  private CertificateAuthority certificateAuthority(SecureRandom random) {
    try {
      return tlsCaCert != null ? CertificateAuthority.load(tlsCaCert, tlsCaKey, random)
          : CertificateAuthority.generate("pbft cluster CA", ClusterSetup.CA_VALIDITY, random);
    } catch (TlsMaterialException e) {
      throw CliException.usage("--tls-ca-cert/--tls-ca-key: " + e.getMessage());
    }
  }

  /** {@code --reissue-tls}: new certificates for the cluster in DIR, everything else kept. */
  private int reissue() {
    Path yaml = out.resolve("cluster.yaml");
    if (!Files.isRegularFile(yaml)) {
      throw CliException.usage("--reissue-tls: " + yaml + " does not exist (run keygen without it first)");
    }
    ClusterConfig config = Configs.load(yaml);
    CertificateAuthority ca;
    try {
      ca = tlsCaCert != null ? CertificateAuthority.load(tlsCaCert, tlsCaKey, new SecureRandom())
          : CertificateAuthority.load(out.resolve(TlsConfig.CA_CERT_FILE), out.resolve(TlsConfig.CA_KEY_FILE),
              new SecureRandom());
    } catch (TlsMaterialException e) {
      throw CliException.usage("--reissue-tls needs the CA: " + e.getMessage()
          + (tlsCaCert == null ? " (or give --tls-ca-cert and --tls-ca-key)" : ""));
    }
    boolean wasOn = config.tls().enabled();
    config = ClusterSetup.issueTls(out, config, ca, false, Duration.ofDays(tlsDays));
    if (!wasOn) {
      config.write(yaml);
    }
    PrintWriter o = spec.commandLine().getOut();
    o.printf("issued new TLS certificates for %d replicas, %d clients and the operator in %s%s%n", config.n(),
        config.clients().size(), out.resolve(TlsConfig.DIRECTORY), wasOn ? "" : "; TLS is now on in " + yaml);
    o.printf("running replicas use them for new connections within seconds, without a restart%n");
    o.flush();
    return 0;
  }

  /** The same keys and settings with replica i at host(i):port(i). */
  static ClusterConfig withAddresses(ClusterConfig c, java.util.function.IntFunction<String> host,
      java.util.function.IntUnaryOperator port) {
    List<ReplicaInfo> moved = new ArrayList<>();
    for (ReplicaInfo r : c.replicas()) {
      moved.add(r.withAddress(host.apply(r.id()), port.applyAsInt(r.id())));
    }
    return c.withReplicas(moved);
  }
}

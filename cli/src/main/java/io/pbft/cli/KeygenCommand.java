package io.pbft.cli;

import io.pbft.config.Administration;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.HostPort;
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

/**
 * {@code pbft keygen}: key pairs for every replica and client (and administration keys when asked),
 * and the cluster configuration; or, with {@code --add-to}, the keys of one new replica for an
 * existing configuration.
 */
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

  @Option(names = "--out", paramLabel = "DIR", description = "Directory to write to (required unless --add-to).")
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

  @Option(names = "--admin-keys", paramLabel = "K",
      description = {"Also generate K administration keys (DIR/keys/admin-I.key) and name them in cluster.yaml's "
          + "administration section: the keys that sign changes of the group at run time (docs/RECONFIGURATION.md). "
          + "Keep them with the operators, not on the replicas' machines. Default: none, and the group cannot be "
          + "changed."})
  Integer adminKeys;

  @Option(names = "--admin-threshold", paramLabel = "T",
      description = "How many distinct administration keys must sign a change (1 to K; default 1). Needs --admin-keys.")
  Integer adminThreshold;

  @Option(names = "--add-to", paramLabel = "DIR",
      description = {"Instead of a new configuration: keys (and, with TLS on, a certificate from the CA) for one new "
          + "replica of the configuration in DIR. cluster.yaml and the members' keys stay as they are: the replica "
          + "becomes a member only through a reconfiguration command naming it. Writes DIR/keys/replica-ID.key and "
          + "its entry, DIR/new-replica-ID.yaml, and prints the entry. Needs --address."})
  Path addTo;

  @Option(names = "--id", paramLabel = "ID",
      description = "With --add-to: the new replica's id (default: one above every id in DIR, members or added).")
  Integer id;

  @Option(names = "--address", paramLabel = "HOST:PORT",
      description = "With --add-to: where the new replica listens (with --replacing: the replacement machine's "
          + "address; without it, the member's own, for a new key).")
  String address;

  @Option(names = "--replacing", paramLabel = "ID",
      description = {"With --add-to: keys (and, with TLS on, a certificate naming replica ID) for member ID's "
          + "replacement machine at --address, or for its next key at its own address without --address. Writes "
          + "them under DIR/replacements/replica-ID/ and the entry to DIR/replacement-replica-ID.yaml, for 'pbft "
          + "admin replace-replica' or 'rotate-key'; the member's current files stay as they are."})
  Integer replacing;

  /** Options that shape a new configuration, and so mean nothing with --add-to. */
  private static final List<String> NEW_CONFIGURATION_OPTIONS = List.of("--out", "--replicas", "--clients",
      "--base-port", "--host", "--hosts", "--published-base-port", "--faults", "--metrics-base-port", "--metrics-host",
      "--force", "--no-tls", "--reissue-tls", "--admin-keys", "--admin-threshold");

  @Override
  public Integer call() {
    if ((tlsCaCert == null) != (tlsCaKey == null)) {
      throw CliException.usage("--tls-ca-cert and --tls-ca-key go together");
    }
    if (tlsDays < 1) {
      throw CliException.usage("--tls-days must be at least 1, got " + tlsDays);
    }
    var parsed = spec.commandLine().getParseResult();
    if (addTo != null) {
      for (String option : NEW_CONFIGURATION_OPTIONS) {
        if (parsed.hasMatchedOption(option)) {
          throw CliException.usage("--add-to cannot be combined with " + option);
        }
      }
      return addReplica();
    }
    if (id != null || address != null || replacing != null) {
      throw CliException.usage((id != null ? "--id" : address != null ? "--address" : "--replacing")
          + " goes with --add-to");
    }
    if (out == null) {
      throw CliException.usage("Missing required option: '--out=DIR' (or --add-to DIR to add a replica to an "
          + "existing configuration)");
    }
    if (adminThreshold != null && adminKeys == null) {
      throw CliException.usage("--admin-threshold needs --admin-keys");
    }
    if (adminKeys != null && reissueTls) {
      throw CliException.usage("--admin-keys cannot be combined with --reissue-tls");
    }
    if (adminKeys != null && (adminKeys < 1 || adminKeys > Administration.KEYS_MAX)) {
      throw CliException.usage("--admin-keys must be between 1 and " + Administration.KEYS_MAX + ", got " + adminKeys);
    }
    int threshold = adminThreshold == null ? 1 : adminThreshold;
    if (adminKeys != null && (threshold < 1 || threshold > adminKeys)) {
      throw CliException.usage("--admin-threshold must be between 1 and " + adminKeys + " (--admin-keys), got "
          + threshold);
    }
    if (noTls && (tlsCaCert != null || reissueTls)) {
      throw CliException.usage("--no-tls cannot be combined with --tls-ca-cert or --reissue-tls");
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
    if (adminKeys != null) {
      config = config.withAdministration(ClusterSetup.generateAdministration(out, adminKeys, threshold, random));
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
    if (adminKeys != null) {
      o.printf("wrote %d administration keys to %s (%d of them sign a change of the group; keep them offline, with "
          + "the operators, not on the replicas' machines)%n", adminKeys,
          out.resolve(ClusterSetup.administrationKeyFile(0)).resolveSibling("admin-*.key"), threshold);
    }
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

  /** {@code --add-to DIR}: keys for one new replica, the configuration in DIR left as it is. */
  private int addReplica() {
    Path yaml = addTo.resolve("cluster.yaml");
    if (!Files.isRegularFile(yaml)) {
      throw CliException.usage("--add-to " + addTo + ": " + yaml + " does not exist (there is no configuration to "
          + "add to; create one with 'pbft keygen --out DIR')");
    }
    if (replacing != null && id != null) {
      throw CliException.usage("--replacing ID names the member; --id does not go with it");
    }
    if (address == null && replacing == null) {
      throw CliException.usage("--add-to needs --address HOST:PORT, where the new replica listens");
    }
    HostPort hostPort = null;
    if (address != null) {
      try {
        hostPort = HostPort.parse(address);
      } catch (io.pbft.config.ConfigException e) {
        throw CliException.usage("--address: " + e.getMessage());
      }
    }
    ClusterConfig config = Configs.load(yaml);
    int newId = replacing != null ? replacing : id != null ? id : nextFreeId(config);
    CertificateAuthority ca = null;
    if (!config.tls().enabled() && tlsCaCert != null) {
      throw CliException.usage("--tls-ca-cert: the configuration in " + addTo + " has TLS off");
    }
    if (config.tls().enabled()) {
      try {
        ca = tlsCaCert != null ? CertificateAuthority.load(tlsCaCert, tlsCaKey, new SecureRandom())
            : CertificateAuthority.load(addTo.resolve(TlsConfig.CA_CERT_FILE), addTo.resolve(TlsConfig.CA_KEY_FILE),
                new SecureRandom());
      } catch (TlsMaterialException e) {
        throw CliException.usage("--add-to: the configuration has TLS on, and the new replica's certificate needs "
            + "the CA: " + e.getMessage() + (tlsCaCert == null ? " (bring " + TlsConfig.CA_KEY_FILE + " back, or give "
            + "--tls-ca-cert and --tls-ca-key)" : ""));
      }
    }
    if (replacing != null) {
      return replacement(yaml, config, hostPort, ca);
    }
    ReplicaInfo replica = ClusterSetup.addReplica(addTo, config, newId, hostPort.host(), hostPort.port(), ca,
        Duration.ofDays(tlsDays), new SecureRandom());
    PrintWriter o = spec.commandLine().getOut();
    o.printf("wrote the key of replica %d (at %s) to %s%n", replica.id(), replica.address(),
        addTo.resolve(replica.keyFile()));
    if (ca != null) {
      TlsConfig.Files files = config.tls().replicaFiles(replica.id());
      o.printf("wrote its TLS certificate and key to %s and %s%n", addTo.resolve(files.certFile()),
          addTo.resolve(files.keyFile()));
    }
    o.printf("%s is unchanged: replica %d becomes a member only when a reconfiguration command naming it is ordered "
        + "(docs/RECONFIGURATION.md)%n", yaml, replica.id());
    o.printf("its entry, also in %s:%n%s", ClusterSetup.newReplicaFile(addTo, replica.id()),
        ClusterConfig.replicaEntryYaml(replica));
    o.flush();
    return 0;
  }

  /** {@code --add-to DIR --replacing ID}: member ID's next key, for another machine or the same one. */
  private int replacement(Path yaml, ClusterConfig config, HostPort hostPort, CertificateAuthority ca) {
    ReplicaInfo next;
    try {
      next = ClusterSetup.replacementFor(addTo, config, replacing, hostPort, ca, Duration.ofDays(tlsDays),
          new SecureRandom());
    } catch (io.pbft.config.ConfigException e) {
      throw CliException.usage("--replacing " + replacing + ": " + e.getMessage());
    }
    PrintWriter o = spec.commandLine().getOut();
    o.printf("wrote replica %d's next key (%s) to %s%n", next.id(),
        hostPort != null ? "for the machine at " + next.address() : "at its address, " + next.address(),
        addTo.resolve(next.keyFile()));
    if (ca != null) {
      TlsConfig.Files files = config.tls().replicaFiles(next.id());
      Path sub = ClusterSetup.replacementDir(addTo, next.id());
      o.printf("wrote its TLS certificate (naming replica-%d) and key to %s and %s%n", next.id(),
          sub.resolve(files.certFile()), sub.resolve(files.keyFile()));
    }
    o.printf("%s and replica %d's current files are unchanged: the new key takes effect when 'pbft admin %s --id %d "
        + "--entry %s' is ordered (docs/RECONFIGURATION.md)%n", yaml, next.id(),
        hostPort != null ? "replace-replica" : "rotate-key", next.id(), ClusterSetup.replacementFile(addTo, next.id()));
    o.printf("its entry, also in %s:%n%s", ClusterSetup.replacementFile(addTo, next.id()),
        ClusterConfig.replicaEntryYaml(next));
    o.flush();
    return 0;
  }

  /** One above every id of the members and of the replicas added earlier. */
  private int nextFreeId(ClusterConfig config) {
    int max = -1;
    for (ReplicaInfo r : config.replicas()) {
      max = Math.max(max, r.id());
    }
    for (ReplicaInfo r : ClusterSetup.pendingReplicas(addTo, config)) {
      max = Math.max(max, r.id());
    }
    return max + 1;
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

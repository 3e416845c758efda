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
      issueReplicaTls(out, tls.replicaFiles(r.id()), r, ca, validity);
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

  /** Replica r's certificate, naming its host plus localhost and 127.0.0.1. */
  private static void issueReplicaTls(Path out, TlsConfig.Files files, ReplicaInfo r, CertificateAuthority ca,
      Duration validity) {
    write(out, files, ca.issue(TlsIdentity.replica(r.id()).commonName(),
        CertificateAuthority.withLoopback(List.of(r.host())), CertificateAuthority.Usage.SERVER_AND_CLIENT, validity));
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

  /** Where administration key i's private key goes: beside the replicas' and clients'. */
  public static String administrationKeyFile(int index) {
    return "keys/admin-" + index + ".key";
  }

  /**
   * Generates {@code count} administration keys into {@code out/keys/admin-I.key} (readable by
   * the owner only, like every key file) and returns the section that names them, {@code threshold}
   * of them needed to sign a change of the group. The private keys belong with the operators, not
   * on the replicas' machines (docs/RECONFIGURATION.md).
   */
  public static Administration generateAdministration(Path out, int count, int threshold, SecureRandom random) {
    if (count < 1 || count > Administration.KEYS_MAX) {
      throw new ConfigException("--admin-keys must be between 1 and " + Administration.KEYS_MAX + ", got " + count);
    }
    if (threshold < 1 || threshold > count) {
      throw new ConfigException("--admin-threshold must be between 1 and " + count + " (the number of "
          + "administration keys), got " + threshold);
    }
    List<AdministrationKey> keys = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Ed25519Keys k = Ed25519Keys.generate(random);
      String keyFile = administrationKeyFile(i);
      KeyFiles.write(out.resolve(keyFile), k);
      keys.add(new AdministrationKey(k.publicKey(), keyFile));
    }
    return new Administration(keys, threshold);
  }

  private static void checkFree(ReplicaInfo r, String who, int id, HostPort address) {
    if (r.id() == id) {
      throw new ConfigException("id " + id + " is taken by " + who + "; pick another --id");
    }
    if (r.host().toLowerCase(java.util.Locale.ROOT).equals(address.host().toLowerCase(java.util.Locale.ROOT))
        && r.port() == address.port()) {
      throw new ConfigException("address " + address + " is taken by " + who);
    }
  }

  /**
   * Where {@link #replacementFor} writes a member's next key (and TLS files): a directory of its
   * own, in the configuration's layout, so that the member's current files stay where they are
   * until the change takes effect.
   */
  public static Path replacementDir(Path dir, int id) {
    return dir.resolve("replacements").resolve("replica-" + id);
  }

  /**
   * {@link #replacementDir} under {@code config}'s directory (the working directory for a
   * configuration not read from a file).
   */
  public static Path replacementDir(ClusterConfig config, int id) {
    return replacementDir(config.baseDir() == null ? Path.of(".") : config.baseDir(), id);
  }

  /** {@link #replacementKeyFile} under {@code config}'s directory (see {@link #replacementDir(ClusterConfig, int)}). */
  public static Path replacementKeyFile(ClusterConfig config, int id) {
    return replacementKeyFile(config.baseDir() == null ? Path.of(".") : config.baseDir(), id);
  }

  /** Where {@link #replacementFor} writes member {@code id}'s next private key, under {@link #replacementDir}. */
  public static Path replacementKeyFile(Path dir, int id) {
    return replacementDir(dir, id).resolve("keys").resolve("replica-" + id + ".key");
  }

  /** The file {@link #replacementFor} writes a member's next entry to. */
  public static Path replacementFile(Path dir, int id) {
    return dir.resolve(REPLACEMENT_PREFIX + id + ".yaml");
  }

  /**
   * A new key (and, with TLS on, a certificate from {@code ca} naming the same replica) for member
   * {@code id} of the configuration in {@code dir}: for a replacement machine at {@code address},
   * or, with {@code address} null, for a new key at the member's address. Writes them under
   * {@link #replacementDir} and the member's next entry to {@link #replacementFile}, leaving
   * cluster.yaml and the member's current files as they are, and returns the entry. Refused before
   * anything is written when {@code id} is not a member, the address is another member's or a
   * pending replica's, or a file it would write exists.
   */
  public static ReplicaInfo replacementFor(Path dir, ClusterConfig config, int id, HostPort address,
      CertificateAuthority ca, Duration validity, SecureRandom random) {
    ReplicaInfo member = config.replicas().stream().filter(r -> r.id() == id).findFirst()
        .orElseThrow(() -> new ConfigException("replica " + id + " is not a member of the configuration in " + dir
            + "; a new replica is added without --replacing"));
    HostPort at = address != null ? address : new HostPort(member.host(), member.port());
    if (config.tls().enabled() && ca == null) {
      throw new IllegalArgumentException("the configuration has TLS on: a CA is needed");
    }
    for (ReplicaInfo r : config.replicas()) {
      if (r.id() != id) {
        checkFree(r, "replica " + r.id(), id, at);
      }
    }
    checkFreeOfPending(dir, config, id, at);
    Path sub = replacementDir(dir, id);
    String prefix = dir.relativize(sub).toString().replace('\\', '/') + "/";
    String header = "# Replica " + id + (address != null ? ": keys for the machine that replaces it at " + at
            : ": its next key, at the same address") + ".\n"
        + "# cluster.yaml and the member's current files are unchanged; these take effect when a\n"
        + "# reconfiguration command naming them is ordered (pbft admin "
        + (address != null ? "replace-replica" : "rotate-key") + " --id " + id + " --entry " + replacementFile(dir, id)
            .getFileName() + ").\n"
        + "# Install " + prefix + " on the machine in place of its keys" + (ca != null ? " and TLS files" : "")
        + " then.\n";
    return writeReplica(dir, prefix, config, id, at, ca, validity, random, replacementFile(dir, id), header,
        "a replacement of replica " + id + " was prepared before; remove " + sub + " and "
            + replacementFile(dir, id).getFileName() + " if it was abandoned");
  }

  /**
   * Refuses {@code id} and {@code address} if a replica added earlier and not yet a member has
   * either, and {@code address} if a member's replacement prepared earlier and not yet in effect
   * will run there (its id is the member's own, which the caller checks against the members).
   */
  private static void checkFreeOfPending(Path dir, ClusterConfig config, int id, HostPort address) {
    for (ReplicaInfo r : pendingReplicas(dir, config)) {
      checkFree(r, "replica " + r.id() + ", added earlier (" + newReplicaFile(dir, r.id()).getFileName()
          + ") and not yet a member,", id, address);
    }
    for (ReplicaInfo r : pendingReplacements(dir, config)) {
      if (r.id() != id) {
        checkFree(r, "the replacement of replica " + r.id() + ", prepared earlier ("
            + replacementFile(dir, r.id()).getFileName() + ") and not yet in effect,", id, address);
      }
    }
  }

  /**
   * Replacements made by {@link #replacementFor} in {@code dir} that are not in effect: the
   * member still has its current key in {@code config}. The addresses they name are taken until a
   * change naming them is ordered (or their files are deleted).
   */
  public static List<ReplicaInfo> pendingReplacements(Path dir, ClusterConfig config) {
    List<ReplicaInfo> pending = new ArrayList<>();
    for (Path file : entryFiles(dir, REPLACEMENT_PREFIX)) {
      ReplicaInfo r = ClusterConfig.parseReplicaEntry(file);
      boolean inEffect = config.replicas().stream().anyMatch(m -> m.id() == r.id()
          && java.util.Arrays.equals(m.publicKey(), r.publicKey()));
      if (!inEffect) {
        pending.add(r);
      }
    }
    return pending;
  }

  private static final String REPLACEMENT_PREFIX = "replacement-replica-";

  /** The entry files in {@code dir} whose names start with {@code prefix}, in name order. */
  private static List<Path> entryFiles(Path dir, String prefix) {
    try (java.util.stream.Stream<Path> list = Files.list(dir)) {
      return list.filter(p -> p.getFileName().toString().startsWith(prefix)
          && p.getFileName().toString().endsWith(".yaml")).sorted().toList();
    } catch (java.io.IOException e) {
      throw new ConfigException("cannot list " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The file {@link #addReplica} writes a new member's entry to. */
  public static Path newReplicaFile(Path dir, int id) {
    return dir.resolve("new-replica-" + id + ".yaml");
  }

  private static final String NEW_REPLICA_PREFIX = "new-replica-";

  /**
   * Replicas made by {@link #addReplica} in {@code dir} that are not in {@code config}: their
   * ids and addresses are taken too, until a change naming them is ordered (or their files are
   * deleted).
   */
  public static List<ReplicaInfo> pendingReplicas(Path dir, ClusterConfig config) {
    List<ReplicaInfo> pending = new ArrayList<>();
    for (Path file : entryFiles(dir, NEW_REPLICA_PREFIX)) {
      ReplicaInfo r = ClusterConfig.parseReplicaEntry(file);
      boolean member = r.id() >= 0 && r.id() < config.n() && java.util.Arrays.equals(config.replica(r.id()).publicKey(),
          r.publicKey());
      if (!member) {
        pending.add(r);
      }
    }
    return pending;
  }

  /**
   * Keys, and with TLS on a certificate from {@code ca}, for a new replica {@code id} at
   * {@code host:port} of the cluster configured in {@code dir}, whose {@code cluster.yaml} is left
   * as it is: the membership changes only through an ordered reconfiguration command
   * (docs/RECONFIGURATION.md). Writes {@code keys/replica-ID.key}, the TLS files of the standard
   * layout and {@link #newReplicaFile the new member's entry}, and returns the entry. Refused
   * before anything is written when the id or the address is taken, by a member or by a replica
   * added earlier and not yet a member, or when a file it would write exists.
   *
   * @param ca the cluster's CA when its configuration has TLS on, otherwise null
   */
  public static ReplicaInfo addReplica(Path dir, ClusterConfig config, int id, String host, int port,
      CertificateAuthority ca, Duration validity, SecureRandom random) {
    if (id < 0) {
      throw new ConfigException("--id must not be negative, got " + id);
    }
    HostPort address = new HostPort(host, port);
    if (config.tls().enabled() && ca == null) {
      throw new IllegalArgumentException("the configuration has TLS on: a CA is needed");
    }
    for (ReplicaInfo r : config.replicas()) {
      checkFree(r, "replica " + r.id(), id, address);
    }
    checkFreeOfPending(dir, config, id, address);
    TlsConfig.Files tlsFiles = config.tls().replicaFiles(id);
    String header = "# Replica " + id + ": keys for a new member of the cluster in cluster.yaml, which is unchanged.\n"
        + "# It becomes a member only when a reconfiguration command naming it is ordered\n"
        + "# (docs/RECONFIGURATION.md); until then this entry is for that command, not for cluster.yaml.\n"
        + (ca != null ? "# TLS: " + tlsFiles.certFile() + " and " + tlsFiles.keyFile() + "\n" : "");
    return writeReplica(dir, "", config, id, address, ca, validity, random, newReplicaFile(dir, id), header,
        "pick another --id, or remove the file if it is left over from an addition that was abandoned");
  }

  /**
   * Replica {@code id}'s key (and, with {@code ca}, its TLS files) under {@code dir}/{@code
   * prefix} in the configuration's layout, and its entry, after {@code header}, in {@code
   * entryFile}. Refused before anything is written if one of those files exists ({@code ifExists}
   * says what to do about it).
   */
  private static ReplicaInfo writeReplica(Path dir, String prefix, ClusterConfig config, int id, HostPort at,
      CertificateAuthority ca, Duration validity, SecureRandom random, Path entryFile, String header,
      String ifExists) {
    Path root = prefix.isEmpty() ? dir : dir.resolve(prefix);
    String keyFile = prefix + "keys/replica-" + id + ".key";
    TlsConfig.Files tlsFiles = config.tls().replicaFiles(id);
    List<Path> files = new ArrayList<>(List.of(dir.resolve(keyFile), entryFile));
    if (ca != null) {
      files.add(root.resolve(tlsFiles.certFile()));
      files.add(root.resolve(tlsFiles.keyFile()));
    }
    for (Path file : files) {
      if (Files.exists(file)) {
        throw new ConfigException(file + " already exists; " + ifExists);
      }
    }
    try {
      for (Path file : files) {
        Files.createDirectories(file.getParent());
      }
    } catch (java.io.IOException e) {
      throw new ConfigException("cannot create the directories of " + files.get(0) + ": " + e.getMessage(), e);
    }
    Ed25519Keys keys = Ed25519Keys.generate(random);
    KeyFiles.write(dir.resolve(keyFile), keys);
    ReplicaInfo replica = new ReplicaInfo(id, at.host(), at.port(), keys.publicKey(), keyFile);
    if (ca != null) {
      issueReplicaTls(root, tlsFiles, replica, ca, validity);
    }
    try {
      Files.writeString(entryFile, header + ClusterConfig.replicaEntryYaml(replica));
    } catch (java.io.IOException e) {
      throw new ConfigException("cannot write " + entryFile + ": " + e.getMessage(), e);
    }
    return replica;
  }
}

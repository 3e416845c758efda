package io.pbft.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.PublicKeyVerifier;
import io.pbft.crypto.tls.TlsMaterial;
import io.pbft.crypto.tls.TlsMaterialException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * The cluster configuration file: replicas (id, address, public key, key file), client
 * identities, the {@link Administration administration keys} that may sign changes of the group,
 * and the {@link ProtocolSettings protocol} and {@link TransportSettings transport} settings. n = 3f + 1 at least; f is derived from n unless the file states it, in which case n
 * must be at least 3f + 1. Settings are checked on their own when they are made, and against each
 * other ({@link #RULES}) here, where both sections and n are known.
 */
public final class ClusterConfig {
  // Strict on purpose: a repeated key is a mistake in the file, and Jackson's default would
  // silently keep the last one. (Settings are read from the tree by their declarations, which
  // reject fractions, empty values and text where an integer belongs.)
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES))
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

  /**
   * Bytes a replica message needs beyond the batch or state chunk it carries, in a cluster of
   * {@code n}: the signed envelope (sender, 64-byte signature, field headers) and, in the
   * committed certificate a replica sends a peer that is behind, the 2f + 1 signed commits beside
   * the pre-prepare (about 140 bytes each). Generous on purpose; part of the wire format, not a
   * setting.
   */
  public static int envelopeBytes(int n) {
    return 1024 + 256 * n;
  }

  /** Rules between the protocol and transport settings, checked by every constructor. */
  public static final List<SettingsRule<ClusterConfig>> RULES = List.of(
      new SettingsRule<>("protocol.batchBytesMax + envelope ≤ transport.messageBytesMax, the envelope being "
          + "1024 + 256 × n bytes (signatures, headers, and the 2f + 1 commits of a committed certificate): "
          + "otherwise the pre-prepare of a full batch, or the certificate a replica that is behind catches up "
          + "with, is dropped as oversized and the cluster stalls on it.",
          c -> (long) c.protocol.batchBytesMax() + envelopeBytes(c.n()) <= c.transport.messageBytesMax() ? null
              : "protocol.batchBytesMax (" + c.protocol.batchBytesMax() + ") plus " + envelopeBytes(c.n())
                  + " bytes of envelope for n = " + c.n() + " replicas cannot exceed transport.messageBytesMax ("
                  + c.transport.messageBytesMax() + "): the pre-prepare of a full batch would be dropped as oversized"),
      new SettingsRule<>("protocol.stateChunkBytesMax + envelope ≤ transport.messageBytesMax: otherwise every "
          + "state chunk is dropped as oversized and a replica that is behind never catches up.",
          c -> (long) c.protocol.stateChunkBytesMax() + envelopeBytes(c.n()) <= c.transport.messageBytesMax() ? null
              : "protocol.stateChunkBytesMax (" + c.protocol.stateChunkBytesMax() + ") plus " + envelopeBytes(c.n())
                  + " bytes of envelope for n = " + c.n() + " replicas cannot exceed transport.messageBytesMax ("
                  + c.transport.messageBytesMax() + "): every state chunk would be dropped as oversized"),
      new SettingsRule<>("transport.tickMs ≤ protocol.viewChangeTimeoutMs / 2: the core sees time only at "
          + "ticks, and paces heartbeats, catch-up answers and its wait before fetching state in halves of the "
          + "timeout.",
          c -> 2L * c.transport.tickMs() <= c.protocol.viewChangeTimeoutMs() ? null
              : "transport.tickMs (" + c.transport.tickMs() + ") cannot exceed half of protocol.viewChangeTimeoutMs ("
                  + c.protocol.viewChangeTimeoutMs() + "): the core sees time only at ticks"));

  private final List<ReplicaInfo> replicas;
  private final List<ClientInfo> clients;
  private final int f;
  private final ProtocolSettings protocol;
  private final TransportSettings transport;
  private final Path baseDir;
  private final Authentication authentication;
  private final TlsConfig tls;
  private final Administration administration;
  /**
   * Whether the replicas are the members of a configuration epoch ({@link #withMembership}), whose
   * ids need not be 0..n-1 once members were added or removed; a configuration file's are.
   */
  private final boolean epochMembers;

  public ClusterConfig(List<ReplicaInfo> replicas, List<ClientInfo> clients, int f,
      ProtocolSettings protocol, TransportSettings transport, Path baseDir) {
    this(replicas, clients, f, protocol, transport, baseDir, Authentication.MACS);
  }

  public ClusterConfig(List<ReplicaInfo> replicas, List<ClientInfo> clients, int f,
      ProtocolSettings protocol, TransportSettings transport, Path baseDir, Authentication authentication) {
    this(replicas, clients, f, protocol, transport, baseDir, authentication, TlsConfig.DISABLED);
  }

  public ClusterConfig(List<ReplicaInfo> replicas, List<ClientInfo> clients, int f,
      ProtocolSettings protocol, TransportSettings transport, Path baseDir, Authentication authentication,
      TlsConfig tls) {
    this(replicas, clients, f, protocol, transport, baseDir, authentication, tls, Administration.NONE);
  }

  /**
   * @param administration the keys that may sign changes of the group and how many must
   *     ({@link Administration#NONE}: the group cannot be changed at run time)
   */
  public ClusterConfig(List<ReplicaInfo> replicas, List<ClientInfo> clients, int f,
      ProtocolSettings protocol, TransportSettings transport, Path baseDir, Authentication authentication,
      TlsConfig tls, Administration administration) {
    this(replicas, clients, f, protocol, transport, baseDir, authentication, tls, administration, false);
  }

  private ClusterConfig(List<ReplicaInfo> replicas, List<ClientInfo> clients, int f,
      ProtocolSettings protocol, TransportSettings transport, Path baseDir, Authentication authentication,
      TlsConfig tls, Administration administration, boolean epochMembers) {
    this.epochMembers = epochMembers;
    this.authentication = Objects.requireNonNull(authentication, "authentication");
    this.tls = Objects.requireNonNull(tls, "tls");
    this.administration = Objects.requireNonNull(administration, "administration");
    this.replicas = List.copyOf(replicas);
    this.clients = List.copyOf(clients);
    this.f = f;
    this.protocol = Objects.requireNonNull(protocol, "protocol");
    this.transport = Objects.requireNonNull(transport, "transport");
    this.baseDir = baseDir;
    validate();
  }

  /** Derived fault threshold for n replicas: the largest f with n >= 3f + 1. */
  public static int faultsTolerated(int n) {
    return (n - 1) / 3;
  }

  private void validate() {
    int n = replicas.size();
    if (n == 0) {
      throw new ConfigException("the configuration lists no replicas");
    }
    if (f < 0) {
      throw new ConfigException("f must not be negative, got " + f);
    }
    if (n < 3 * f + 1) {
      throw new ConfigException("tolerating f = " + f + " faults needs n >= 3f + 1 = " + (3 * f + 1)
          + " replicas, but the configuration lists " + n);
    }
    if (n > Membership.ID_LIMIT) {
      throw new ConfigException("the configuration lists " + n + " replicas; at most " + Membership.ID_LIMIT
          + " are supported");
    }
    Set<Integer> ids = new HashSet<>();
    for (int i = 0; i < n; i++) {
      int id = replicas.get(i).id();
      if (epochMembers ? id < 0 || id >= Membership.ID_LIMIT || !ids.add(id) : id != i) {
        throw new ConfigException(epochMembers
            ? "replica ids must be distinct and in 0.." + (Membership.ID_LIMIT - 1) + "; entry " + i + " has id " + id
            : "replica ids must be 0.." + (n - 1) + " in order; entry " + i + " has id " + id);
      }
    }
    Set<String> addresses = new HashSet<>();
    for (ReplicaInfo r : replicas) {
      if (r.port() <= 0 || r.port() > 65535) {
        throw new ConfigException("replica " + r.id() + ": port " + r.port() + " is out of range");
      }
      if (!addresses.add(r.address())) {
        throw new ConfigException("replica " + r.id() + ": address " + r.address() + " is used twice");
      }
      checkKey("replica " + r.id(), r.publicKey());
    }
    // A metrics address is where a replica binds on its own machine: replicas listed at the same
    // host share one, so their metrics ports must differ from each other's and from their gRPC ports.
    Set<String> metricsPorts = new HashSet<>();
    for (ReplicaInfo r : replicas) {
      MetricsAddress m = r.metrics();
      if (m == null || m.port() == 0) {
        continue; // none, or any free port
      }
      if (addresses.contains(r.host() + ":" + m.port())) {
        throw new ConfigException("replica " + r.id() + ": metrics port " + m.port() + " is the port of a replica at "
            + r.host());
      }
      if (!metricsPorts.add(r.host() + ":" + m.port())) {
        throw new ConfigException("replica " + r.id() + ": metrics port " + m.port() + " is used twice at "
            + r.host());
      }
    }
    Set<Integer> clientIds = new HashSet<>();
    for (ClientInfo c : clients) {
      if (c.id() < 0) {
        throw new ConfigException("client id " + c.id() + " is negative");
      }
      if (!clientIds.add(c.id())) {
        throw new ConfigException("client id " + c.id() + " is listed twice");
      }
      checkKey("client " + c.id(), c.publicKey());
    }
    if (!administration.isNone()) {
      String problem = administration.problem();
      if (problem != null) {
        throw new ConfigException(problem);
      }
      for (int k = 0; k < administration.keys().size(); k++) {
        byte[] key = administration.keys().get(k).publicKey();
        for (ReplicaInfo r : replicas) {
          if (java.util.Arrays.equals(key, r.publicKey())) {
            throw new ConfigException("administration.keys[" + k + "]: publicKey is replica " + r.id()
                + "'s key; a replica must not be able to change the group on its own");
          }
        }
      }
    }
    // Epoch 0 of the replicated state is this membership (Membership.initial): what Membership
    // refuses (addresses that differ only in the host's case, one key for two replicas, ...) a
    // replica could not start with, so the file is refused here, naming the problem.
    String membership = Membership.problem(0, replicas.stream().map(Member::of).toList(), f, administration);
    if (membership != null) {
      throw new ConfigException(membership);
    }
    for (SettingsRule<ClusterConfig> rule : RULES) {
      rule.check(this);
    }
  }

  private static void checkKey(String who, byte[] key) {
    try {
      PublicKeyVerifier.of(key);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(who + ": publicKey is not a valid Ed25519 public key (" + e.getMessage() + ")");
    }
  }

  public int n() {
    return replicas.size();
  }

  public int f() {
    return f;
  }

  /** The group's quorum, {@link Quorums#of}: 2f + 1 when n = 3f + 1, more when n is larger. */
  public int quorum() {
    return Quorums.of(n(), f);
  }

  public List<ReplicaInfo> replicas() {
    return replicas;
  }

  public ReplicaInfo replica(int id) {
    if (epochMembers) {
      for (ReplicaInfo r : replicas) {
        if (r.id() == id) {
          return r;
        }
      }
      throw new ConfigException("no replica with id " + id + " (the members' ids are "
          + replicas.stream().map(ReplicaInfo::id).toList() + ")");
    }
    if (id < 0 || id >= replicas.size()) {
      throw new ConfigException("no replica with id " + id + " (the cluster has ids 0.." + (replicas.size() - 1) + ")");
    }
    return replicas.get(id);
  }

  /** Whether a replica has this id. */
  public boolean hasReplica(int id) {
    return replicas.stream().anyMatch(r -> r.id() == id);
  }

  /**
   * One more than the largest replica id: the size of an array indexed by replica id (n for a
   * configuration file, whose ids are 0..n-1; more once members were added and removed).
   */
  public int idBound() {
    int bound = 0;
    for (ReplicaInfo r : replicas) {
      bound = Math.max(bound, r.id() + 1);
    }
    return bound;
  }

  public List<ClientInfo> clients() {
    return clients;
  }

  public ClientInfo client(int id) {
    for (ClientInfo c : clients) {
      if (c.id() == id) {
        return c;
      }
    }
    throw new ConfigException("no client with id " + id + " in the configuration");
  }

  public ProtocolSettings protocol() {
    return protocol;
  }

  public TransportSettings transport() {
    return transport;
  }

  public Path baseDir() {
    return baseDir;
  }

  /**
   * The keys that may sign changes of the group, and how many must ({@link Administration#NONE}
   * when the file has no {@code administration:} section: the group cannot be changed at run time).
   */
  public Administration administration() {
    return administration;
  }

  /**
   * This configuration with the members (ids, addresses, keys), f and administration of
   * configuration epoch {@code m}, everything else as it is: what a replica checks messages of that
   * epoch against. Its member ids need not be 0..n-1 (members may have been added and removed):
   * look replicas up with {@link #replica(int)}, size arrays by {@link #idBound()}.
   */
  public ClusterConfig withMembership(Membership m) {
    List<ReplicaInfo> members = m.members().stream().map(Member::toReplicaInfo).toList();
    return new ClusterConfig(members, clients, m.f(), protocol, transport, baseDir, authentication, tls,
        m.administration(), true);
  }

  public ClusterConfig withAdministration(Administration a) {
    return new ClusterConfig(replicas, clients, f, protocol, transport, baseDir, authentication, tls, a, epochMembers);
  }

  /** Loads the private key of administration key {@code index} from its key file. */
  public Ed25519Keys administrationKeys(int index) {
    if (index < 0 || index >= administration.keys().size()) {
      throw new ConfigException("no administration key " + index + " (the configuration lists "
          + administration.keys().size() + ")");
    }
    AdministrationKey k = administration.keys().get(index);
    return loadKeys("administration key " + index, k.keyFile(), k.publicKey());
  }

  /** How clients authenticate their requests (see {@link Authentication}). */
  public Authentication authentication() {
    return authentication;
  }

  /**
   * Whether replicas authenticate PREPAREs and COMMITs with the MACs each pair of them agrees
   * (and run the MAC view change) rather than with signatures: always under {@code
   * authentication: macs}; under {@code signatures} unless {@code protocol.signedVotes} is 1.
   */
  public boolean peerMacs() {
    return peerMacs(authentication, protocol);
  }

  /** {@link #peerMacs()} for a mode and protocol settings (the simulator's rule too). */
  public static boolean peerMacs(Authentication authentication, ProtocolSettings protocol) {
    return authentication == Authentication.MACS || !protocol.signedVotes();
  }

  public ClusterConfig withAuthentication(Authentication a) {
    return new ClusterConfig(replicas, clients, f, protocol, transport, baseDir, a, tls, administration, epochMembers);
  }

  /**
   * This configuration with single values changed, each given as {@code KEY=VALUE}:
   * {@code authentication=signatures}, {@code protocol.pipelineDepthMax=2},
   * {@code transport.verifyThreads=1}. Checked like the file: unknown keys, values out of range
   * and broken rules between settings are refused with a message naming the key.
   */
  public ClusterConfig withOverrides(List<String> assignments) {
    Authentication a = authentication;
    TlsConfig tlsSection = tls;
    int[] p = protocol.values();
    int[] t = transport.values();
    for (String assignment : assignments) {
      int eq = assignment.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException("'" + assignment + "' is not KEY=VALUE");
      }
      String key = assignment.substring(0, eq).trim();
      String value = assignment.substring(eq + 1).trim();
      if (key.equals("authentication")) {
        a = Authentication.parse(value);
        continue;
      }
      if (key.equals("tls.enabled")) {
        if (!value.equals("true") && !value.equals("false")) {
          throw new ConfigException("tls.enabled must be true or false, got '" + value + "'");
        }
        tlsSection = tlsSection.withEnabled(Boolean.parseBoolean(value));
        continue;
      }
      int dot = key.indexOf('.');
      SettingsGroup<?> group = dot < 0 ? null
          : key.startsWith(ProtocolSettings.GROUP.name() + ".") ? ProtocolSettings.GROUP
          : key.startsWith(TransportSettings.GROUP.name() + ".") ? TransportSettings.GROUP : null;
      Setting setting = group == null ? null : group.find(key.substring(dot + 1));
      if (setting == null) {
        throw new ConfigException("unknown setting '" + key + "' (known: authentication, tls.enabled, protocol.*, transport.*;"
            + " see docs/CONFIGURATION.md)");
      }
      long v;
      try {
        v = setting.min() == 0 && setting.max() == 1 && (value.equals("true") || value.equals("false"))
            ? (value.equals("true") ? 1 : 0) : Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw new ConfigException(setting.key() + " must be an integer, got '" + value + "'");
      }
      (group == ProtocolSettings.GROUP ? p : t)[setting.index()] = setting.check(v);
    }
    return new ClusterConfig(replicas, clients, f, ProtocolSettings.GROUP.create(p),
        TransportSettings.GROUP.create(t), baseDir, a, tlsSection, administration);
  }

  /**
   * The same cluster with replica i serving metrics at {@code metrics.apply(i)} (null: none). The
   * addresses are checked like the file's.
   */
  public ClusterConfig withMetrics(java.util.function.IntFunction<MetricsAddress> metrics) {
    List<ReplicaInfo> changed = new ArrayList<>();
    for (ReplicaInfo r : replicas) {
      changed.add(r.withMetrics(metrics.apply(r.id())));
    }
    return new ClusterConfig(changed, clients, f, protocol, transport, baseDir, authentication, tls, administration, epochMembers);
  }

  /** The same cluster with other replica entries (addresses moved), checked like the file's. */
  public ClusterConfig withReplicas(List<ReplicaInfo> changed) {
    return new ClusterConfig(changed, clients, f, protocol, transport, baseDir, authentication, tls, administration, epochMembers);
  }

  public ClusterConfig withTls(TlsConfig t) {
    return new ClusterConfig(replicas, clients, f, protocol, transport, baseDir, authentication, t, administration, epochMembers);
  }

  /** The {@code tls:} section; {@link TlsConfig#DISABLED} when the file has none. */
  public TlsConfig tls() {
    return tls;
  }

  /** The CA certificates every party trusts, read from {@code tls.caCertFile} and checked. */
  public List<X509Certificate> tlsTrusted() {
    requireTls();
    Path file = resolve(tls.caCertFile());
    try {
      return TlsMaterial.loadTrusted(file);
    } catch (TlsMaterialException e) {
      throw new ConfigException("tls.caCertFile: " + e.getMessage(), e);
    }
  }

  /** Replica {@code id}'s TLS certificate and key, checked against the CA. */
  public TlsMaterial replicaTls(int id) {
    replica(id);
    return tlsMaterial("replica " + id, tls.replicaFiles(id));
  }

  /** Client {@code id}'s TLS certificate and key, checked against the CA. */
  public TlsMaterial clientTls(int id) {
    client(id);
    return tlsMaterial("client " + id, tls.clientFiles(id));
  }

  /** The operator's TLS certificate and key (for {@code pbft status} and other admin calls). */
  public TlsMaterial operatorTls() {
    return tlsMaterial("the operator", tls.operatorFiles());
  }

  /** Whether the files of an identity are present here (a machine usually holds only its own). */
  public boolean tlsFilesPresent(TlsConfig.Files files) {
    return Files.isReadable(resolve(files.certFile())) && Files.isReadable(resolve(files.keyFile()));
  }

  private TlsMaterial tlsMaterial(String who, TlsConfig.Files files) {
    List<X509Certificate> trusted = tlsTrusted();
    try {
      return TlsMaterial.load(resolve(files.certFile()), resolve(files.keyFile()), trusted);
    } catch (TlsMaterialException e) {
      throw new ConfigException(who + "'s TLS identity: " + e.getMessage(), e);
    }
  }

  private void requireTls() {
    if (!tls.enabled()) {
      throw new IllegalStateException("TLS is not enabled in this configuration");
    }
  }

  /** A path of the configuration, relative to its directory. */
  public Path resolve(String file) {
    return baseDir == null ? Path.of(file) : baseDir.resolve(file);
  }

  public ClusterConfig withProtocol(ProtocolSettings p) {
    return new ClusterConfig(replicas, clients, f, p, transport, baseDir, authentication, tls, administration, epochMembers);
  }

  public ClusterConfig withTransport(TransportSettings t) {
    return new ClusterConfig(replicas, clients, f, protocol, t, baseDir, authentication, tls, administration, epochMembers);
  }

  /** Both sections at once, for changes that only hold together (a smaller message bound and batch). */
  public ClusterConfig withSettings(ProtocolSettings p, TransportSettings t) {
    return new ClusterConfig(replicas, clients, f, p, t, baseDir, authentication, tls, administration, epochMembers);
  }

  /** Loads the private key of replica {@code id} from its key file. */
  public Ed25519Keys replicaKeys(int id) {
    ReplicaInfo r = replica(id);
    return loadKeys("replica " + id, r.keyFile(), r.publicKey());
  }

  /** Loads the private key of client {@code id} from its key file. */
  public Ed25519Keys clientKeys(int id) {
    ClientInfo c = client(id);
    return loadKeys("client " + id, c.keyFile(), c.publicKey());
  }

  private Ed25519Keys loadKeys(String who, String keyFile, byte[] publicKey) {
    if (keyFile == null || keyFile.isBlank()) {
      throw new ConfigException(who + " has no keyFile in the configuration");
    }
    Path path = baseDir == null ? Path.of(keyFile) : baseDir.resolve(keyFile);
    Ed25519Keys keys = KeyFiles.read(path);
    if (!java.util.Arrays.equals(keys.publicKey(), publicKey)) {
      throw new ConfigException(who + ": key file " + path + " does not match the public key in the configuration");
    }
    return keys;
  }

  // ---------------------------------------------------------------- YAML

  public static ClusterConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new ConfigException("cannot read configuration " + file + ": " + e.getMessage(), e);
    }
    Path dir = file.toAbsolutePath().getParent();
    try {
      ClusterConfig config = parse(text, dir);
      if (config.tls.enabled()) {
        config.tlsTrusted(); // every party needs the CA: a missing or expired one is this file's fault
      }
      return config;
    } catch (ConfigException e) {
      throw new ConfigException(file + ": " + e.getMessage(), e);
    }
  }

  public static ClusterConfig parse(String yaml, Path baseDir) {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      throw new ConfigException("not valid YAML: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new ConfigException("expected a mapping with 'replicas' at the top level");
    }
    allowOnly(root, "top level", Set.of("f", "authentication", "replicas", "clients", "protocol", "transport", "tls",
        "administration"));
    JsonNode rs = root.get("replicas");
    if (rs == null || !rs.isArray()) {
      throw new ConfigException("'replicas' must be a list");
    }
    List<ReplicaInfo> replicas = new ArrayList<>();
    int index = 0;
    for (JsonNode r : rs) {
      replicas.add(replicaEntry(r, "replicas[" + index++ + "]"));
    }
    List<ClientInfo> clients = new ArrayList<>();
    JsonNode cs = root.get("clients");
    if (cs != null && !cs.isNull()) {
      if (!cs.isArray()) {
        throw new ConfigException("'clients' must be a list");
      }
      index = 0;
      for (JsonNode c : cs) {
        String where = "clients[" + index++ + "]";
        allowOnly(c, where, Set.of("id", "publicKey", "keyFile"));
        clients.add(new ClientInfo(intField(c, where, "id"), keyField(c, where), optionalText(c, "keyFile")));
      }
    }
    int f = root.has("f") ? intField(root, "top level", "f") : faultsTolerated(replicas.size());
    ProtocolSettings protocol = settings(root, ProtocolSettings.GROUP, ProtocolSettings.defaults());
    TransportSettings transport = settings(root, TransportSettings.GROUP, TransportSettings.defaults());
    Authentication authentication = Authentication.MACS;
    JsonNode auth = root.get("authentication");
    if (auth != null && !auth.isNull()) {
      if (!auth.isTextual()) {
        throw new ConfigException("authentication must be 'macs' or 'signatures', got " + auth);
      }
      authentication = Authentication.parse(auth.textValue());
    }
    TlsConfig tls = tlsSection(root.get("tls"));
    Administration administration = administrationSection(root.get("administration"));
    return new ClusterConfig(replicas, clients, f, protocol, transport, baseDir, authentication, tls, administration);
  }

  private static ReplicaInfo replicaEntry(JsonNode r, String where) {
    allowOnly(r, where, Set.of("id", "address", "publicKey", "keyFile", "metrics"));
    int id = intField(r, where, "id");
    String address = textField(r, where, "address");
    int colon = address.lastIndexOf(':');
    if (colon <= 0) {
      throw new ConfigException(where + ": address must be host:port, got '" + address + "'");
    }
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new ConfigException(where + ": port in '" + address + "' is not a number");
    }
    return new ReplicaInfo(id, address.substring(0, colon), port, keyField(r, where), optionalText(r, "keyFile"),
        metricsField(r, where));
  }

  /**
   * One replica entry as a list item of {@code replicas:}, the form {@link #replicaEntryYaml}
   * writes (a new member's entry beside cluster.yaml, see {@link ClusterSetup#addReplica}).
   */
  public static ReplicaInfo parseReplicaEntry(Path file) {
    JsonNode root;
    try {
      root = YAML.readTree(Files.readString(file));
    } catch (IOException e) {
      throw new ConfigException("cannot read " + file + ": " + e.getMessage(), e);
    }
    if (root == null || !root.isArray() || root.size() != 1) {
      throw new ConfigException(file + ": expected one replica entry, '- id: ...'");
    }
    try {
      ReplicaInfo r = replicaEntry(root.get(0), "the entry");
      checkKey("replica " + r.id(), r.publicKey());
      return r;
    } catch (ConfigException e) {
      throw new ConfigException(file + ": " + e.getMessage(), e);
    }
  }

  /** {@code replica} as a list item of {@code replicas:}, as {@link #toYaml} writes one. */
  public static String replicaEntryYaml(ReplicaInfo replica) {
    ArrayNode list = YAML.createArrayNode();
    replicaNode(list.addObject(), replica);
    try {
      return YAML.writeValueAsString(list);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void replicaNode(ObjectNode o, ReplicaInfo r) {
    o.put("id", r.id());
    o.put("address", r.address());
    o.put("publicKey", Digests.hex(r.publicKey()));
    if (r.keyFile() != null) {
      o.put("keyFile", r.keyFile());
    }
    if (r.metrics() != null) {
      o.put("metrics", r.metrics().toString());
    }
  }

  /**
   * {@code administration:} absent or empty is {@link Administration#NONE} (files written before
   * reconfiguration existed keep working, and cannot be changed at run time). Otherwise
   * {@code keys}, a list of {@code {publicKey, keyFile}} (keyFile optional), and {@code threshold},
   * 1 unless given.
   */
  private static Administration administrationSection(JsonNode node) {
    if (node == null || node.isNull()) {
      return Administration.NONE;
    }
    allowOnly(node, "administration", Set.of("keys", "threshold"));
    JsonNode list = node.get("keys");
    if (list == null || !list.isArray()) {
      throw new ConfigException("administration.keys must be a list of {publicKey, keyFile}");
    }
    List<AdministrationKey> keys = new ArrayList<>();
    int index = 0;
    for (JsonNode k : list) {
      String where = "administration.keys[" + index++ + "]";
      allowOnly(k, where, Set.of("publicKey", "keyFile"));
      keys.add(new AdministrationKey(keyField(k, where), optionalText(k, "keyFile")));
    }
    int threshold = node.has("threshold") ? intField(node, "administration", "threshold") : 1;
    return new Administration(keys, threshold);
  }

  /** {@code tls:} absent or empty is TLS off (files written before TLS existed keep working). */
  private static TlsConfig tlsSection(JsonNode node) {
    if (node == null || node.isNull()) {
      return TlsConfig.DISABLED;
    }
    allowOnly(node, "tls", Set.of("enabled", "caCertFile", "replicas", "clients", "operator"));
    JsonNode enabled = node.get("enabled");
    if (enabled != null && !enabled.isBoolean()) {
      throw new ConfigException("tls.enabled must be true or false, got " + enabled);
    }
    boolean on = enabled == null || enabled.booleanValue();
    String ca = optionalText(node, "caCertFile");
    if (on && (ca == null || ca.isBlank())) {
      throw new ConfigException("tls.caCertFile is required when TLS is enabled (the CA certificate every party "
          + "trusts, e.g. tls/ca.crt)");
    }
    JsonNode op = node.get("operator");
    return new TlsConfig(on, ca, tlsEntries(node, "replicas"), tlsEntries(node, "clients"),
        op == null || op.isNull() ? null : tlsFiles(op, "tls.operator"));
  }

  private static Map<Integer, TlsConfig.Files> tlsEntries(JsonNode tls, String name) {
    Map<Integer, TlsConfig.Files> entries = new java.util.TreeMap<>();
    JsonNode list = tls.get(name);
    if (list == null || list.isNull()) {
      return entries;
    }
    if (!list.isArray()) {
      throw new ConfigException("tls." + name + " must be a list of {id, certFile, keyFile}");
    }
    int index = 0;
    for (JsonNode e : list) {
      String where = "tls." + name + "[" + index++ + "]";
      allowOnly(e, where, Set.of("id", "certFile", "keyFile"));
      int id = intField(e, where, "id");
      if (entries.put(id, tlsFiles(e, where)) != null) {
        throw new ConfigException(where + ": id " + id + " is listed twice");
      }
    }
    return entries;
  }

  private static TlsConfig.Files tlsFiles(JsonNode node, String where) {
    if (!where.contains("[")) {
      allowOnly(node, where, Set.of("certFile", "keyFile"));
    }
    return new TlsConfig.Files(textField(node, where, "certFile"), textField(node, where, "keyFile"));
  }

  /** Settings sections may give any subset of fields; the rest keep their defaults. */
  private static <T extends GroupSettings> T settings(JsonNode root, SettingsGroup<T> group, T defaults) {
    JsonNode node = root.get(group.name());
    if (node == null || node.isNull()) {
      return defaults;
    }
    if (!node.isObject()) {
      throw new ConfigException("'" + group.name() + "' must be a mapping");
    }
    Set<String> names = new HashSet<>();
    group.settings().forEach(s -> names.add(s.name()));
    allowOnly(node, group.name(), names);
    int[] values = defaults.values();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      Setting setting = group.find(field.getKey());
      values[setting.index()] = settingValue(setting, field.getValue());
    }
    return group.create(values);
  }

  /** An integer in the setting's range; a fraction, text or empty value is a mistake, not a 0. */
  private static int settingValue(Setting setting, JsonNode v) {
    if (v.isBoolean() && setting.min() == 0 && setting.max() == 1) {
      return v.booleanValue() ? 1 : 0; // a switch: true and false read as 1 and 0
    }
    if (v.isIntegralNumber()) {
      if (!v.canConvertToLong()) {
        throw setting.outOfRange(v.asText());
      }
      return setting.check(v.longValue());
    }
    String got = v.isNull() ? "an empty value" : v.isTextual() ? "'" + v.textValue() + "'" : v.toString();
    throw new ConfigException(setting.key() + " must be an integer, got " + got);
  }

  private static void allowOnly(JsonNode node, String where, Set<String> allowed) {
    if (!node.isObject()) {
      throw new ConfigException(where + " must be a mapping");
    }
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!allowed.contains(name)) {
        throw new ConfigException(where + ": unknown field '" + name + "' (known: " + new TreeSet<>(allowed) + ")");
      }
    }
  }

  private static int intField(JsonNode node, String where, String name) {
    JsonNode v = node.get(name);
    if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
      throw new ConfigException(where + ": '" + name + "' must be an integer");
    }
    return v.intValue();
  }

  private static String textField(JsonNode node, String where, String name) {
    JsonNode v = node.get(name);
    if (v == null || !v.isTextual() || v.textValue().isBlank()) {
      throw new ConfigException(where + ": '" + name + "' is required");
    }
    return v.textValue();
  }

  private static String optionalText(JsonNode node, String name) {
    JsonNode v = node.get(name);
    return v == null || v.isNull() ? null : v.asText();
  }

  /** {@code metrics: 9464} or {@code metrics: HOST:PORT}; absent or empty: no endpoint. */
  private static MetricsAddress metricsField(JsonNode node, String where) {
    JsonNode v = node.get("metrics");
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isIntegralNumber() && !v.isTextual()) {
      throw new ConfigException(where + ": metrics must be PORT or HOST:PORT, got " + v);
    }
    try {
      return MetricsAddress.parse(v.asText());
    } catch (ConfigException e) {
      throw new ConfigException(where + ": " + e.getMessage(), e);
    }
  }

  private static byte[] keyField(JsonNode node, String where) {
    String hex = textField(node, where, "publicKey");
    try {
      return Digests.fromHex(hex);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(where + ": publicKey is not hexadecimal");
    }
  }

  public String toYaml() {
    ObjectNode root = YAML.createObjectNode();
    root.put("f", f);
    root.put("authentication", authentication.yamlName());
    ArrayNode rs = root.putArray("replicas");
    for (ReplicaInfo r : replicas) {
      replicaNode(rs.addObject(), r);
    }
    ArrayNode cs = root.putArray("clients");
    for (ClientInfo c : clients) {
      ObjectNode o = cs.addObject();
      o.put("id", c.id());
      o.put("publicKey", Digests.hex(c.publicKey()));
      if (c.keyFile() != null) {
        o.put("keyFile", c.keyFile());
      }
    }
    root.set("tls", tlsNode());
    if (!administration.isNone()) {
      ObjectNode admin = root.putObject("administration");
      admin.put("threshold", administration.threshold());
      ArrayNode keys = admin.putArray("keys");
      for (AdministrationKey k : administration.keys()) {
        ObjectNode o = keys.addObject();
        o.put("publicKey", Digests.hex(k.publicKey()));
        if (k.keyFile() != null) {
          o.put("keyFile", k.keyFile());
        }
      }
    }
    root.set(ProtocolSettings.GROUP.name(), settingsNode(protocol));
    root.set(TransportSettings.GROUP.name(), settingsNode(transport));
    try {
      return "# pbft cluster configuration: n = " + n() + " replicas, tolerating f = " + f + " faulty ones\n"
          + YAML.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The files of every identity, written out even where they follow the layout, so that they show. */
  private ObjectNode tlsNode() {
    ObjectNode node = YAML.createObjectNode();
    node.put("enabled", tls.enabled());
    if (tls.caCertFile() != null) {
      node.put("caCertFile", tls.caCertFile());
    }
    if (!tls.enabled() && tls.replicas().isEmpty() && tls.clients().isEmpty()) {
      return node;
    }
    ArrayNode rs = node.putArray("replicas");
    for (ReplicaInfo r : replicas) {
      filesNode(rs.addObject().put("id", r.id()), tls.replicaFiles(r.id()));
    }
    ArrayNode cs = node.putArray("clients");
    for (ClientInfo c : clients) {
      filesNode(cs.addObject().put("id", c.id()), tls.clientFiles(c.id()));
    }
    filesNode(node.putObject("operator"), tls.operatorFiles());
    return node;
  }

  private static void filesNode(ObjectNode node, TlsConfig.Files files) {
    node.put("certFile", files.certFile());
    node.put("keyFile", files.keyFile());
  }

  /** Every setting of the group, in the order of its declarations. */
  private static ObjectNode settingsNode(GroupSettings settings) {
    ObjectNode node = YAML.createObjectNode();
    for (Setting s : settings.group().settings()) {
      node.put(s.name(), settings.get(s));
    }
    return node;
  }

  public void write(Path file) {
    try {
      Files.writeString(file, toYaml());
    } catch (IOException e) {
      throw new ConfigException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

}

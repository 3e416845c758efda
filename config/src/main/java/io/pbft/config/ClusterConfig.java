package io.pbft.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.PublicKeyVerifier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The cluster configuration file: replicas (id, address, public key, key file), client
 * identities, and the protocol and transport bounds. n = 3f + 1 at least; f is derived from n
 * unless the file states it, in which case n must be at least 3f + 1.
 */
public final class ClusterConfig {
  // Strict on purpose: a repeated key, a fraction or an empty value in a setting is a mistake in
  // the file, and Jackson's defaults would silently keep the last key, truncate, or read 0.
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES))
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);

  private final List<ReplicaInfo> replicas;
  private final List<ClientInfo> clients;
  private final int f;
  private final ProtocolSettings protocol;
  private final TransportSettings transport;
  private final Path baseDir;

  public ClusterConfig(List<ReplicaInfo> replicas, List<ClientInfo> clients, int f,
      ProtocolSettings protocol, TransportSettings transport, Path baseDir) {
    this.replicas = List.copyOf(replicas);
    this.clients = List.copyOf(clients);
    this.f = f;
    this.protocol = protocol;
    this.transport = transport;
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
    for (int i = 0; i < n; i++) {
      if (replicas.get(i).id() != i) {
        throw new ConfigException("replica ids must be 0.." + (n - 1) + " in order; entry " + i
            + " has id " + replicas.get(i).id());
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

  public List<ReplicaInfo> replicas() {
    return replicas;
  }

  public ReplicaInfo replica(int id) {
    if (id < 0 || id >= replicas.size()) {
      throw new ConfigException("no replica with id " + id + " (the cluster has ids 0.." + (replicas.size() - 1) + ")");
    }
    return replicas.get(id);
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

  public ClusterConfig withProtocol(ProtocolSettings p) {
    return new ClusterConfig(replicas, clients, f, p, transport, baseDir);
  }

  public ClusterConfig withTransport(TransportSettings t) {
    return new ClusterConfig(replicas, clients, f, protocol, t, baseDir);
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
      return parse(text, dir);
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
    allowOnly(root, "top level", Set.of("f", "replicas", "clients", "protocol", "transport"));
    JsonNode rs = root.get("replicas");
    if (rs == null || !rs.isArray()) {
      throw new ConfigException("'replicas' must be a list");
    }
    List<ReplicaInfo> replicas = new ArrayList<>();
    int index = 0;
    for (JsonNode r : rs) {
      String where = "replicas[" + index++ + "]";
      allowOnly(r, where, Set.of("id", "address", "publicKey", "keyFile"));
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
      replicas.add(new ReplicaInfo(id, address.substring(0, colon), port, keyField(r, where),
          optionalText(r, "keyFile")));
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
    ProtocolSettings protocol = settings(root, "protocol", ProtocolSettings.class, ProtocolSettings.defaults());
    TransportSettings transport = settings(root, "transport", TransportSettings.class, TransportSettings.defaults());
    return new ClusterConfig(replicas, clients, f, protocol, transport, baseDir);
  }

  /** Settings sections may give any subset of fields; the rest keep their defaults. */
  private static <T> T settings(JsonNode root, String name, Class<T> type, T defaults) {
    JsonNode node = root.get(name);
    ObjectNode merged = YAML.valueToTree(defaults);
    if (node != null && !node.isNull()) {
      if (!node.isObject()) {
        throw new ConfigException("'" + name + "' must be a mapping");
      }
      allowOnly(node, name, iterable(merged.fieldNames()));
      node.fields().forEachRemaining(e -> merged.set(e.getKey(), e.getValue()));
    }
    try {
      return YAML.treeToValue(merged, type);
    } catch (JsonProcessingException e) {
      if (e.getCause() instanceof ConfigException ce) {
        throw ce;
      }
      throw new ConfigException("'" + name + fieldOf(e) + "': " + e.getOriginalMessage(), e);
    } catch (IllegalArgumentException e) {
      if (e.getCause() instanceof ConfigException ce) {
        throw ce;
      }
      throw new ConfigException("'" + name + "': " + e.getMessage(), e);
    }
  }

  /** ".field" for an error about one field of a settings section, so the message says which. */
  private static String fieldOf(JsonProcessingException e) {
    if (e instanceof JsonMappingException m && !m.getPath().isEmpty() && m.getPath().get(0).getFieldName() != null) {
      return "." + m.getPath().get(0).getFieldName();
    }
    return "";
  }

  private static Set<String> iterable(Iterator<String> it) {
    Set<String> s = new HashSet<>();
    it.forEachRemaining(s::add);
    return s;
  }

  private static void allowOnly(JsonNode node, String where, Set<String> allowed) {
    if (!node.isObject()) {
      throw new ConfigException(where + " must be a mapping");
    }
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!allowed.contains(name)) {
        throw new ConfigException(where + ": unknown field '" + name + "' (known: " + new java.util.TreeSet<>(allowed) + ")");
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
    ArrayNode rs = root.putArray("replicas");
    for (ReplicaInfo r : replicas) {
      ObjectNode o = rs.addObject();
      o.put("id", r.id());
      o.put("address", r.address());
      o.put("publicKey", Digests.hex(r.publicKey()));
      if (r.keyFile() != null) {
        o.put("keyFile", r.keyFile());
      }
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
    root.set("protocol", YAML.valueToTree(protocol));
    root.set("transport", YAML.valueToTree(transport));
    try {
      return "# pbft cluster configuration: n = " + n() + " replicas, tolerating f = " + f + " faulty ones\n"
          + YAML.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public void write(Path file) {
    try {
      Files.writeString(file, toYaml());
    } catch (IOException e) {
      throw new ConfigException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

}

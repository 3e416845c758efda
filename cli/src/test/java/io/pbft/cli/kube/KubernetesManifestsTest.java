package io.pbft.cli.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.pbft.cli.Main;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * deploy/kubernetes as an operator uses it, short of a Kubernetes server: {@code pbft keygen},
 * {@code make-secrets.sh}, then {@code kubectl kustomize} (which needs no server), and the
 * invariants of what it renders. What only a server can check (admission, scheduling, the
 * probes, the API fetch of kube-init in a pod) is not covered; deploy/kubernetes/README.md says so.
 *
 * <p>kubectl is {@code $PBFT_KUBECTL}, else /usr/bin/kubectl (Debian's kubernetes-client). The
 * test skips without it, unless {@value #REQUIRE_ENV} is set, as .ci/run does.
 */
class KubernetesManifestsTest {
  static final String REQUIRE_ENV = "PBFT_REQUIRE_KUBECTL";
  private static final Path MANIFESTS = Path.of("..", "deploy", "kubernetes");
  private static final YAMLMapper YAML = new YAMLMapper();
  /** Stands in for the CA's private key: it must appear nowhere in what is applied. */
  private static final String CA_KEY = "placeholder CA key: must never reach the cluster";

  @TempDir
  Path dir;

  private static Path kubectl() {
    String env = System.getenv("PBFT_KUBECTL");
    Path k = Path.of(env != null ? env : "/usr/bin/kubectl");
    if (Files.isExecutable(k)) {
      return k;
    }
    if (System.getenv(REQUIRE_ENV) != null) {
      throw new AssertionError(REQUIRE_ENV + " is set but " + k + " is missing (apt-get install kubernetes-client)");
    }
    Assumptions.abort("no " + k + " (apt-get install kubernetes-client, or set PBFT_KUBECTL)");
    return null;
  }

  /** What an operator has after keygen and make-secrets.sh: the key directory and a copy of deploy/kubernetes. */
  private record Setup(Path keys, Path manifests, ClusterConfig config) {}

  private Setup setUp(int n) throws IOException, InterruptedException {
    Path keys = dir.resolve("keys");
    List<String> hosts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      hosts.add("pbft-" + i + ".pbft-peers");
    }
    int code = pbft("keygen", "--replicas", String.valueOf(n), "--clients", "2", "--out", keys.toString(),
        "--hosts", String.join(",", hosts), "--base-port", "7000",
        "--metrics-base-port", "9464", "--metrics-host", "0.0.0.0");
    assertEquals(0, code, "keygen");
    writeTlsPlaceholdersIfMissing(keys, n, 2);
    Path manifests = dir.resolve("kubernetes");
    Files.createDirectories(manifests);
    try (Stream<Path> files = Files.list(MANIFESTS)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        Files.copy(f, manifests.resolve(f.getFileName().toString()),
            java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
    Result r = run(List.of("bash", manifests.resolve("make-secrets.sh").toString(), keys.toString()));
    assertEquals(0, r.code(), r.toString());
    return new Setup(keys, manifests, ClusterConfig.load(keys.resolve("cluster.yaml")));
  }

  /**
   * The TLS files of keygen's contract (tls/ca.crt, ca.key, replica-i.crt/.key, client-j.crt/.key,
   * operator.crt/.key), as placeholders in this test's directory when this keygen writes none yet.
   */
  private static void writeTlsPlaceholdersIfMissing(Path keys, int replicas, int clients) throws IOException {
    Path tls = keys.resolve("tls");
    if (Files.exists(tls)) {
      return;
    }
    Files.createDirectories(tls);
    Files.writeString(tls.resolve("ca.crt"), "placeholder CA certificate\n");
    Files.writeString(tls.resolve("ca.key"), CA_KEY + "\n");
    for (int i = 0; i < replicas; i++) {
      Files.writeString(tls.resolve("replica-" + i + ".crt"), "placeholder certificate of replica " + i + "\n");
      Files.writeString(tls.resolve("replica-" + i + ".key"), "placeholder TLS key of replica " + i + "\n");
    }
    for (int j = 0; j < clients; j++) {
      Files.writeString(tls.resolve("client-" + j + ".crt"), "placeholder certificate of client " + j + "\n");
      Files.writeString(tls.resolve("client-" + j + ".key"), "placeholder TLS key of client " + j + "\n");
    }
    Files.writeString(tls.resolve("operator.crt"), "placeholder operator certificate\n");
    Files.writeString(tls.resolve("operator.key"), "placeholder operator key\n");
  }

  private List<JsonNode> render(Path manifests) throws IOException, InterruptedException {
    Result r = run(List.of(kubectl().toString(), "kustomize", manifests.toString()));
    assertEquals(0, r.code(), r.toString());
    List<JsonNode> docs = new ArrayList<>();
    try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(r.out())) {
      while (it.hasNext()) {
        JsonNode d = it.next();
        if (d != null && !d.isNull() && !d.isEmpty()) {
          docs.add(d);
        }
      }
    }
    Files.writeString(dir.resolve("rendered.yaml"), r.out());
    return docs;
  }

  @ParameterizedTest(name = "n = {0}")
  @ValueSource(ints = {4, 7})
  void renderedManifestsKeepTheirInvariants(int n) throws Exception {
    Setup s = setUp(n);
    List<JsonNode> docs = render(s.manifests());
    ClusterConfig cfg = s.config();
    int f = cfg.f();
    assertEquals(3 * f + 1, n, "the test's sizes are 3f + 1");

    JsonNode sts = one(docs, "StatefulSet");
    JsonNode spec = sts.path("spec");
    JsonNode pod = spec.path("template").path("spec");
    JsonNode labels = spec.path("template").path("metadata").path("labels");
    assertEquals(n, spec.path("replicas").asInt(), "replicas = n = 3f + 1");
    assertEquals("Parallel", spec.path("podManagementPolicy").asText(), "a group that starts at once can become ready");
    assertTrue(matches(spec.path("selector").path("matchLabels"), labels), "the selector selects the pods");

    // the pod ordinal is the replica id, and cluster.yaml names each pod through the headless Service
    JsonNode peers = service(docs, spec.path("serviceName").asText());
    assertEquals("None", peers.path("spec").path("clusterIP").asText(), "the governing Service is headless");
    assertTrue(peers.path("spec").path("publishNotReadyAddresses").asBoolean(),
        "peers must reach a replica that has not caught up yet");
    assertTrue(matches(peers.path("spec").path("selector"), labels));
    JsonNode replica = container(pod.path("containers"), "replica");
    int grpcPort = containerPort(replica, "grpc");
    int metricsPort = containerPort(replica, "metrics");
    for (ReplicaInfo r : cfg.replicas()) {
      assertEquals(sts.path("metadata").path("name").asText() + "-" + r.id() + "." + spec.path("serviceName").asText(),
          r.host(), "replica " + r.id() + " is pod " + r.id() + " under the headless Service");
      assertEquals(grpcPort, r.port(), "cluster.yaml's port is the container's grpc port");
      assertEquals(metricsPort, r.metrics().port(), "cluster.yaml's metrics port is the container's");
    }
    assertTrue(servicePorts(peers).contains(grpcPort));
    assertTrue(String.join(" ", texts(replica.path("command"))).contains("PBFT_ID=\"${POD_NAME##*-}\""),
        "the replica id is the pod name's ordinal");
    assertEquals("metadata.name", env(replica, "POD_NAME").path("valueFrom").path("fieldRef").path("fieldPath").asText());
    assertEquals(List.of("replica"), texts(replica.path("args")));

    // a Service for clients: not headless, the same pods, the gRPC port
    JsonNode clients = docs.stream().filter(d -> kind(d, "Service"))
        .filter(d -> !"None".equals(d.path("spec").path("clusterIP").asText())).findFirst().orElseThrow();
    assertTrue(matches(clients.path("spec").path("selector"), labels));
    assertTrue(servicePorts(clients).contains(grpcPort));

    // readiness means caught up; liveness is the gRPC health service
    JsonNode readiness = replica.path("readinessProbe");
    assertTrue(String.join(" ", texts(readiness.path("exec").path("command"))).contains(" ready"), readiness.toString());
    assertTrue(String.join(" ", texts(replica.path("livenessProbe").path("exec").path("command"))).contains(" health"),
        "liveness is the gRPC health check the image's HEALTHCHECK runs");

    // one PersistentVolumeClaim per pod, mounted where the replica keeps its state
    JsonNode claim = spec.path("volumeClaimTemplates").path(0);
    assertEquals("ReadWriteOnce", claim.path("spec").path("accessModes").path(0).asText());
    String dataDir = env(replica, "PBFT_DATA_DIR").path("value").asText();
    assertEquals(claim.path("metadata").path("name").asText(), mountAt(replica, dataDir).path("name").asText());

    // required anti-affinity: no two replicas on one node
    JsonNode anti = pod.path("affinity").path("podAntiAffinity").path("requiredDuringSchedulingIgnoredDuringExecution");
    assertEquals(1, anti.size(), anti.toString());
    assertEquals("kubernetes.io/hostname", anti.path(0).path("topologyKey").asText());
    assertTrue(matches(anti.path(0).path("labelSelector").path("matchLabels"), labels));

    // at most f pods down
    JsonNode pdb = one(docs, "PodDisruptionBudget");
    assertEquals(f, pdb.path("spec").path("maxUnavailable").asInt(), "maxUnavailable = f");
    assertTrue(matches(pdb.path("spec").path("selector").path("matchLabels"), labels));

    // the NetworkPolicy admits the peer port from the replicas themselves, metrics from monitoring
    JsonNode policy = one(docs, "NetworkPolicy");
    assertTrue(matches(policy.path("spec").path("podSelector").path("matchLabels"), labels));
    boolean peersAdmitted = false;
    boolean metricsAdmitted = false;
    for (JsonNode rule : policy.path("spec").path("ingress")) {
      Set<Integer> ports = new HashSet<>();
      rule.path("ports").forEach(p -> ports.add(p.path("port").asInt()));
      for (JsonNode from : rule.path("from")) {
        if (ports.contains(grpcPort) && matches(from.path("podSelector").path("matchLabels"), labels)) {
          peersAdmitted = true;
        }
        if (ports.contains(metricsPort) && from.has("namespaceSelector")) {
          metricsAdmitted = true;
        }
      }
    }
    assertTrue(peersAdmitted, "the peer port is open to the replicas: " + policy);
    assertTrue(metricsAdmitted, "the metrics port is open to a monitoring namespace: " + policy);

    checkSecrets(docs, s, pod, n);
    checkPublicConfig(docs, s, pod);
  }

  /** One Secret per replica, holding that replica's keys, and a pod that names none of them. */
  private void checkSecrets(List<JsonNode> docs, Setup s, JsonNode pod, int n) throws IOException {
    List<JsonNode> secrets = docs.stream().filter(d -> kind(d, "Secret")).toList();
    assertEquals(n, secrets.size(), "one Secret per replica");
    for (int i = 0; i < n; i++) {
      JsonNode data = named(secrets, "pbft-replica-" + i).path("data");
      assertEquals(Set.of("signing.key", "tls.crt", "tls.key"), fieldNames(data));
      assertEquals(Files.readString(s.keys().resolve("keys/replica-" + i + ".key")), decode(data, "signing.key"));
      assertEquals(Files.readString(s.keys().resolve("tls/replica-" + i + ".crt")), decode(data, "tls.crt"));
      assertEquals(Files.readString(s.keys().resolve("tls/replica-" + i + ".key")), decode(data, "tls.key"));
      assertEquals(String.format(KubeInitCommand.ITEMS.get("signing.key"), i),
          s.config().replica(i).keyFile(),
          "kube-init writes the key where cluster.yaml expects it");
    }
    // the CA's key and the clients' keys reach the cluster in no form
    String rendered = Files.readString(dir.resolve("rendered.yaml"));
    List<String> never = new ArrayList<>(List.of(Files.readString(s.keys().resolve("tls/ca.key"))));
    for (int j = 0; j < 2; j++) {
      never.add(Files.readString(s.keys().resolve("keys/client-" + j + ".key")));
      never.add(Files.readString(s.keys().resolve("tls/client-" + j + ".key")));
    }
    never.add(Files.readString(s.keys().resolve("tls/operator.key")));
    for (String secret : never) {
      assertFalse(rendered.contains(secret.strip()), "a key that must stay out is in the manifests");
      assertFalse(rendered.contains(Base64.getEncoder().encodeToString(secret.getBytes(StandardCharsets.UTF_8))),
          "a key that must stay out is in the manifests (base64)");
    }

    // Each pod gets only its own Secret: the template names no Secret, so no node holds another
    // replica's key, and only kube-init holds the token that may fetch one, by the pod's ordinal.
    for (JsonNode v : pod.path("volumes")) {
      assertFalse(v.has("secret"), "the pod template mounts a Secret: every pod would see it: " + v);
      for (JsonNode source : v.path("projected").path("sources")) {
        assertFalse(source.has("secret"), "the pod template projects a Secret: " + v);
      }
    }
    assertFalse(pod.path("automountServiceAccountToken").asBoolean(true), "no token in the replica container");
    String tokenVolume = null;
    for (JsonNode v : pod.path("volumes")) {
      for (JsonNode source : v.path("projected").path("sources")) {
        if (source.has("serviceAccountToken")) {
          tokenVolume = v.path("name").asText();
        }
      }
    }
    assertNotNull(tokenVolume, "kube-init needs a token");
    for (JsonNode c : pod.path("containers")) {
      for (JsonNode m : c.path("volumeMounts")) {
        assertNotEquals(tokenVolume, m.path("name").asText(), "container " + c.path("name") + " holds the token");
      }
    }
    JsonNode init = container(pod.path("initContainers"), "kube-init");
    assertTrue(init.path("volumeMounts").findValuesAsText("name").contains(tokenVolume));
    String initCommand = String.join(" ", texts(init.path("command")));
    assertTrue(initCommand.contains("PBFT_ID=\"${POD_NAME##*-}\"") && initCommand.contains("kube-init"), initCommand);
    assertEquals("metadata.name", env(init, "POD_NAME").path("valueFrom").path("fieldRef").path("fieldPath").asText());
    assertEquals("pbft-replica-", new CommandLine(new KubeInitCommand()).getCommandSpec()
        .findOption("--secret-prefix").defaultValue(), "kube-init fetches pbft-replica-<ordinal>");

    // the token may get the n replica Secrets by name, and nothing else
    JsonNode role = one(docs, "Role");
    assertEquals(1, role.path("rules").size(), role.toString());
    JsonNode rule = role.path("rules").path(0);
    assertEquals(List.of("secrets"), texts(rule.path("resources")));
    assertEquals(List.of("get"), texts(rule.path("verbs")));
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      names.add("pbft-replica-" + i);
    }
    assertEquals(names, texts(rule.path("resourceNames")));
    JsonNode binding = one(docs, "RoleBinding");
    assertEquals(role.path("metadata").path("name").asText(), binding.path("roleRef").path("name").asText());
    assertEquals(pod.path("serviceAccountName").asText(), binding.path("subjects").path(0).path("name").asText());
    assertEquals(binding.path("metadata").path("namespace").asText(),
        binding.path("subjects").path(0).path("namespace").asText());
  }

  /** cluster.yaml and the CA certificate in a ConfigMap, mounted where the paths in cluster.yaml resolve. */
  private void checkPublicConfig(List<JsonNode> docs, Setup s, JsonNode pod) throws IOException {
    JsonNode map = one(docs, "ConfigMap");
    assertEquals(Files.readString(s.keys().resolve("cluster.yaml")), map.path("data").path("cluster.yaml").asText());
    assertEquals(Files.readString(s.keys().resolve("tls/ca.crt")), map.path("data").path("ca.crt").asText());
    JsonNode volume = null;
    for (JsonNode v : pod.path("volumes")) {
      if (map.path("metadata").path("name").asText().equals(v.path("configMap").path("name").asText())) {
        volume = v;
      }
    }
    assertNotNull(volume, "the pods mount " + map.path("metadata").path("name"));
    Map<String, String> paths = new java.util.HashMap<>();
    volume.path("configMap").path("items").forEach(i -> paths.put(i.path("key").asText(), i.path("path").asText()));
    assertEquals(Map.of("cluster.yaml", "cluster.yaml", "ca.crt", "tls/ca.crt"), paths,
        "the layout keygen writes, relative to cluster.yaml");
    // Once keygen writes a tls section, its paths are the ones the pod lays out.
    JsonNode tls = YAML.readTree(map.path("data").path("cluster.yaml").asText()).path("tls");
    if (!tls.isMissingNode()) {
      assertEquals(paths.get("ca.crt"), tls.path("caCertFile").asText(), "cluster.yaml's CA is where the pod has it");
      for (JsonNode r : tls.path("replicas")) {
        int id = r.path("id").asInt();
        assertEquals(String.format(KubeInitCommand.ITEMS.get("tls.crt"), id), r.path("certFile").asText());
        assertEquals(String.format(KubeInitCommand.ITEMS.get("tls.key"), id), r.path("keyFile").asText());
      }
    }
    JsonNode replica = container(pod.path("containers"), "replica");
    JsonNode init = container(pod.path("initContainers"), "kube-init");
    String config = env(replica, "PBFT_CONFIG").path("value").asText();
    String etc = config.substring(0, config.lastIndexOf('/'));
    assertEquals("cluster.yaml", config.substring(etc.length() + 1));
    assertTrue(String.join(" ", texts(init.path("command"))).contains("--out " + etc + " --config-from "
        + mountOf(init, volume.path("name").asText()).path("mountPath").asText()));
    assertEquals(mountAt(init, etc).path("name").asText(), mountAt(replica, etc).path("name").asText(),
        "the replica reads the directory kube-init assembled");
    assertTrue(mountAt(replica, etc).path("readOnly").asBoolean());
  }

  @Test
  void exampleClientJobGetsThroughThePolicyWithItsKeyWhereClusterYamlSaysIt() throws Exception {
    Setup s = setUp(4);
    List<JsonNode> docs = render(s.manifests());
    JsonNode job = YAML.readTree(MANIFESTS.resolve("examples/kv-client-job.yaml").toFile());
    JsonNode podLabels = job.path("spec").path("template").path("metadata").path("labels");
    int grpcPort = containerPort(container(one(docs, "StatefulSet").path("spec").path("template").path("spec")
        .path("containers"), "replica"), "grpc");
    boolean admitted = false;
    for (JsonNode rule : one(docs, "NetworkPolicy").path("spec").path("ingress")) {
      boolean port = false;
      for (JsonNode p : rule.path("ports")) {
        port |= p.path("port").asInt() == grpcPort;
      }
      for (JsonNode from : rule.path("from")) {
        admitted |= port && !from.has("namespaceSelector") && matches(from.path("podSelector").path("matchLabels"), podLabels);
      }
    }
    assertTrue(admitted, "the example client may reach the replicas' port");
    JsonNode sources = job.path("spec").path("template").path("spec").path("volumes").path(0).path("projected")
        .path("sources");
    JsonNode map = sources.path(0).path("configMap");
    assertEquals(one(docs, "ConfigMap").path("metadata").path("name").asText(), map.path("name").asText());
    assertEquals("cluster.yaml", map.path("items").path(0).path("path").asText());
    assertEquals(s.config().client(0).keyFile(), sources.path(1).path("secret").path("items").path(0).path("path").asText(),
        "the client's key lies where cluster.yaml says");
  }

  @Test
  void makeSecretsRefusesAConfigurationWhosePeersAreNotThePods() throws Exception {
    Path keys = dir.resolve("keys");
    assertEquals(0, pbft("keygen", "--replicas", "4", "--clients", "1", "--out", keys.toString()));
    Result r = run(List.of("bash", MANIFESTS.resolve("make-secrets.sh").toString(), keys.toString()));
    assertEquals(2, r.code(), r.toString());
    assertTrue(r.err().contains("replica 0 is not at pbft-0.pbft-peers:PORT"), r.toString());
  }

  @Test
  void makeSecretsNeedsTheKeygenOutput() throws Exception {
    Result r = run(List.of("bash", MANIFESTS.resolve("make-secrets.sh").toString(), dir.resolve("none").toString()));
    assertEquals(2, r.code(), r.toString());
    assertTrue(r.err().contains("cluster.yaml does not exist"), r.toString());
  }

  // --- helpers

  private static int pbft(String... args) {
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(new StringWriter(), true));
    cl.setErr(new PrintWriter(new StringWriter(), true));
    return cl.execute(args);
  }

  private record Result(int code, String out, String err) {
    @Override
    public String toString() {
      return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  private Result run(List<String> command) throws IOException, InterruptedException {
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(command + " did not finish within 120 s");
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  private static boolean kind(JsonNode d, String kind) {
    return kind.equals(d.path("kind").asText());
  }

  private static JsonNode one(List<JsonNode> docs, String kind) {
    List<JsonNode> found = docs.stream().filter(d -> kind(d, kind)).toList();
    assertEquals(1, found.size(), "one " + kind);
    return found.get(0);
  }

  private static JsonNode named(List<JsonNode> docs, String name) {
    return docs.stream().filter(d -> name.equals(d.path("metadata").path("name").asText())).findFirst()
        .orElseThrow(() -> new AssertionError("no object named " + name));
  }

  private static JsonNode service(List<JsonNode> docs, String name) {
    return named(docs.stream().filter(d -> kind(d, "Service")).toList(), name);
  }

  private static Set<Integer> servicePorts(JsonNode service) {
    Set<Integer> ports = new HashSet<>();
    service.path("spec").path("ports").forEach(p -> ports.add(p.path("port").asInt()));
    return ports;
  }

  private static JsonNode container(JsonNode containers, String name) {
    for (JsonNode c : containers) {
      if (name.equals(c.path("name").asText())) {
        return c;
      }
    }
    throw new AssertionError("no container " + name);
  }

  private static int containerPort(JsonNode container, String name) {
    for (JsonNode p : container.path("ports")) {
      if (name.equals(p.path("name").asText())) {
        return p.path("containerPort").asInt();
      }
    }
    throw new AssertionError("no port " + name);
  }

  private static JsonNode env(JsonNode container, String name) {
    for (JsonNode e : container.path("env")) {
      if (name.equals(e.path("name").asText())) {
        return e;
      }
    }
    throw new AssertionError("no env " + name + " in " + container.path("name"));
  }

  private static JsonNode mountAt(JsonNode container, String path) {
    for (JsonNode m : container.path("volumeMounts")) {
      if (path.equals(m.path("mountPath").asText())) {
        return m;
      }
    }
    throw new AssertionError("nothing mounted at " + path + " in " + container.path("name"));
  }

  private static JsonNode mountOf(JsonNode container, String volume) {
    for (JsonNode m : container.path("volumeMounts")) {
      if (volume.equals(m.path("name").asText())) {
        return m;
      }
    }
    throw new AssertionError("volume " + volume + " is not mounted in " + container.path("name"));
  }

  /** Every label of {@code selector} is on {@code labels} with the same value, and there is at least one. */
  private static boolean matches(JsonNode selector, JsonNode labels) {
    if (selector.isEmpty()) {
      return false;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = selector.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().asText().equals(labels.path(e.getKey()).asText(null))) {
        return false;
      }
    }
    return true;
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static Set<String> fieldNames(JsonNode object) {
    Set<String> names = new HashSet<>();
    object.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static String decode(JsonNode data, String key) {
    return new String(Base64.getDecoder().decode(data.path(key).asText()), StandardCharsets.UTF_8);
  }
}

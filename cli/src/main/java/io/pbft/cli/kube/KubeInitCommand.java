package io.pbft.cli.kube;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pbft.cli.CliException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pbft kube-init}: assembles one replica's configuration directory in a Kubernetes pod
 * (deploy/kubernetes). It copies the public part (cluster.yaml, tls/ca.crt: a ConfigMap mounted
 * at {@code --config-from}) and fetches the replica's own Secret, {@code pbft-replica-<id>}, from
 * the API server with the pod's service account token, writing its items where cluster.yaml
 * expects them, readable by their owner only.
 *
 * <p>Why a fetch and not a Secret volume: a StatefulSet has one pod template, so a Secret volume
 * would have to name every replica's Secret and each node would hold every key. Here a pod's spec
 * names no Secret; only this init container holds a token (the replica container gets none), and
 * the Role lets that token {@code get} the n replica Secrets by name and nothing else. The
 * trade-off (anyone holding the token of one pod can read every key) is in deploy/kubernetes/README.md.
 */
@Command(name = "kube-init", mixinStandardHelpOptions = true,
    description = {"In a Kubernetes pod: assemble this replica's configuration directory from the public files "
        + "(--config-from) and its own Secret pbft-replica-<id>, fetched with the pod's service account.",
        "See deploy/kubernetes/README.md."})
public final class KubeInitCommand implements Callable<Integer> {
  /** Secret data key → path under --out (the layout `pbft keygen` writes; %d is the replica id). */
  static final Map<String, String> ITEMS = itemLayout();

  private static Map<String, String> itemLayout() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("signing.key", "keys/replica-%d.key");
    m.put("tls.crt", "tls/replica-%d.crt");
    m.put("tls.key", "tls/replica-%d.key");
    return m;
  }

  static final String SIGNING_KEY = "signing.key";

  @Spec
  CommandSpec spec;

  @Option(names = "--id", paramLabel = "I", required = true, defaultValue = "${env:PBFT_ID}",
      description = "This replica's id, the pod's ordinal (env PBFT_ID).")
  Integer id;

  @Option(names = "--out", paramLabel = "DIR", required = true, description = "The directory to assemble.")
  Path out;

  @Option(names = "--config-from", paramLabel = "DIR", required = true,
      description = "The public files (a mounted ConfigMap): copied into --out with their relative paths.")
  Path configFrom;

  @Option(names = "--secret-prefix", paramLabel = "NAME", defaultValue = "pbft-replica-",
      description = "The Secret fetched is this prefix and the id (default ${DEFAULT-VALUE}).")
  String secretPrefix;

  @Option(names = "--service-account", paramLabel = "DIR",
      defaultValue = "/var/run/secrets/kubernetes.io/serviceaccount",
      description = "Where the pod's token, ca.crt and namespace are mounted (default ${DEFAULT-VALUE}).")
  Path serviceAccount;

  @Option(names = "--api-server", paramLabel = "URL",
      description = "The API server (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT).")
  String apiServer;

  @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "10000",
      description = "Deadline of the API call (default ${DEFAULT-VALUE}).")
  long timeoutMs;

  @Override
  public Integer call() throws IOException, InterruptedException {
    if (id < 0) {
      throw CliException.usage("--id must not be negative, got " + id);
    }
    if (!Files.isDirectory(configFrom)) {
      throw CliException.usage("--config-from " + configFrom + " is not a directory");
    }
    PrintWriter o = spec.commandLine().getOut();
    List<Path> copied = copyTree(configFrom, out);
    if (!Files.isRegularFile(out.resolve("cluster.yaml"))) {
      throw CliException.usage("no cluster.yaml in " + configFrom + ": is the ConfigMap pbft-config there "
          + "(deploy/kubernetes/make-secrets.sh, kubectl apply -k)?");
    }
    String secret = secretPrefix + id;
    Map<String, byte[]> data = fetchSecret(secret);
    if (!data.containsKey(SIGNING_KEY)) {
      throw CliException.failed("Secret " + secret + " has no item '" + SIGNING_KEY + "' (its items: "
          + data.keySet() + "); make it with deploy/kubernetes/make-secrets.sh");
    }
    List<String> written = new ArrayList<>();
    for (Map.Entry<String, String> item : ITEMS.entrySet()) {
      byte[] bytes = data.get(item.getKey());
      if (bytes != null) {
        String rel = String.format(item.getValue(), id);
        writeOwnerOnly(out.resolve(rel), bytes);
        written.add(rel);
      }
    }
    o.printf("kube-init: copied %d public files from %s, wrote %s from Secret %s into %s%n", copied.size(),
        configFrom, written, secret, out);
    o.flush();
    return 0;
  }

  /**
   * Regular files under {@code from}, copied with their relative paths. A ConfigMap volume keeps
   * its files in a hidden {@code ..data} directory reached through symbolic links: names starting
   * with ".." are skipped and links followed.
   */
  static List<Path> copyTree(Path from, Path to) throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(from, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
      files = walk.filter(Files::isRegularFile)
          .filter(p -> {
            for (Path part : from.relativize(p)) {
              if (part.toString().startsWith("..")) {
                return false;
              }
            }
            return true;
          })
          .toList();
    }
    for (Path f : files) {
      Path target = to.resolve(from.relativize(f).toString());
      Files.createDirectories(target.getParent());
      Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
    }
    return files;
  }

  private Map<String, byte[]> fetchSecret(String name) throws IOException, InterruptedException {
    String namespace = read(serviceAccount.resolve("namespace")).strip();
    String token = read(serviceAccount.resolve("token")).strip();
    String base = apiServer != null ? apiServer : defaultApiServer();
    URI uri = URI.create(base.replaceAll("/+$", "") + "/api/v1/namespaces/" + namespace + "/secrets/" + name);
    HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(timeoutMs));
    if ("https".equals(uri.getScheme())) {
      client.sslContext(trusting(serviceAccount.resolve("ca.crt")));
    }
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(timeoutMs))
        .header("Authorization", "Bearer " + token).header("Accept", "application/json").GET().build();
    HttpResponse<String> response;
    try {
      response = client.build().send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw CliException.failed("cannot reach the API server at " + base + ": " + e);
    }
    if (response.statusCode() == 403) {
      throw CliException.failed("the service account may not get Secret " + namespace + "/" + name
          + " (403): the Role pbft-replica-secrets must name it");
    }
    if (response.statusCode() == 404) {
      throw CliException.failed("no Secret " + namespace + "/" + name
          + " (404): make it with deploy/kubernetes/make-secrets.sh and kubectl apply -k");
    }
    if (response.statusCode() != 200) {
      throw CliException.failed("getting Secret " + namespace + "/" + name + " failed: HTTP " + response.statusCode());
    }
    return decode(name, response.body());
  }

  /** A Secret's {@code data}: item name → bytes (base64 in the API's JSON). */
  static Map<String, byte[]> decode(String name, String json) throws IOException {
    JsonNode data = new ObjectMapper().readTree(json).path("data");
    Map<String, byte[]> items = new LinkedHashMap<>();
    var fields = data.fields();
    while (fields.hasNext()) {
      var e = fields.next();
      try {
        items.put(e.getKey(), Base64.getDecoder().decode(e.getValue().asText()));
      } catch (IllegalArgumentException bad) {
        throw CliException.failed("Secret " + name + ": item " + e.getKey() + " is not base64");
      }
    }
    return items;
  }

  private static String defaultApiServer() {
    String host = System.getenv("KUBERNETES_SERVICE_HOST");
    String port = System.getenv("KUBERNETES_SERVICE_PORT");
    if (host == null || port == null) {
      throw CliException.usage("not in a Kubernetes pod (no KUBERNETES_SERVICE_HOST/PORT): give --api-server URL");
    }
    return "https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  private static SSLContext trusting(Path caFile) throws IOException {
    try (InputStream in = Files.newInputStream(caFile)) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        store.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      return ssl;
    } catch (java.security.GeneralSecurityException e) {
      throw CliException.failed("cannot use " + caFile + " as the API server's CA: " + e.getMessage());
    }
  }

  private static String read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw CliException.usage(file + " does not exist: is a service account token mounted (see --service-account)?");
    }
    return Files.readString(file, StandardCharsets.UTF_8);
  }

  /** Written to a fresh file created rw------- (never readable by others, not even for a moment). */
  static void writeOwnerOnly(Path file, byte[] bytes) throws IOException {
    Files.createDirectories(file.getParent());
    Files.deleteIfExists(file);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.write(file, bytes);
  }
}

package io.pbft.cli.kube;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.pbft.cli.CliException;
import io.pbft.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pbft kube-init} against a stand-in API server that holds two replicas' Secrets. */
class KubeInitCommandTest {
  @TempDir
  Path dir;

  private HttpServer api;
  private final List<String> asked = new ArrayList<>();
  private final List<String> authorizations = new ArrayList<>();

  private static final Map<String, String> SECRETS = Map.of(
      "/api/v1/namespaces/pbft-test/secrets/pbft-replica-2", secretJson("key of 2", "cert of 2", "tls key of 2"),
      "/api/v1/namespaces/pbft-test/secrets/pbft-replica-3", secretJson("key of 3", "cert of 3", "tls key of 3"));

  private static String secretJson(String signing, String crt, String key) {
    Base64.Encoder b = Base64.getEncoder();
    return "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"x\"},\"data\":{"
        + "\"signing.key\":\"" + b.encodeToString(signing.getBytes(StandardCharsets.UTF_8)) + "\","
        + "\"tls.crt\":\"" + b.encodeToString(crt.getBytes(StandardCharsets.UTF_8)) + "\","
        + "\"tls.key\":\"" + b.encodeToString(key.getBytes(StandardCharsets.UTF_8)) + "\"}}";
  }

  @BeforeEach
  void start() throws IOException {
    api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    api.createContext("/", exchange -> {
      String path = exchange.getRequestURI().getPath();
      synchronized (asked) {
        asked.add(path);
        authorizations.add(exchange.getRequestHeaders().getFirst("Authorization"));
      }
      String body = SECRETS.get(path);
      byte[] bytes = (body == null ? "{\"kind\":\"Status\",\"code\":404}" : body).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(body == null ? 404 : 200, bytes.length);
      exchange.getResponseBody().write(bytes);
      exchange.close();
    });
    api.start();

    Path sa = dir.resolve("sa");
    Files.createDirectories(sa);
    Files.writeString(sa.resolve("token"), "the-token\n");
    Files.writeString(sa.resolve("namespace"), "pbft-test");
    // the public files as a ConfigMap volume lays them out: data behind ..data links
    Path cm = dir.resolve("config");
    Path data = cm.resolve("..2026_12_03").resolve("tls");
    Files.createDirectories(data);
    Files.writeString(data.getParent().resolve("cluster.yaml"), "f: 1\n");
    Files.writeString(data.resolve("ca.crt"), "the ca\n");
    Files.createSymbolicLink(cm.resolve("..data"), Path.of("..2026_12_03"));
    Files.createSymbolicLink(cm.resolve("cluster.yaml"), Path.of("..data/cluster.yaml"));
    Files.createSymbolicLink(cm.resolve("tls"), Path.of("..data/tls"));
  }

  @AfterEach
  void stop() {
    api.stop(0);
  }

  private int run(int id, StringWriter out, StringWriter err) {
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute("kube-init", "--id", String.valueOf(id), "--out", dir.resolve("etc").toString(),
        "--config-from", dir.resolve("config").toString(), "--service-account", dir.resolve("sa").toString(),
        "--api-server", "http://127.0.0.1:" + api.getAddress().getPort());
  }

  @Test
  void fetchesOnlyItsOwnSecretAndLaysOutTheDirectory() throws IOException {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(0, run(3, out, err), out + "\n" + err);

    assertEquals(List.of("/api/v1/namespaces/pbft-test/secrets/pbft-replica-3"), asked);
    assertEquals(List.of("Bearer the-token"), authorizations);
    Path etc = dir.resolve("etc");
    assertEquals("f: 1\n", Files.readString(etc.resolve("cluster.yaml")));
    assertEquals("the ca\n", Files.readString(etc.resolve("tls/ca.crt")));
    assertArrayEquals("key of 3".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(etc.resolve("keys/replica-3.key")));
    assertEquals("cert of 3", Files.readString(etc.resolve("tls/replica-3.crt")));
    assertEquals("tls key of 3", Files.readString(etc.resolve("tls/replica-3.key")));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(etc.resolve("keys/replica-3.key"))));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(etc.resolve("tls/replica-3.key"))));
    assertFalse(Files.exists(etc.resolve("keys/replica-2.key")));
    assertFalse(Files.exists(etc.resolve("..data")), "the ConfigMap's hidden directories are not copied");
  }

  @Test
  void aMissingSecretFailsSayingHowToMakeIt() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(CliException.FAILED, run(0, out, err), out + "\n" + err);
    assertTrue(err.toString().contains("no Secret pbft-test/pbft-replica-0 (404)"), err.toString());
    assertTrue(err.toString().contains("make-secrets.sh"), err.toString());
  }

  @Test
  void withoutTheConfigMapItRefusesBeforeAskingForKeys() throws IOException {
    Files.delete(dir.resolve("config/cluster.yaml"));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(CliException.USAGE, run(3, out, err), out + "\n" + err);
    assertTrue(err.toString().contains("no cluster.yaml in"), err.toString());
    assertEquals(List.of(), asked);
  }
}

package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.replica.app.kv.KvStateMachine;
import io.pbft.replica.runtime.ReplicaServer;
import io.pbft.testkit.Ports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Four in-process replicas on free 127.0.0.1 ports, driven through the kv and status commands. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  static Path dir;

  private final List<ReplicaServer> replicas = new ArrayList<>();
  private String yaml;

  @BeforeAll
  void startCluster() throws Exception {
    int basePort = Ports.consecutive(4);
    ClusterConfig config = ClusterSetup.generate(dir, 4, 2, "127.0.0.1", basePort, -1, new SecureRandom());
    yaml = dir.resolve("cluster.yaml").toString();
    try {
      for (int i = 0; i < config.n(); i++) {
        replicas.add(ReplicaServer.start(config, i, new KvStateMachine()));
      }
    } catch (Exception e) {
      stopCluster();
      throw e;
    }
  }

  @AfterAll
  void stopCluster() {
    replicas.forEach(ReplicaServer::close);
  }

  private Run kv(String... operation) {
    List<String> args = new ArrayList<>(List.of("kv", "--config", yaml, "--client", "0", "--timeout", "20"));
    args.addAll(List.of(operation));
    Run run = Run.of(args.toArray(String[]::new));
    assertEquals(0, run.exitCode(), run.toString());
    return run;
  }

  @Test
  void putGetDelete() {
    assertEquals("OK\n", kv("put", "greeting", "hello world").out());
    assertEquals("hello world\n", kv("get", "greeting").out());
    assertEquals("hello world\n", kv("get", "--ordered", "greeting").out(), "the ordered read agrees");
    assertEquals("", kv("get", "no-such-key").out(), "a missing key prints nothing");
    assertEquals("deleted\n", kv("delete", "greeting").out());
    assertEquals("not found\n", kv("delete", "greeting").out());
    assertEquals("", kv("get", "greeting").out());
  }

  @Test
  void compareAndSet() {
    assertEquals("OK\n", kv("cas", "--expect-absent", "counter", "1").out());
    assertEquals("FAILED (current value: 1)\n", kv("cas", "--expect-absent", "counter", "2").out());
    assertEquals("OK\n", kv("cas", "counter", "1", "2").out());
    assertEquals("FAILED (current value: 2)\n", kv("cas", "counter", "1", "3").out());
    assertEquals("FAILED (current value: absent)\n", kv("cas", "missing", "x", "y").out());
    assertEquals("2\n", kv("get", "counter").out());
  }

  @Test
  void optionsMayFollowTheOperation() {
    Run run = Run.of("kv", "put", "late", "options", "--config", yaml, "--client", "1");
    assertEquals(0, run.exitCode(), run.toString());
    assertEquals("options\n", kv("get", "late").out());
  }

  @Test
  void statusJsonShowsAllReplicasAgreeing() throws Exception {
    kv("put", "status-key", "v");
    // Backups may lag the client's f+1 replies by a moment: poll until they have caught up.
    JsonNode root = null;
    for (int attempt = 0; attempt < 50; attempt++) {
      Run run = Run.of("status", "--config", yaml, "--json");
      assertEquals(0, run.exitCode(), run.toString());
      root = JSON.readTree(run.out());
      if (sameState(root)) {
        break;
      }
      Thread.sleep(200);
    }
    JsonNode list = root.get("replicas");
    assertEquals(4, list.size(), root.toString());
    for (int i = 0; i < 4; i++) {
      JsonNode r = list.get(i);
      assertEquals(i, r.get("id").asInt());
      assertTrue(r.get("reachable").asBoolean(), root.toString());
      assertEquals(0, r.get("view").asLong());
      assertEquals(0, r.get("primary").asInt());
      assertTrue(r.get("lastExecuted").asLong() >= 1, root.toString());
      assertTrue(r.get("lowWatermark").isIntegralNumber());
      assertEquals(64, r.get("stateDigest").asText().length(), "full SHA-256 digest in hex");
      // the typed counters: numbers and flags under fixed names, reasons only as keys of objects
      assertTrue(r.get("executedRequests").asLong() >= 1, root.toString());
      assertEquals(0, r.get("viewChangesStarted").asLong(), root.toString());
      // the adaptive request timer stays within [viewChangeTimeoutMinMs, viewChangeTimeoutMaxMs] = [500, 8000]
      long requestTimeout = r.get("requestTimeoutMs").asLong();
      assertTrue(requestTimeout >= 500 && requestTimeout <= 8000, root.toString());
      assertTrue(r.get("agreementLatencyMs").isIntegralNumber(), root.toString());
      assertFalse(r.get("viewChanging").asBoolean(), root.toString());
      assertFalse(r.get("durable").asBoolean(), "these replicas keep their state in memory: " + root);
      assertFalse(r.get("storageFailed").asBoolean(), root.toString());
      assertTrue(r.get("dropped").get("eventLoopFull").isIntegralNumber(), root.toString());
      assertTrue(r.get("dropped").get("byReason").isObject(), root.toString());
      assertTrue(r.get("rejected").isObject(), root.toString());
      assertEquals(0, r.get("epoch").asLong(), root.toString());
      assertEquals(list.get(0).get("membershipDigest"), r.get("membershipDigest"), "one membership: " + root);
      assertEquals(64, r.get("membershipDigest").asText().length(), root.toString());
      assertTrue(r.get("pendingReconfiguration").isNull(), root.toString());
    }
    assertTrue(sameState(root), "replicas disagree: " + root);
    assertTrue(root.get("agree").asBoolean());
  }

  @Test
  void statusTable() {
    Run run = Run.of("status", "--config", yaml);
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.out().startsWith("ID  REACHABLE"), run.toString());
    assertTrue(run.out().contains("replicas agree:"), run.toString());
    assertTrue(run.out().contains("epoch 0: replicas 0, 1, 2, 3, f = 1, as in the configuration file (membership digest "),
        run.toString());
    assertFalse(run.out().contains("pending:"), run.toString());
  }

  /** With TLS on, a status caller without a certificate (only the CA's here) is refused, saying why. */
  @Test
  void statusWithoutACertificateIsRefused() throws Exception {
    Path bare = Files.createDirectories(dir.resolve("bare/tls"));
    Files.copy(dir.resolve("tls/ca.crt"), bare.resolve("ca.crt"));
    Files.copy(Path.of(yaml), bare.getParent().resolve("cluster.yaml"));
    Run run = Run.of("status", "--config", bare.getParent().resolve("cluster.yaml").toString());
    assertTrue(run.out().contains("UNAUTHENTICATED: the status RPC answers only callers with a certificate from the "
        + "cluster CA"), run.toString());
    assertTrue(run.out().contains("replicas agree: unknown"), run.toString());
  }

  private static boolean sameState(JsonNode root) {
    Set<String> states = new HashSet<>();
    root.get("replicas").forEach(r -> states.add(r.get("lastExecuted").asText() + "/" + r.get("stateDigest").asText()));
    return states.size() == 1;
  }
}

package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ClusterConfig;
import io.pbft.config.MetricsAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeygenCommandTest {
  @TempDir
  Path dir;

  @Test
  void writesAConfigurationThatLoads() {
    Run run = Run.of("keygen", "--replicas", "4", "--clients", "8", "--out", dir.toString(), "--base-port", "9100");
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.out().contains(dir.resolve("cluster.yaml").toString()), run.toString());

    ClusterConfig config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    assertEquals(4, config.n());
    assertEquals(1, config.f());
    assertEquals(8, config.clients().size());
    assertEquals("127.0.0.1:9100", config.replica(0).address());
    assertEquals("127.0.0.1:9103", config.replica(3).address());
    for (int i = 0; i < 4; i++) {
      assertArrayEquals(config.replica(i).publicKey(), config.replicaKeys(i).publicKey());
    }
    assertArrayEquals(config.client(7).publicKey(), config.clientKeys(7).publicKey());
  }

  @Test
  void noMetricsEndpointUnlessAsked() {
    assertEquals(0, Run.of("keygen", "--out", dir.toString()).exitCode());
    ClusterConfig config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    config.replicas().forEach(r -> assertNull(r.metrics(), "replica " + r.id()));
  }

  @Test
  void metricsBasePortGivesEachReplicaAnEndpointOnLoopback() {
    Run run = Run.of("keygen", "--out", dir.toString(), "--base-port", "9100", "--metrics-base-port", "9200");
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.out().contains("http://127.0.0.1:9200/metrics..http://127.0.0.1:9203/metrics"), run.toString());
    ClusterConfig config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    for (int i = 0; i < 4; i++) {
      assertEquals(new MetricsAddress("127.0.0.1", 9200 + i), config.replica(i).metrics());
    }
  }

  @Test
  void metricsWithOneHostPerReplicaShareOnePortAndTheHostCanBeWildcard() {
    Run run = Run.of("keygen", "--out", dir.toString(), "--hosts", "a,b,c,d", "--metrics-base-port", "9464",
        "--metrics-host", "0.0.0.0", "--published-base-port", "17000");
    assertEquals(0, run.exitCode(), run.toString());
    ClusterConfig config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    ClusterConfig hostSide = ClusterConfig.load(dir.resolve("cluster-host.yaml"));
    for (int i = 0; i < 4; i++) {
      assertEquals(new MetricsAddress("0.0.0.0", 9464), config.replica(i).metrics(), "replica " + i);
      assertNull(hostSide.replica(i).metrics(), "the host's copy is for clients: binds inside containers are no use");
    }
  }

  @Test
  void metricsPortsThatCollideWithTheReplicasAreRefused() {
    Run run = Run.of("keygen", "--out", dir.toString(), "--base-port", "9100", "--metrics-base-port", "9102");
    assertEquals(2, run.exitCode(), run.toString());
    assertTrue(run.err().contains("the metrics ports overlap the replicas' ports"), run.toString());
    assertFalse(Files.exists(dir.resolve("cluster.yaml")), "refused before anything is written");
    Run hostAlone = Run.of("keygen", "--out", dir.toString(), "--metrics-host", "0.0.0.0");
    assertEquals(2, hostAlone.exitCode(), hostAlone.toString());
    assertTrue(hostAlone.err().contains("--metrics-host needs --metrics-base-port"), hostAlone.toString());
  }

  @Test
  void refusesToOverwriteWithoutForce() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString()).exitCode());
    byte[] before = Files.readAllBytes(dir.resolve("cluster.yaml"));

    Run again = Run.of("keygen", "--out", dir.toString());
    assertEquals(2, again.exitCode(), again.toString());
    assertTrue(again.err().contains("already exists") && again.err().contains("--force"), again.toString());
    assertArrayEquals(before, Files.readAllBytes(dir.resolve("cluster.yaml")));

    Run forced = Run.of("keygen", "--out", dir.toString(), "--force");
    assertEquals(0, forced.exitCode(), forced.toString());
    assertNotEquals(new String(before), Files.readString(dir.resolve("cluster.yaml")), "new keys expected");
  }

  @Test
  void refusesTooFewReplicasForTheFaults() {
    Run run = Run.of("keygen", "--replicas", "3", "--faults", "1", "--out", dir.toString());
    assertEquals(2, run.exitCode(), run.toString());
    assertTrue(run.err().contains("n >= 3f + 1 = 4"), run.toString());
    assertFalse(run.err().contains("\tat "), run.toString());
    assertFalse(Files.exists(dir.resolve("cluster.yaml")));
  }

  @Test
  void explicitFaults() {
    Run run = Run.of("keygen", "--replicas", "7", "--faults", "1", "--out", dir.toString());
    assertEquals(0, run.exitCode(), run.toString());
    assertEquals(1, ClusterConfig.load(dir.resolve("cluster.yaml")).f());
  }
}

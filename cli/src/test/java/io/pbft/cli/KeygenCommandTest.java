package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ClusterConfig;
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

package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.MetricsAddress;
import io.pbft.testkit.Ports;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplicaCommandTest {
  @TempDir
  Path dir;

  @Test
  void portInUseExitsOneWithAClearMessage() throws Exception {
    int base = Ports.consecutive(4);
    ClusterSetup.generate(dir, 4, 1, "127.0.0.1", base, -1, new SecureRandom());
    try (ServerSocket squatter = new ServerSocket()) {
      squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), base));
      Run run = Run.of("replica", "--config", dir.resolve("cluster.yaml").toString(), "--id", "0");
      assertEquals(1, run.exitCode(), run.toString());
      assertTrue(run.err().contains("address 127.0.0.1:" + base + " already in use"), run.toString());
      assertFalse(run.err().contains("\tat "), run.toString());
    }
  }

  @Test
  void joinWithNoGroupToJoinGivesUpWithTheReasonAndStartsNothing() throws Exception {
    int base = Ports.consecutive(4);
    ClusterSetup.generate(dir, 4, 1, "127.0.0.1", base, -1, new SecureRandom());
    String cfg = dir.resolve("cluster.yaml").toString();
    Run nobody = Run.of("replica", "--config", cfg, "--id", "3", "--join", "--join-wait", "0");
    assertEquals(1, nobody.exitCode(), nobody.toString());
    assertTrue(nobody.err().contains("--join: gave up after 0 s: no replica of the group answered"), nobody.toString());
    Run bad = Run.of("replica", "--config", cfg, "--id", "3", "--join", "--join-wait", "-1");
    assertEquals(2, bad.exitCode(), bad.toString());
    assertTrue(bad.err().contains("--join-wait must be between 0 and 604800 seconds"), bad.toString());
    try (ServerSocket free = new ServerSocket()) {
      // nothing was started: its configured port is still free to take
      free.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), base + 3));
    }
  }

  @Test
  void anApplicationThatCannotBeLoadedExitsTwoWithItsReason() throws Exception {
    ClusterSetup.generate(dir, 4, 1, "127.0.0.1", Ports.consecutive(4), -1, new SecureRandom());
    String cfg = dir.resolve("cluster.yaml").toString();
    Run missing = Run.of("replica", "--config", cfg, "--id", "0", "--application", "com.example.Missing");
    assertEquals(2, missing.exitCode(), missing.toString());
    assertTrue(missing.err().contains("application class com.example.Missing not found on the class path"),
        missing.toString());
    Run notOne = Run.of("replica", "--config", cfg, "--id", "0", "--application", "java.lang.String");
    assertEquals(2, notOne.exitCode(), notOne.toString());
    assertTrue(notOne.err().contains("does not implement io.pbft.replica.app.StateMachine"), notOne.toString());
    Run noJar = Run.of("replica", "--config", cfg, "--id", "0", "--app-jar", dir.resolve("none.jar").toString(),
        "--application", "com.example.Service");
    assertEquals(2, noJar.exitCode(), noJar.toString());
    assertTrue(noJar.err().contains("none.jar does not exist"), noJar.toString());
    // The key-value store is an application like any other: by name, in memory or durable.
    assertEquals("io.pbft.replica.app.kv.KvStateMachine",
        ReplicaCommand.applicationChoice("io.pbft.replica.app.kv.KvStateMachine", null, false).name());
    Run notDurable = Run.of("replica", "--config", cfg, "--id", "0", "--application",
        "io.pbft.replica.app.kv.KvStateMachine", "--data-dir", dir.resolve("data").toString());
    assertEquals(2, notDurable.exitCode(), notDurable.toString());
    assertTrue(notDurable.err().contains("keeps its state in memory"), notDurable.toString());
  }

  /**
   * Once an operator deletes the key cluster.yaml names (retired after a rotation), a replica
   * starts with its rotated key only from a data directory in an epoch that names that key: one
   * still in epoch 0 is refused, saying why, rather than run with a key its peers do not accept.
   */
  @Test
  void aRotatedKeyAloneIsRefusedForADataDirectoryStillInEpochZero() throws Exception {
    ClusterConfig cfg = ClusterSetup.generate(dir, 4, 1, "127.0.0.1", Ports.consecutive(4), -1, new SecureRandom());
    io.pbft.config.KeyFiles.write(ClusterSetup.replacementKeyFile(dir, 0),
        io.pbft.crypto.Ed25519Keys.generate(new SecureRandom()));
    java.nio.file.Files.delete(cfg.resolve(cfg.replica(0).keyFile()));
    Run run = Run.of("replica", "--config", dir.resolve("cluster.yaml").toString(), "--id", "0", "--data-dir",
        dir.resolve("data").toString());
    assertEquals(2, run.exitCode(), run.toString());
    assertTrue(run.err().contains("the data directory is in epoch 0, whose key for replica 0 is the one cluster.yaml "
        + "names"), run.toString());
    assertFalse(run.err().contains("\tat "), run.toString());
  }

  @Test
  void metricsPortInUseExitsOneNamingTheMetricsAddress() throws Exception {
    int base = Ports.consecutive(4);
    ClusterSetup.generate(dir, 4, 1, "127.0.0.1", base, -1, new SecureRandom());
    try (ServerSocket squatter = new ServerSocket()) {
      squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      int taken = squatter.getLocalPort();
      Run run = Run.of("replica", "--config", dir.resolve("cluster.yaml").toString(), "--id", "0",
          "--metrics", String.valueOf(taken));
      assertEquals(1, run.exitCode(), run.toString());
      assertTrue(run.err().contains("cannot serve metrics on 127.0.0.1:" + taken), run.toString());
      assertFalse(run.err().contains("\tat "), run.toString());
    }
  }

  @Test
  void metricsOptionReplacesThisReplicasEndpointOnly() {
    ClusterConfig cfg = ClusterSetup.generate(dir, 4, 1, "127.0.0.1", 7100, -1, new SecureRandom())
        .withMetrics(i -> new MetricsAddress("127.0.0.1", 9300 + i));
    assertSame(cfg, ReplicaCommand.withMetrics(cfg, 1, null));
    assertSame(cfg, ReplicaCommand.withMetrics(cfg, 1, " "));
    ClusterConfig moved = ReplicaCommand.withMetrics(cfg, 1, "0.0.0.0:9400");
    assertEquals(new MetricsAddress("0.0.0.0", 9400), moved.replica(1).metrics());
    assertEquals(new MetricsAddress("127.0.0.1", 9302), moved.replica(2).metrics());
    assertNull(ReplicaCommand.withMetrics(cfg, 1, "off").replica(1).metrics());
    assertEquals(new MetricsAddress("127.0.0.1", 9500), ReplicaCommand.withMetrics(cfg, 1, "9500").replica(1).metrics());
    CliException taken = assertThrows(CliException.class, () -> ReplicaCommand.withMetrics(cfg, 1, "9300"));
    assertTrue(taken.getMessage().contains("used twice"), taken.getMessage());
    CliException bad = assertThrows(CliException.class, () -> ReplicaCommand.withMetrics(cfg, 1, "x"));
    assertTrue(bad.getMessage().contains("--metrics: port in 'x' is not a number"), bad.getMessage());
  }
}

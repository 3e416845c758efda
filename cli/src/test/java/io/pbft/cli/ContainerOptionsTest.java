package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.ReplicaInfo;
import io.pbft.replica.app.kv.KvStateMachine;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.runtime.ReplicaServer;
import io.pbft.testkit.Ports;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The options that let replicas run in containers: keygen --hosts, replica --listen and --traitor, health. */
class ContainerOptionsTest {
  @TempDir
  Path dir;

  @Test
  void keygenWritesContainerHostNamesAndAHostSideConfiguration() throws Exception {
    Run run = Run.of("keygen", "--replicas", "4", "--clients", "2", "--out", dir.toString(),
        "--hosts", "replica0,replica1,replica2,replica3", "--base-port", "7000", "--published-base-port", "17000");
    assertEquals(0, run.exitCode(), run.toString());
    ClusterConfig inside = ClusterConfig.load(dir.resolve("cluster.yaml"));
    ClusterConfig outside = ClusterConfig.load(dir.resolve("cluster-host.yaml"));
    for (int i = 0; i < 4; i++) {
      assertEquals("replica" + i + ":7000", inside.replica(i).address());
      assertEquals("127.0.0.1:" + (17000 + i), outside.replica(i).address());
      // same keys: both files name the same key files, which match
      assertEquals(inside.replicaKeys(i).publicKey().length, outside.replicaKeys(i).publicKey().length);
      assertTrue(java.util.Arrays.equals(inside.replica(i).publicKey(), outside.replica(i).publicKey()));
    }
    assertTrue(java.util.Arrays.equals(outside.client(1).publicKey(), outside.clientKeys(1).publicKey()));
    assertTrue(run.out().contains("cluster-host.yaml"), run.toString());
  }

  @Test
  void keygenRejectsInconsistentHosts() {
    Run tooFew = Run.of("keygen", "--replicas", "4", "--out", dir.toString(), "--hosts", "a,b,c");
    assertEquals(2, tooFew.exitCode(), tooFew.toString());
    assertTrue(tooFew.err().contains("one host per replica"), tooFew.toString());
    Run both = Run.of("keygen", "--out", dir.toString(), "--host", "x", "--hosts", "a,b,c,d");
    assertEquals(2, both.exitCode(), both.toString());
    assertTrue(both.err().contains("cannot be combined"), both.toString());
    assertFalse(Files.exists(dir.resolve("cluster.yaml")));
  }

  @Test
  void listenAddressFillsInWhatItLeavesOut() {
    ReplicaInfo me = new ReplicaInfo(2, "replica2", 7000, new byte[32], null);
    assertEquals(null, ReplicaCommand.listenAddress(null, me));
    assertEquals(null, ReplicaCommand.listenAddress(" ", me));
    InetSocketAddress any = ReplicaCommand.listenAddress("0.0.0.0", me);
    assertEquals("0.0.0.0", any.getHostString());
    assertEquals(7000, any.getPort());
    assertEquals(7100, ReplicaCommand.listenAddress("0.0.0.0:7100", me).getPort());
    assertTrue(ReplicaCommand.listenAddress("[::]:7000", me).getAddress().isAnyLocalAddress());
    assertEquals(7001, ReplicaCommand.listenAddress(":7001", me).getPort());
    CliException bad = assertThrows(CliException.class, () -> ReplicaCommand.listenAddress("0.0.0.0:x", me));
    assertEquals(CliException.USAGE, bad.exitCode());
  }

  @Test
  void traitorNamesComeFromTheCatalogue() {
    ClusterConfig cfg = ClusterSetup.generate(dir, 4, 1, "127.0.0.1", 7000, -1, new SecureRandom());
    assertSame(Behaviour.HONEST, ReplicaCommand.behaviour(null, cfg, 0, 1));
    assertSame(Behaviour.HONEST, ReplicaCommand.behaviour("", cfg, 0, 1));
    assertEquals("silent", ReplicaCommand.behaviour("silent", cfg, 3, 1).name());
    CliException unknown = assertThrows(CliException.class, () -> ReplicaCommand.behaviour("liar", cfg, 3, 1));
    assertEquals(CliException.USAGE, unknown.exitCode());
    assertTrue(unknown.getMessage().contains("equivocating-primary"), unknown.getMessage());

    Run run = Run.of("replica", "--config", dir.resolve("cluster.yaml").toString(), "--id", "3", "--traitor", "liar");
    assertEquals(2, run.exitCode(), run.toString());
    assertTrue(run.err().contains("unknown traitor behaviour 'liar'"), run.toString());
  }

  @Test
  void healthAnswersForAReplicaListeningElsewhereThanConfigured() throws Exception {
    int base = Ports.consecutive(5);
    // configured on base..base+3, but replica 0 listens on base+4: a container's 0.0.0.0 in miniature
    ClusterConfig cfg = ClusterSetup.generate(dir, 4, 1, "127.0.0.1", base, -1, new SecureRandom());
    try (ReplicaServer server = ReplicaServer.start(cfg, 0, cfg.replicaKeys(0), new KvStateMachine(),
        Behaviour.HONEST, new InetSocketAddress("127.0.0.1", base + 4))) {
      // TLS on (generated configurations have it): the check authenticates the replica with the CA
      String config = dir.resolve("cluster.yaml").toString();
      Run ok = Run.of("health", "--address", "127.0.0.1:" + (base + 4), "--config", config);
      assertEquals(0, ok.exitCode(), ok.toString());
      assertTrue(ok.out().contains("SERVING"), ok.toString());
      Run withCa = Run.of("health", "--address", "127.0.0.1:" + (base + 4), "--tls-ca",
          dir.resolve("tls/ca.crt").toString());
      assertEquals(0, withCa.exitCode(), withCa.toString());
      Run plaintext = Run.of("health", "--address", "127.0.0.1:" + (base + 4), "--timeout-ms", "2000");
      assertEquals(1, plaintext.exitCode(), plaintext.toString());
      assertTrue(plaintext.err().contains("checked without TLS"), plaintext.toString());
      Run down = Run.of("health", "--address", "127.0.0.1:" + base, "--config", config, "--timeout-ms", "500");
      assertEquals(1, down.exitCode(), down.toString());
      assertTrue(down.err().contains("not healthy"), down.toString());
      assertEquals(0, server.id());
    }
    Run usage = Run.of("health", "--address", "nonsense");
    assertEquals(2, usage.exitCode(), usage.toString());
  }
}

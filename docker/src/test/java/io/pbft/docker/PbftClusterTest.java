package io.pbft.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.testkit.ClusterConfigs;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parts of PbftCluster that need no Docker engine (these run in the default build). */
class PbftClusterTest {
  @TempDir
  Path dir;

  @Test
  void containerAndHostConfigurationsShareKeysButNotAddresses() {
    ClusterConfig generated = ClusterSetup.generate(dir, 4, 2, "127.0.0.1", 7000, -1, new SecureRandom());
    ClusterConfig inside = ClusterConfigs.withAddresses(generated, PbftCluster::hostName, i -> PbftCluster.REPLICA_PORT);
    ClusterConfig outside = ClusterConfigs.withAddresses(generated, i -> "127.0.0.1", i -> 40000 + i);
    assertEquals("replica2:7000", inside.replica(2).address());
    assertEquals("127.0.0.1:40002", outside.replica(2).address());
    for (int i = 0; i < 4; i++) {
      assertTrue(Arrays.equals(inside.replica(i).publicKey(), outside.replica(i).publicKey()));
    }
    // what the containers read back is what was written
    ClusterConfig parsed = ClusterConfig.parse(inside.toYaml(), dir);
    assertEquals("replica3:7000", parsed.replica(3).address());
    assertTrue(Arrays.equals(inside.replicaKeys(1).publicKey(), parsed.replicaKeys(1).publicKey()));
  }

  @Test
  void configurationIsCheckedBeforeAnythingStarts() {
    assertThrows(IllegalArgumentException.class, () -> new PbftCluster(0));
    PbftCluster cluster = new PbftCluster(4);
    assertThrows(IllegalArgumentException.class, () -> cluster.withTraitor(4, "silent"));
    assertThrows(IllegalArgumentException.class, () -> cluster.withTraitor(1, " "));
    cluster.withTraitor(3, "equivocating-primary");
    assertEquals(List.of(0, 1, 2), cluster.correctReplicas());
    IllegalStateException notStarted = assertThrows(IllegalStateException.class, () -> cluster.status(0));
    assertTrue(notStarted.getMessage().contains("start()"), notStarted.getMessage());
    assertThrows(IllegalStateException.class, () -> cluster.kill(0), "faults need a started cluster");
    assertThrows(IllegalStateException.class, () -> cluster.kv(0), "clients need a started cluster");
    cluster.close(); // nothing was made: nothing to remove
  }
}

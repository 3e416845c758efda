package io.pbft.examples.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.traitor.WildClock;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.runtime.ReplicaServer;
import io.pbft.testkit.ClusterConfigs;
import io.pbft.testkit.Polling;
import io.pbft.testkit.Ports;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lock service replicated by four real replicas over gRPC on 127.0.0.1: leases expire on the
 * agreed time, and a primary with a wild clock neither moves that time nor stops the service.
 */
class LockServiceClusterTest {
  @TempDir
  Path dir;

  private final List<ReplicaServer> replicas = new ArrayList<>();
  private final List<AutoCloseable> clients = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : clients) {
      c.close();
    }
    replicas.forEach(ReplicaServer::close);
  }

  private ClusterConfig start(Behaviour primary) throws Exception {
    ClusterConfig generated = ClusterSetup.generateWithoutTls(dir, 4, 2, "127.0.0.1", Ports.free(), -1,
        new SecureRandom());
    ClusterConfig config = ClusterConfigs.onLoopback(generated, Ports.free(4));
    for (int i = 0; i < 4; i++) {
      replicas.add(ReplicaServer.start(config, i, config.replicaKeys(i), new LockService(),
          i == 0 ? primary : Behaviour.HONEST));
    }
    return config;
  }

  private LockClient client(ClusterConfig config, int id) {
    LockClient c = new LockClient(PbftClient.newBuilder().config(config).clientId(id)
        .operationTimeout(Duration.ofSeconds(60)).build(), true);
    clients.add(c);
    return c;
  }

  private long view(int replica) {
    return replicas.get(replica).status().join().getView();
  }

  @Test
  void aLeaseExpiresAndTheLockPassesToTheNextOwnerWithAHigherFencingToken() throws Exception {
    ClusterConfig config = start(Behaviour.HONEST);
    LockClient alice = client(config, 0);
    LockClient bob = client(config, 1);

    long before = System.currentTimeMillis();
    LockClient.Lease lease = alice.acquire("build", "alice", Duration.ofMillis(300)).orElseThrow();
    long after = System.currentTimeMillis();
    assertTrue(lease.expiresMs() >= before + 300 - 2_000 && lease.expiresMs() <= after + 300 + 2_000,
        () -> "the agreed time is the replicas' wall clock (within the skew): " + lease);
    Optional<LockClient.Holder> holder = bob.holder("build");
    assertTrue(holder.isEmpty() || holder.get().owner().equals("alice"), holder::toString);

    // Once alice's lease ran out (by the agreed time of bob's request), bob gets the lock.
    LockClient.Lease bobs = Polling.until(() -> bob.acquire("build", "bob", Duration.ofSeconds(30)),
        Optional::isPresent, Duration.ofSeconds(30)).orElseThrow();
    assertTrue(bobs.fencing() > lease.fencing(), "fencing tokens grow: " + bobs + " after " + lease);
    assertTrue(bobs.expiresMs() > lease.expiresMs());
    assertFalse(alice.renew(lease, Duration.ofSeconds(1)).isPresent(), "alice's lease is gone");
    assertFalse(alice.release(lease));
    assertEquals("bob", alice.holder("build").orElseThrow().owner());
    assertTrue(bob.release(bobs));
    assertTrue(alice.holder("build").isEmpty());
  }

  @Test
  void aPrimaryWithAWildClockIsReplacedAndTheAgreedTimeStaysSane() throws Exception {
    ClusterConfig config = start(new WildClock(new Random(7)));
    LockClient alice = client(config, 0);

    long fencing = 0;
    for (int i = 0; i < 5; i++) {
      long before = System.currentTimeMillis();
      LockClient.Lease lease = alice.acquire("lock-" + i, "alice", Duration.ofMinutes(1)).orElseThrow();
      long after = System.currentTimeMillis();
      // A wild time (a day or a year off) would show here: the lease expires a minute after the
      // agreed time, which correct backups kept within the skew (2 s) of their clocks.
      assertTrue(lease.expiresMs() >= before + 60_000 - 2_000 && lease.expiresMs() <= after + 60_000 + 4_000,
          () -> "lease " + lease + " requested between " + before + " and " + after);
      assertTrue(lease.fencing() > fencing);
      fencing = lease.fencing();
    }
    for (int r = 1; r < 4; r++) {
      assertEquals(1, view(r), "one view change, away from the wild primary (replica " + r + ")");
    }
  }
}

package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.KvClient;
import io.pbft.proto.StatusResponse;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code transport.networkThreads}: a replica's connections, the ones it accepts and its streams
 * to its peers alike, run on that many threads of its own; with one, the whole group still orders
 * a client's operations in view 0, and every replica's traffic went through its single thread.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class NetworkThreadsGrpcTest {
  @TempDir
  java.nio.file.Path dir;

  @Test
  void oneNetworkThreadCarriesEveryConnectionOfAReplica() throws Exception {
    int ops = 60;
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 2, c -> c.withOverrides(List.of("transport.networkThreads=1")));
        KvClient a = cluster.kvClient(0);
        KvClient b = cluster.kvClient(1)) {
      for (int i = 1; i <= ops; i++) {
        (i % 2 == 0 ? a : b).put("key-" + (i % 5), Integer.toString(i));
      }
      assertEquals(Integer.toString(ops), a.get("key-" + (ops % 5)).orElseThrow());
      List<StatusResponse> all = cluster.assertRunningReplicasAgree();
      for (StatusResponse s : all) {
        assertEquals(0, s.getView(), () -> "no view change: " + GrpcCluster.describe(all));
        assertTrue(s.getExecutedRequests() >= ops, GrpcCluster.describe(all));
        int r = s.getReplicaId();
        // Netty starts a group's threads as channels register: the replica's accepted connections
        // (from its three peers and both clients) and its three peer streams all went to this one.
        assertEquals(1, networkThreads(r), "replica " + r + "'s network threads");
        assertEquals(0, s.getDropped().getPeerQueueFull(), "replica " + r + " dropped nothing for its peers");
      }
    }
  }

  /** Live threads of replica {@code id}'s network group (named pbft-net-ID-POOL-N). */
  private static long networkThreads(int id) {
    String prefix = "pbft-net-" + id + "-";
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith(prefix)).count();
  }
}

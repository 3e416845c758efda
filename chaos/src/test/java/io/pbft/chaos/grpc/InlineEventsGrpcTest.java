package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.KvClient;
import io.pbft.config.Authentication;
import io.pbft.config.ClusterConfig;
import io.pbft.proto.StatusResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code transport.eventLoopInline} over real replicas: a lone client's operations find every
 * replica idle, so the core runs on the threads that checked its request, the PRE-PREPARE and
 * the votes; the group must order the same work as with the setting off, in view 0, refusing
 * nothing.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class InlineEventsGrpcTest {
  @TempDir
  Path dir;

  @Test
  void aLoneClientsOperationsRunInlineAndTheReplicasAgree() throws Exception {
    long[] inline = runPuts(c -> c, 0);
    for (int r = 0; r < inline.length; r++) {
      assertTrue(inline[r] > 0, "replica " + r + " ran nothing inline");
    }
  }

  @Test
  void signedRequestsRunInlineToo() throws Exception {
    long[] inline = runPuts(c -> c.withAuthentication(Authentication.SIGNATURES), 0);
    for (int r = 0; r < inline.length; r++) {
      assertTrue(inline[r] > 0, "replica " + r + " ran nothing inline");
    }
  }

  @Test
  void withTheSettingOffEveryEventRunsOnTheEventLoop() throws Exception {
    long[] inline = runPuts(c -> c.withOverrides(List.of("transport.eventLoopInline=0")), 0);
    for (int r = 0; r < inline.length; r++) {
      assertEquals(0, inline[r], "replica " + r);
    }
  }

  /**
   * A durable replica's events end in an fsync of its log, which must not hold up the network
   * thread that checked them (and every connection that thread serves): with the setting on, it
   * still runs every event on its event loop.
   */
  @Test
  void durableReplicasRunEveryEventOnTheEventLoop() throws Exception {
    long[] inline = runPuts(GrpcCluster.builder(dir).replicas(4).clients(1).durable(), 0);
    for (int r = 0; r < inline.length; r++) {
      assertEquals(0, inline[r], "replica " + r);
    }
  }

  /** One client's sequential puts; returns the events each replica ran inline. */
  private long[] runPuts(UnaryOperator<ClusterConfig> tune, int client) throws Exception {
    return runPuts(GrpcCluster.builder(dir).replicas(4).clients(1).tune(tune), client);
  }

  private long[] runPuts(GrpcCluster.Builder replicas, int client) throws Exception {
    int ops = 60;
    try (GrpcCluster cluster = replicas.start();
        KvClient kv = cluster.kvClient(client)) {
      for (int i = 1; i <= ops; i++) {
        kv.put("key-" + (i % 7), Integer.toString(i));
      }
      assertEquals(Integer.toString(ops), kv.get("key-" + (ops % 7)).orElseThrow());
      List<StatusResponse> all = cluster.assertRunningReplicasAgree();
      long[] inline = new long[all.size()];
      for (StatusResponse s : all) {
        assertEquals(0, s.getView(), () -> "no view change: " + GrpcCluster.describe(all));
        for (String reason : List.of("bad signature", "no valid peer MAC for this replica", "bad client signature",
            "no valid client MAC for this replica", "MACs on a message that must be signed")) {
          assertEquals(0L, s.getDropped().getByReasonOrDefault(reason, 0L),
              () -> "replica " + s.getReplicaId() + " refused: " + GrpcCluster.describe(all));
        }
        assertTrue(s.getExecutedRequests() >= ops, GrpcCluster.describe(all));
        inline[s.getReplicaId()] = cluster.replica(s.getReplicaId()).eventsRunInline();
      }
      return inline;
    }
  }
}

package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.KvClient;
import io.pbft.config.Authentication;
import io.pbft.config.ClusterConfig;
import io.pbft.proto.StatusResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code authentication: signatures} over real replicas: clients sign their requests and every
 * replica verifies them; the votes between replicas carry pair MACs by default and Ed25519
 * signatures with {@code protocol.signedVotes: 1}. Both must order the same work and agree.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SignatureModeGrpcTest {
  @TempDir
  Path dir;

  @Test
  void signedRequestsWithMacVotesAreOrderedAndTheReplicasAgree() throws Exception {
    runPuts(c -> c.withAuthentication(Authentication.SIGNATURES), true);
  }

  @Test
  void signedRequestsWithSignedVotesAreOrderedAndTheReplicasAgree() throws Exception {
    runPuts(c -> c.withAuthentication(Authentication.SIGNATURES).withOverrides(List.of("protocol.signedVotes=1")),
        false);
  }

  private void runPuts(java.util.function.UnaryOperator<ClusterConfig> tune, boolean macVotes) throws Exception {
    int clients = 8;
    int opsEach = 20;
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, clients, tune)) {
      assertEquals(Authentication.SIGNATURES, cluster.config().authentication());
      assertEquals(macVotes, cluster.config().peerMacs());
      List<KvClient> kvs = new ArrayList<>();
      List<CompletableFuture<Void>> runs = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        KvClient kv = cluster.kvClient(c);
        kvs.add(kv);
        String key = "client-" + c;
        runs.add(CompletableFuture.runAsync(() -> {
          for (int i = 1; i <= opsEach; i++) {
            kv.put(key, Integer.toString(i));
          }
        }));
      }
      CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
      for (int c = 0; c < clients; c++) {
        assertEquals(Integer.toString(opsEach), kvs.get(c).get("client-" + c).orElseThrow(), "client " + c);
        kvs.get(c).close();
      }
      List<StatusResponse> all = cluster.assertRunningReplicasAgree();
      for (StatusResponse s : all) {
        assertEquals(0, s.getView(), () -> "no view change: " + GrpcCluster.describe(all));
        for (String reason : List.of("bad signature", "no valid peer MAC for this replica", "bad client signature")) {
          assertEquals(0L, s.getDropped().getByReasonOrDefault(reason, 0L),
              () -> "replica " + s.getReplicaId() + " refused: " + GrpcCluster.describe(all));
        }
        assertFalse(s.getStorageFailed());
        assertTrue(s.getExecutedRequests() >= (long) clients * opsEach, GrpcCluster.describe(all));
      }
    }
  }
}

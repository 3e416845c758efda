package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.proto.StatusResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tentative execution over gRPC, four replicas in this JVM: clients accept results on 2f + 1
 * tentative replies, what they were told survives the primary's crash and the view change, and
 * with the setting off no reply is tentative.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class TentativeExecutionGrpcTest {
  @TempDir
  Path dir;

  private static UnaryOperator<ClusterConfig> tentative(boolean on) {
    return c -> c.withProtocol(c.protocol().toBuilder().tentativeExecution(on).build());
  }

  private static KvClient client(GrpcCluster cluster, int id) {
    return KvClient.owning(PbftClient.newBuilder().config(cluster.config()).clientId(id).channels(cluster.channels())
        .operationTimeout(Duration.ofSeconds(60)).build());
  }

  @Test
  void clientsAcceptTentativeRepliesAndTheReplicasAgree() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 2, tentative(true)); KvClient kv = client(cluster, 0)) {
      for (int i = 0; i < 30; i++) {
        kv.put("k" + (i % 5), "v" + i);
      }
      for (int i = 25; i < 30; i++) {
        assertEquals(Optional.of("v" + i), kv.getOrdered("k" + (i % 5)));
      }
      long tentative = kv.pbftClient().tentativeAccepted();
      assertTrue(tentative > 0, "no operation was accepted on tentative replies");
      List<StatusResponse> status = cluster.assertRunningReplicasAgree();
      assertEquals(35, status.get(0).getExecutedRequests(), "each request executed once");
      System.out.printf("tentative execution: %d of 35 operations accepted on tentative replies%n", tentative);
    }
  }

  @Test
  void whatClientsWereToldSurvivesThePrimarysCrash() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 4, tentative(true))) {
      Map<String, String> acknowledged = new ConcurrentHashMap<>();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong completed = new AtomicLong();
      List<KvClient> clients = new ArrayList<>();
      List<CompletableFuture<Void>> writers = new ArrayList<>();
      for (int c = 0; c < 3; c++) {
        KvClient kv = client(cluster, c);
        clients.add(kv);
        int id = c;
        writers.add(CompletableFuture.runAsync(() -> {
          for (int i = 0; !stop.get(); i++) {
            String key = "c" + id + "-" + (i % 8);
            kv.put(key, "v" + i);
            acknowledged.put(key, "v" + i);
            completed.incrementAndGet();
          }
        }));
      }
      try {
        cluster.await("some writes", () -> acknowledged.size() >= 12, Duration.ofSeconds(30));
        cluster.kill(0);
        long before = completed.get();
        cluster.await("writes in the next view", () -> completed.get() > before + 30, Duration.ofSeconds(60));
      } finally {
        stop.set(true);
        CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new)).get(90, TimeUnit.SECONDS);
      }
      KvClient reader = client(cluster, 3);
      clients.add(reader);
      for (Map.Entry<String, String> e : acknowledged.entrySet()) {
        assertEquals(Optional.of(e.getValue()), reader.getOrdered(e.getKey()), "acknowledged put of " + e.getKey());
      }
      List<StatusResponse> status = cluster.assertRunningReplicasAgree();
      assertEquals(1, status.get(0).getView(), "one view change for the primary's crash");
      assertTrue(totalTentative(clients) > 0);
      clients.forEach(KvClient::close);
    }
  }

  private static long totalTentative(List<KvClient> clients) {
    return clients.stream().mapToLong(k -> k.pbftClient().tentativeAccepted()).sum();
  }

  @Test
  void withTheSettingOffNoReplyIsTentative() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 1, tentative(false)); KvClient kv = client(cluster, 0)) {
      for (int i = 0; i < 10; i++) {
        kv.put("k", "v" + i);
      }
      assertEquals(0, kv.pbftClient().tentativeAccepted());
      assertEquals(Optional.of("v9"), kv.getOrdered("k"));
    }
  }
}

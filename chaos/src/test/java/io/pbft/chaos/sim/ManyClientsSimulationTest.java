package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ProtocolSettings;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.KvStore;
import io.pbft.testkit.Statuses;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Four (and seven) simulated replicas under many closed-loop clients: batches and pipelining under
 * the interleavings a seeded network with random latencies makes. Every operation completes with
 * f + 1 matching replies, runs exactly once, checkpoints become stable and truncate the log, and
 * all replicas end in the same state.
 */
class ManyClientsSimulationTest {

  @ParameterizedTest(name = "n = {0}")
  @ValueSource(ints = {4, 7})
  void manyClientsCompleteEveryOperationExactlyOnceAndReplicasAgree(int n) {
    int clients = 24;
    int opsPerClient = 40;
    // A small window and checkpoint interval so the run crosses many stable checkpoints.
    ProtocolSettings settings = ProtocolSettings.newBuilder().batchSizeMax(8).batchBytesMax(1 << 20).windowSize(16)
        .pipelineDepthMax(3).checkpointInterval(4).pendingRequestsMax(1000).operationBytesMax(1 << 16)
        .viewChangeTimeoutMs(1000).stateChunkBytesMax(1 << 20).build();
    SimCluster cluster = new SimCluster(SimulationConfig.builder().seed(1234 + n).replicas(n).clients(clients)
        .protocol(settings).build(), Duration.ofSeconds(60)).start();
    int[] done = new int[clients];
    List<Throwable> failures = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      putNext(cluster.kv(c), 1, opsPerClient, done, failures);
    }
    cluster.await("every client completes its operations",
        () -> IntStream.of(done).sum() + failures.size() == clients * opsPerClient, Duration.ofMinutes(10));
    assertEquals(List.of(), failures, "failed operations");

    List<Integer> all = IntStream.range(0, n).boxed().toList();
    List<StatusResponse> end = cluster.awaitAgreement(all, Duration.ofSeconds(30));
    long executed = end.get(0).getLastExecuted();
    for (StatusResponse s : end) {
      String where = Statuses.describe(all, end);
      assertEquals((long) clients * opsPerClient, s.getExecutedRequests(), "each request ran exactly once:" + where);
      assertTrue(s.getLowWatermark() > 0, "checkpoints became stable and the log was truncated:" + where);
      assertTrue(cluster.core(s.getReplicaId()).logSize() <= settings.windowSize());
      assertEquals(0, s.getRejectedMap().values().stream().mapToLong(Long::longValue).sum(),
          "no correct replica rejects a correct one:" + where);
      assertEquals(0, s.getViewChangesStarted(), "no view change:" + where);
    }
    assertTrue(executed < (long) clients * opsPerClient, "requests were batched: " + executed + " batches");
    assertEquals(List.of(), cluster.violations(), "the simulator's checkers");

    // Final state: each client's key holds its last value.
    KvStore reader = cluster.kv(0);
    for (int c = 0; c < clients; c++) {
      assertEquals(Optional.of("v" + opsPerClient), reader.get("k" + c));
    }
  }

  /** Client {@code kv} puts v{i} under its own key, then the next, until {@code last}. */
  private static void putNext(KvStore kv, int i, int last, int[] done, List<Throwable> failures) {
    byte[] key = ("k" + kv.clientId()).getBytes(StandardCharsets.UTF_8);
    kv.putAsync(key, ("v" + i).getBytes(StandardCharsets.UTF_8)).whenComplete((ok, e) -> {
      if (e != null) {
        failures.add(e);
        return;
      }
      done[kv.clientId()]++;
      if (i < last) {
        putNext(kv, i + 1, last, done, failures);
      }
    });
  }
}

package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.KvClient;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.StatusResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * State transfer of a large state: 1,600 puts of 64 KiB values (100 MiB of data) while one replica
 * is down, which then comes back empty and must fetch all of it, in chunks of
 * protocol.stateChunkBytesMax, before it can take part again.
 */
@Tag("slow")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class LargeStateTransferTest {
  private static final int CLIENTS = 8;
  private static final int VALUE_BYTES = 64 * 1024;
  private static final int PUTS = 1600;
  private static final int LAGGARD = 3;

  @TempDir
  Path dir;

  /**
   * The defaults already fit 64 KiB values (operations up to 1 MiB, batches up to 4 MiB, gRPC
   * messages up to 16 MiB); spelled out so that the test keeps working if they shrink.
   */
  static ProtocolSettings settings() {
    return PrimaryFailoverTest.fastSettings().toBuilder().batchBytesMax(4 << 20).operationBytesMax(1 << 20)
        .stateChunkBytesMax(1 << 20).build();
  }

  @Test
  void restartedReplicaFetchesAHundredMegabyteState() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, CLIENTS + 1, c -> c.withProtocol(settings()))) {
      cluster.stop(LAGGARD);
      long loadStart = System.nanoTime();
      try (PutLoad load = PutLoad.start(cluster, "large", PutLoad.ids(0, CLIENTS), VALUE_BYTES)) {
        load.awaitAcknowledged(PUTS, Duration.ofMinutes(5));
        load.stop();
        System.out.printf("large state: %d puts of %d bytes acknowledged in %d ms%n", load.acknowledgedCount(),
            VALUE_BYTES, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - loadStart));
        assertTrue(load.acknowledgedCount() * VALUE_BYTES >= 100L << 20, "at least 100 MiB stored");
      }
      try (KvClient kv = cluster.kvClient(CLIENTS)) {
        // The laggard fetches the newest stable checkpoint: small puts until one covers every large put.
        long loaded = cluster.status(0).getLastExecuted();
        int interval = settings().checkpointInterval();
        for (int i = 0; cluster.status(0).getLowWatermark() < loaded; i++) {
          assertTrue(i < 4 * interval, "no stable checkpoint at or above " + loaded + " after " + i + " puts");
          kv.put("checkpoint/" + i, "x");
        }
        StatusResponse others = cluster.status(0);

        long restartedAt = System.nanoTime();
        cluster.restartEmpty(LAGGARD);
        // Watched closely so that the transfer's duration can be told from the outside: first bytes
        // fetched, then the transfer completed.
        long firstBytesAt = 0;
        StatusResponse s = cluster.status(LAGGARD);
        long deadline = restartedAt + TimeUnit.MINUTES.toNanos(3);
        while (s.getStateTransfers() == 0 && System.nanoTime() - deadline < 0) {
          Thread.sleep(20);
          s = cluster.status(LAGGARD);
          if (firstBytesAt == 0 && s.getStateTransferBytes() > 0) {
            firstBytesAt = System.nanoTime();
          }
        }
        long doneAt = System.nanoTime();
        assertTrue(s.getStateTransfers() > 0, "no state transfer completed: "
            + GrpcCluster.describe(List.of(s)));
        long bytes = s.getStateTransferBytes();
        assertTrue(bytes >= 100L << 20, "fetched " + bytes + " bytes");

        int settlePuts = cluster.settle(kv);
        List<StatusResponse> all = cluster.assertRunningReplicasAgree();
        assertTrue(all.size() == 4 && all.get(LAGGARD).getLastExecuted() >= others.getLastExecuted());

        double fetchSeconds = (doneAt - firstBytesAt) / 1e9;
        System.out.printf("large state transfer: %.1f MiB in %d transfer(s); %.2f s from restart to installed, "
                + "%.2f s from first bytes to installed: %.1f MB/s; %d puts to settle%n",
            bytes / 1048576.0, s.getStateTransfers(), (doneAt - restartedAt) / 1e9,
            fetchSeconds, bytes / 1e6 / fetchSeconds, settlePuts);
      }
    }
  }
}

package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Polling;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A state that takes longer to fetch than the cluster takes to make its next checkpoint stable
 * must still arrive. It used not to: every newer stable checkpoint the fetching replica learnt
 * restarted its transfer from offset 0, and the sources discarded the snapshot being fetched as
 * soon as their own stable checkpoint moved past it. With 25 MiB of state and one client writing
 * small values, the replica fetched hundreds of megabytes and installed none.
 *
 * <p>The peers' queues to the stopped replica are kept smaller than the bulk load: with the
 * default 32 MiB, they held every message since it stopped, and on a fast enough run the restarted
 * replica replayed them all and caught up without needing a transfer at all (CI saw that once).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class StateTransferUnderLoadTest {
  private static final int LAGGARD = 3;
  /** A queue to a peer holds a third of the bulk load at most (and a largest batch, 4 MiB). */
  private static final int QUEUE_BYTES = 8 << 20;

  @TempDir
  Path dir;

  @Test
  void largeStateArrivesWhileTheOthersKeepCheckpointing() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 9, c -> c.withProtocol(LargeStateTransferTest.settings())
        .withTransport(c.transport().toBuilder().messageBytesMax(QUEUE_BYTES).peerQueueBytesMax(QUEUE_BYTES).build()))) {
      cluster.stop(LAGGARD);
      try (PutLoad bulk = PutLoad.start(cluster, "bulk", PutLoad.ids(0, 8), 64 * 1024)) {
        bulk.awaitAcknowledged(400, Duration.ofMinutes(3));
        bulk.stop();
      }
      try (PutLoad light = PutLoad.start(cluster, "light", PutLoad.ids(8, 1), 16)) {
        cluster.restartEmpty(LAGGARD);
        StatusResponse s = Polling.until(() -> cluster.status(LAGGARD),
            r -> r.getStateTransfers() > 0, Duration.ofSeconds(90));
        StatusResponse source = cluster.status(0);
        light.stop();
        assertTrue(s.getStateTransfers() > 0,
            "no transfer completed in 90 s under a one-client load; " + GrpcCluster.describe(List.of(s, source)));
      }
    }
  }
}

package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.KvClient;
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
 * A backup is down while the others run thousands of operations, far beyond its window, and comes
 * back with an empty store (it lost its state). It cannot catch up from the log, which the
 * others garbage-collected at their checkpoints: it must fetch a stable checkpoint's state, and
 * then keep up with the load that never stopped.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class StateTransferTest {
  private static final int CLIENTS = 8;
  private static final int LAGGARD = 3;

  @TempDir
  Path dir;

  @Test
  void restartedReplicaWithEmptyStateCatchesUpByStateTransferUnderLoad() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, CLIENTS + 2,
        c -> c.withProtocol(PrimaryFailoverTest.fastSettings()));
        PutLoad load = PutLoad.start(cluster, "transfer", PutLoad.ids(0, CLIENTS), 100)) {
      load.awaitAcknowledged(200, GrpcCluster.SETTLE);
      cluster.stop(LAGGARD);
      long downFrom = load.acknowledgedCount();
      load.awaitAcknowledged(downFrom + 4000, Duration.ofMinutes(2));
      long othersAt = cluster.status(0).getLastExecuted();
      assertTrue(othersAt > 2 * cluster.config().protocol().windowSize(),
          "the others moved more than a window past the stopped replica (at " + othersAt + ")");

      long restartedAt = System.nanoTime();
      cluster.restartEmpty(LAGGARD);
      // Caught up while the load goes on: the restarted replica installed a checkpoint's state and
      // executes as far as the others have got.
      StatusResponse caughtUp = Polling.until(() -> cluster.status(LAGGARD),
          s -> s.getStateTransfers() > 0 && s.getLastExecuted() >= othersAt,
          GrpcCluster.SETTLE);
      assertTrue(caughtUp.getStateTransfers() > 0, "state transfers: " + caughtUp);
      assertTrue(caughtUp.getLastExecuted() >= othersAt,
          "replica " + LAGGARD + " executed " + caughtUp.getLastExecuted() + ", the others were at " + othersAt);
      long catchUpMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt);
      long ackedAtCatchUp = load.acknowledgedCount();
      load.awaitAcknowledged(ackedAtCatchUp + 500, GrpcCluster.SETTLE);
      load.stop();

      // The restarted replica keeps up through further state transfers whenever the load leaves it
      // more than a window behind; once the load stops it may sit below the next checkpoint.
      int settlePuts;
      try (KvClient kv = cluster.kvClient(CLIENTS)) {
        settlePuts = cluster.settle(kv);
      }
      List<StatusResponse> all = cluster.assertRunningReplicasAgree();
      assertEquals(4, all.size());
      StatusResponse restarted = all.get(LAGGARD);
      assertTrue(restarted.getStateTransferBytes() > 0);
      load.assertEveryAcknowledgedPutIsRead();

      // The restarted replica is a full member again: with another backup down, progress needs it.
      cluster.stop(2);
      try (KvClient kv = cluster.kvClient(CLIENTS + 1)) {
        kv.put("after", "restart");
        assertEquals("restart", kv.get("after").orElseThrow());
      }
      List<StatusResponse> three = cluster.assertRunningReplicasAgree();
      assertArrayEquals(three.get(0).getStateDigest().toByteArray(), three.get(2).getStateDigest().toByteArray());
      System.out.printf("state transfer: replica %d caught up %d ms after its restart (the others had executed %d batches); "
              + "%d bytes in %d transfer(s) by the end; %d puts acknowledged, %d more to settle%n", LAGGARD, catchUpMs,
          othersAt, restarted.getStateTransferBytes(),
          restarted.getStateTransfers(), load.acknowledgedCount(), settlePuts);
    }
  }
}

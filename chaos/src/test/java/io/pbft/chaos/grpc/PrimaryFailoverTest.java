package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ProtocolSettings;
import io.pbft.proto.StatusResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The primary of view 0 crashes while several clients keep writing: the backups' view-change
 * timers expire, the group moves to the next view, and every put a client saw acknowledged, before
 * or after the crash, is still there. With four replicas (n = 3f + 1) and with five (f = 1 still,
 * quorums of four: the four left after the crash must all take part).
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class PrimaryFailoverTest {
  private static final int CLIENTS = 8;

  @TempDir
  Path dir;

  /** Small window and checkpoint interval, short timeout: view changes and garbage collection happen often. */
  static ProtocolSettings fastSettings() {
    return ProtocolSettings.defaults().withViewChangeTimeoutMs(500).withCheckpointInterval(16).withWindowSize(64);
  }

  @ParameterizedTest(name = "n = {0}")
  @ValueSource(ints = {4, 5})
  void progressResumesInTheNextViewAndNoAcknowledgedPutIsLost(int n) throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, n, CLIENTS, c -> c.withProtocol(fastSettings()));
        PutLoad load = PutLoad.start(cluster, "failover", PutLoad.ids(0, CLIENTS), 32)) {
      load.awaitAcknowledged(500, GrpcCluster.SETTLE);
      // The primary of the view the group is in. Usually replica 0; on a starved machine (one JVM
      // of four replicas and eight clients compiling on two cores) the first requests can take
      // longer than the 500 ms timeout, and the group then starts in a later view (docs/ROBUSTNESS.md).
      StatusResponse before = cluster.status(1);
      for (int i = 0; i < 100 && before.getViewChanging(); i++) {
        Thread.sleep(50);
        before = cluster.status(1);
      }
      int primary = before.getPrimary();
      assertEquals(before.getView() % n, primary, "the primary of view v is replica v mod n");
      assertEquals(1, cluster.config().f());
      assertEquals(n == 4 ? 3 : 4, cluster.config().quorum());

      long killedAt = System.nanoTime();
      long ackedBefore = load.acknowledgedCount();
      cluster.stop(primary);

      // Progress after the crash: a good many more puts complete (each client's own run of
      // operations passes through the new primary).
      load.awaitAcknowledged(ackedBefore + 1500, Duration.ofMinutes(2));
      load.stop();
      long gapMs = load.maxCompletionGapMsAfter(killedAt);

      List<StatusResponse> survivors = cluster.assertRunningReplicasAgree();
      for (StatusResponse s : survivors) {
        assertTrue(s.getView() > before.getView(), "replica " + s.getReplicaId() + " left view " + before.getView());
        assertEquals(survivors.get(0).getView(), s.getView(), "replica " + s.getReplicaId() + " is in the same view");
        assertTrue(s.getPrimary() != primary, "the crashed replica no longer leads");
        assertFalse(s.getViewChanging(), "replica " + s.getReplicaId() + " is in a view");
        assertTrue(s.getViewChangesStarted() >= 1,
            "replica " + s.getReplicaId() + " took part in a view change");
      }
      assertEquals(0, load.failures(), "puts that failed: first " + load.firstFailure());
      load.assertEveryAcknowledgedPutIsRead();
      cluster.assertRunningReplicasAgree();
      System.out.printf("primary failover, n = " + n + ": %d puts acknowledged (%d before the crash), view %d -> %d, "
              + "longest completion gap after the crash %d ms%n",
          load.acknowledgedCount(), ackedBefore, before.getView(), survivors.get(0).getView(), gapMs);
    }
  }
}

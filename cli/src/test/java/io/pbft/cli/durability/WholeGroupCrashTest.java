package io.pbft.cli.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.cluster.ProcessCluster;
import io.pbft.proto.StatusResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * All four replicas crash at once (SIGKILL) under load, so nothing is left in memory anywhere:
 * what was acknowledged must come back from the data directories alone.
 */
class WholeGroupCrashTest {
  private static final List<Integer> ALL = List.of(0, 1, 2, 3);
  private static final int CLIENTS = 8;
  private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration PROGRESS = Duration.ofSeconds(90);

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void everyAcknowledgedPutSurvivesACrashOfAllReplicas() throws Exception {
    try (ProcessCluster c = ProcessCluster.start("durability-all", CLIENTS + 1, ProcessCluster.SMALL);
         AckedPuts load = new AckedPuts(c.clientConfig(), CLIENTS, 8, "all", OPERATION_TIMEOUT)) {
      load.start();
      // Long enough for several checkpoints (every 16 batches), so both the application's
      // checkpoints and the log after them are needed.
      assertTrue(load.awaitMore(400, PROGRESS), "no load before the crash: " + load.firstFailure());
      List<StatusResponse> before = c.statuses();
      long ackedBefore = load.acked();
      c.killAll();
      SignedLedger ledger = new SignedLedger();
      for (int i = 0; i < c.size(); i++) {
        ledger.addAll(SignedLedger.readLog(ReplicaCrashTest.wal(c, i)), "replica " + i + " after the group crash");
      }
      for (int i = 0; i < c.size(); i++) {
        c.launch(i);
      }
      c.awaitUp(0, 1, 2, 3);
      for (int i = 0; i < c.size(); i++) {
        ReplicaCrashTest.assertRecoveredFromDisk(c, i, "replica " + i + " after the group crash");
      }
      // The clients went on retransmitting through the outage; the group accepts operations again.
      assertTrue(load.awaitMore(200, PROGRESS), "no progress after the restart; first failure: "
          + load.firstFailure() + "\n" + ProcessCluster.describe(c.statuses()));
      load.stop();
      List<StatusResponse> after = c.awaitAgreement(ALL, Duration.ofSeconds(90));
      for (int i = 0; i < c.size(); i++) {
        StatusResponse b = before.get(i);
        assertTrue(b == null || after.get(i).getLastExecuted() > b.getLastExecuted(),
            "replica " + i + " did not move past where it was before the crash:\nbefore\n"
                + ProcessCluster.describe(before) + "after\n" + ProcessCluster.describe(after));
      }
      assertEquals(List.of(), load.verify(CLIENTS), "acknowledged puts lost in the crash of all replicas ("
          + ackedBefore + " acknowledged before it, " + load.acked() + " in all)");
      c.awaitAgreement(ALL, Duration.ofSeconds(60));
      // No replica, the primary included, contradicted after the restart what it signed before.
      c.killAll();
      for (int i = 0; i < c.size(); i++) {
        ledger.addAll(SignedLedger.readLog(ReplicaCrashTest.wal(c, i)), "replica " + i + " at the end");
      }
      assertEquals(List.of(), ledger.conflicts(), "a replica contradicted itself after the group crash");
      System.err.printf("group crash: %d puts acknowledged before the crash, %d in all, %d failed%n", ackedBefore,
          load.acked(), load.failed());
    }
  }
}

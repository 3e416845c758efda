package io.pbft.cli.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Cluster;
import io.pbft.testkit.Directories;
import io.pbft.testkit.scenarios.ClusterScenarios;
import io.pbft.testkit.scenarios.Writers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cluster scenarios over four {@code pbft replica --data-dir} processes: SIGKILL, SIGTERM,
 * SIGSTOP and SIGCONT on real processes, restarts from real data directories, isolation through
 * TCP proxies.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ProcessClusterScenariosTest extends ClusterScenarios {
  @Override
  protected Cluster newCluster(String scenario) {
    // checkpoints every 16 batches in a window of 64; a view-change timeout (and a floor for the
    // adaptive request timer) that a loaded two-core machine does not reach by accident
    return ProcessCluster.create("scenario-" + scenario, 8, p -> p.withCheckpointInterval(16).withWindowSize(64)
        .withViewChangeTimeoutMs(2000).withViewChangeTimeoutMinMs(2000)).withFaultyNetwork();
  }

  @Override
  protected Duration patience() {
    return Duration.ofSeconds(90);
  }

  @Override
  protected String evidence(Cluster cluster) {
    StringBuilder b = new StringBuilder();
    for (int id = 0; id < cluster.size(); id++) {
      b.append("replica ").append(id).append(" (latest process):\n")
          .append(viewLines(((ProcessCluster) cluster).log(id), 25)).append('\n');
    }
    return b.toString();
  }

  /**
   * Four JVMs per scenario are costly, so the scenarios whose code path the in-JVM gRPC cluster
   * runs the same way are left out here; those that depend on what only processes have (SIGKILL,
   * SIGSTOP, a restart from a data directory by a new process) run.
   */
  @Override
  protected Optional<String> leftOut(String scenario) {
    return switch (scenario) {
      case "healthyCluster" -> Optional.of("every other scenario starts and loads the same processes");
      case "isolatedBackupCatchesUp" -> Optional.of("isolation goes through the same ProxyNetwork as in "
          + "GrpcClusterScenariosTest");
      default -> Optional.empty();
    };
  }

  /**
   * A machine that failed with its disk is replaced by one with the same identity (its key and
   * configuration, restored from the operator's copy) and an empty data directory, as
   * docs/RECONFIGURATION.md's guide for today says: it fetches the group's state by state transfer
   * and takes part again; nothing acknowledged is lost and nobody changes view.
   */
  @Test
  void aMachineThatLostItsDiskRejoinsWithItsIdentityByStateTransfer() throws IOException {
    ProcessCluster processes = (ProcessCluster) cluster;
    int backup = backup();
    Writers w = Writers.start(cluster, "disk", 0, 1);
    w.awaitMore(phasePuts(), patience());
    cluster.kill(backup);
    Path data = processes.dataDir(backup);
    Directories.deleteRecursively(data);
    Files.createDirectories(data);
    w.awaitMore(2L * phasePuts(), patience());
    long othersAt = cluster.status(others(backup).get(0)).getLastExecuted();
    cluster.restart(backup);
    cluster.await("replica " + backup + " caught up from an empty data directory by state transfer",
        () -> cluster.status(backup).getStateTransfers() >= 1 && cluster.status(backup).getLastExecuted() >= othersAt,
        patience());
    w.awaitMore(phasePuts(), patience());
    w.stop(patience());
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(ALL, patience());
    assertNoViewChange(end, backup);
    StatusResponse back = end.get(backup);
    assertTrue(back.getDurable(), "it keeps its state durably again");
    assertTrue(back.getLogBytesOnDisk() > 0, "and has written to its new data directory");
    assertEquals(0, back.getViewChangesStarted(), "the replaced machine started no view change");
  }
}

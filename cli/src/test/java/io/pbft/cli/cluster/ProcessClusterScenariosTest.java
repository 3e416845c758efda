package io.pbft.cli.cluster;

import io.pbft.testkit.Cluster;
import io.pbft.testkit.scenarios.ClusterScenarios;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
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
}

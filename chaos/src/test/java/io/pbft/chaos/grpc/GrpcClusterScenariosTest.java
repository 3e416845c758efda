package io.pbft.chaos.grpc;

import io.pbft.testkit.Cluster;
import io.pbft.testkit.scenarios.ClusterScenarios;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster scenarios over four real, durable {@code ReplicaServer}s in this JVM, replicas and
 * clients connected through TCP proxies (for isolation and pauses).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class GrpcClusterScenariosTest extends ClusterScenarios {
  @TempDir
  Path dir;

  @Override
  protected Cluster newCluster(String scenario) {
    // checkpoints every 16 batches in a window of 64; a view-change timeout (and a floor for the
    // adaptive request timer) that a loaded two-core machine does not reach by accident
    return GrpcCluster.builder(dir).clients(8).durable().faultyNetwork()
        .tune(c -> c.withProtocol(c.protocol().withCheckpointInterval(16).withWindowSize(64)
            .withViewChangeTimeoutMs(2000).withViewChangeTimeoutMinMs(2000)))
        .build();
  }

  @Override
  protected Duration patience() {
    return Duration.ofSeconds(90);
  }
}

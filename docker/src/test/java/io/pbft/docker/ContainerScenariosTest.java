package io.pbft.docker;

import io.pbft.testkit.Cluster;
import io.pbft.testkit.scenarios.ClusterScenarios;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;

/**
 * The cluster scenarios over four replica containers (pbft:local): docker kill, stop, pause and
 * network disconnect, restarts from data volumes. Tagged "container" like the other container
 * tests: skipped without Docker or the image, run by the container step of CI.
 */
@Tag("container")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ContainerScenariosTest extends ClusterScenarios {
  @Override
  protected Cluster newCluster(String scenario) {
    ContainerTests.requireDockerAndImage();
    // checkpoints every 16 batches in a window of 64; a view-change timeout (and a floor for the
    // adaptive request timer) that a loaded machine does not reach by accident
    return new PbftCluster(4).withImage(ContainerTests.IMAGE).withClients(8)
        .withProtocol(p -> p.withCheckpointInterval(16).withWindowSize(64).withViewChangeTimeoutMs(2000)
            .withViewChangeTimeoutMinMs(2000))
        .withOperationTimeout(Duration.ofSeconds(40));
  }

  @Override
  protected Duration patience() {
    return Duration.ofSeconds(120);
  }

  @Override
  protected String evidence(Cluster cluster) {
    StringBuilder b = new StringBuilder();
    for (int id = 0; id < cluster.size(); id++) {
      b.append("replica ").append(id).append(":\n").append(viewLines(((PbftCluster) cluster).logs(id), 25)).append('\n');
    }
    return b.toString();
  }
}

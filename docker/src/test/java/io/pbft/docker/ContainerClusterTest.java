package io.pbft.docker;

import static io.pbft.docker.ContainerTests.settle;
import static io.pbft.docker.ContainerTests.started;
import static io.pbft.docker.ContainerTests.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.docker.ContainerTests.Ledger;
import io.pbft.proto.StatusResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Four replica containers (pbft:local) per test, clients on the host: what only containers have
 * (a traitor chosen by environment, a replica restarted from its data volume or in memory). The
 * fault scenarios every cluster runs (a killed primary, a paused or isolated replica, restarts)
 * run over containers in {@link ContainerScenariosTest}. In every test the correct replicas end
 * with equal last executed sequence numbers and state digests (Status RPC), and every put a
 * client saw acknowledged reads back unchanged.
 *
 * <p>Tagged "container": excluded from the default {@code mvn verify}; run with
 * {@code mvn -pl docker verify -Dsurefire.excludedGroups= -Dgroups=container} after
 * {@code docker/build-image.sh}. Without Docker they are skipped with a message saying so.
 */
@Tag("container")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ContainerClusterTest {
  private static final Duration SETTLE = Duration.ofSeconds(90);
  private PbftCluster cluster;
  private long t0;

  @BeforeEach
  void docker() {
    ContainerTests.requireDockerAndImage();
  }

  @AfterEach
  void tearDown(TestInfo info) {
    if (cluster == null) {
      return; // skipped
    }
    cluster.close();
    System.out.printf("[container tests] %s: %d ms%n", info.getDisplayName(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
  }

  private PbftCluster start(PbftCluster c) {
    t0 = System.nanoTime();
    cluster = c;
    return started(c);
  }

  @Test
  void equivocatingPrimary() throws Exception {
    // replica 0 is the primary of view 0: it sends one batch to replica 2 and another to 1 and 3
    start(ContainerTests.cluster(4).withTraitor(0, "equivocating-primary"));
    Ledger ledger = new Ledger();
    write(cluster, ledger, "lies", 25, 1, 2, 3);
    List<Integer> correct = cluster.correctReplicas();
    assertEquals(List.of(1, 2, 3), correct);
    settle(cluster, correct, ledger, 4, SETTLE);
    ledger.verify(cluster, 5, 6);
    List<StatusResponse> end = settle(cluster, correct, ledger, 4, SETTLE);
    assertTrue(end.get(0).getView() >= 1, "the equivocating primary must have been voted out:"
        + PbftCluster.describe(correct, end));
  }

  @Test
  void restartedReplicaRecoversFromItsVolumeAndCatchesUp() throws Exception {
    start(ContainerTests.cluster(4));
    Ledger ledger = new Ledger();
    write(cluster, ledger, "before", 25, 1, 2);
    long before = settle(cluster, List.of(0, 1, 2, 3), ledger, 4, SETTLE).get(3).getLastExecuted();
    assertTrue(cluster.status(3).getLogBytesOnDisk() > 0, "the image's replicas are durable");
    String id = cluster.containerId(3);
    cluster.restart(3);
    assertEquals(id, cluster.containerId(3), "the same container (and data volume) comes back");
    StatusResponse recovered = cluster.status(3);
    assertTrue(recovered.getLastExecuted() >= before, "replica 3 recovered its state from its data volume ("
        + recovered.getLastExecuted() + " executed after the restart, " + before + " before)");
    write(cluster, ledger, "after", 25, 1, 2);
    settle(cluster, List.of(0, 1, 2, 3), ledger, 4, SETTLE);
    assertFalse(cluster.logs(3).isEmpty(), "the restarted replica's log is followed again");
    ledger.verify(cluster, 5, 6);
    settle(cluster, List.of(0, 1, 2, 3), ledger, 4, SETTLE);
  }

  @Test
  void restartedInMemoryReplicaRecoversByStateTransfer() throws Exception {
    start(ContainerTests.cluster(4).withInMemoryState());
    Ledger ledger = new Ledger();
    write(cluster, ledger, "before", 25, 1, 2);
    cluster.restart(3);
    // (it may have caught up already: "restarts empty" cannot be observed reliably)
    assertFalse(cluster.status(3).getDurable(), "replica 3 keeps its state in memory");
    write(cluster, ledger, "after", 25, 1, 2);
    List<StatusResponse> agreed = settle(cluster, List.of(0, 1, 2, 3), ledger, 4, SETTLE);
    assertTrue(agreed.get(3).getStateTransfers() >= 1,
        "the restarted replica recovered by state transfer:" + PbftCluster.describe(List.of(0, 1, 2, 3), agreed));
    ledger.verify(cluster, 5, 6);
    settle(cluster, List.of(0, 1, 2, 3), ledger, 4, SETTLE);
  }
}

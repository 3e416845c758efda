package io.pbft.cli.netns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Cluster;
import io.pbft.testkit.Statuses;
import io.pbft.testkit.scenarios.ClusterScenarios;
import io.pbft.testkit.scenarios.Writers;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cluster scenarios, and those only a real network can pose, over four replica processes in
 * network namespaces ({@link NetnsCluster}): partitions are packets dropped in the kernel, not
 * proxies closing sockets, so TCP connections stay up, silent, and retransmit; slow links are
 * packets held in the kernel for 25 ms each way; lossy ones drop 3 % of the packets at random.
 *
 * <p>Needs root, iproute2, iptables, gcc and libnetfilter_queue; skipped with the reason
 * without them, unless {@value NetnsCluster#REQUIRE_ENV} is set (as in CI), which fails instead.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class NetnsClusterScenariosTest extends ClusterScenarios {
  /** 25 ms one way on every link: 50 ms round trips between replicas and from clients to replicas. */
  static final LinkConditions WAN = LinkConditions.delayed(Duration.ofMillis(25));
  /**
   * 3 % of the packets lost at each crossing of the router, and each held 2 to 10 ms at random,
   * so that packets of one connection overtake each other.
   */
  static final LinkConditions LOSSY = LinkConditions.lossy(0.03).withJitter(Duration.ofMillis(8))
      .withDelay(Duration.ofMillis(2));

  @BeforeAll
  static void namespaces() {
    NetnsCluster.assumeAvailable(WAN);
  }

  @Override
  protected Cluster newCluster(String scenario) {
    LinkConditions links = switch (scenario) {
      // the healthy scenario's checks, and a crashed primary's replacement, with 50 ms round trips
      case "healthyCluster", "primaryKilledUnderLoad" -> WAN;
      case "lossyLinksLoseNothing" -> LOSSY;
      default -> LinkConditions.NONE;
    };
    // as in ProcessClusterScenariosTest: a view-change timeout (and a floor for the adaptive
    // request timer) that a loaded two-core machine does not reach by accident
    return NetnsCluster.create("netns-" + scenario, 8, p -> p.withCheckpointInterval(16).withWindowSize(64)
        .withViewChangeTimeoutMs(2000).withViewChangeTimeoutMinMs(2000), links);
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
          .append(viewLines(((NetnsCluster) cluster).log(id), 25)).append('\n');
    }
    return b.toString();
  }

  /**
   * Pauses and restarts are the same processes and signals here as in ProcessClusterScenariosTest
   * (a crash runs here, over slow links).
   */
  @Override
  protected Optional<String> leftOut(String scenario) {
    return switch (scenario) {
      case "pausedBackupCatchesUp", "killedReplicaRestartsWithItsState",
          "wholeClusterRestart", "aMachineThatLostItsDiskRejoinsWithItsIdentityByStateTransfer" -> Optional.of("SIGKILL, SIGSTOP and restarts from a data directory run the same "
          + "way in ProcessClusterScenariosTest; here only the network differs");
      default -> Optional.empty();
    };
  }

  /**
   * The primary is cut off (its packets dropped, its connections silent, not closed): the others
   * replace it by exactly one view change and go on; once healed it joins them in view 1.
   */
  @Test
  void isolatedPrimaryIsReplaced() {
    int primary = cluster.status(0).getPrimary();
    Writers w = Writers.start(cluster, "cut-primary", 0, 1);
    w.awaitMore(phasePuts(), patience());
    cluster.isolate(primary);
    w.awaitMore(phasePuts(), patience()); // progress without it: a new primary
    cluster.heal();
    w.awaitMore(phasePuts(), patience());
    w.stop(patience());
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(ALL, patience());
    for (StatusResponse s : end) {
      assertNotEquals(primary, s.getPrimary(), "the cut-off primary was replaced:" + Statuses.describe(ALL, end));
      expectProtocol(s.getView() == 1 && !s.getViewChanging()
          && (s.getReplicaId() == primary || s.getViewChangesStarted() == 1),
          "one view change replaces a cut-off primary: replica " + s.getReplicaId() + " ends in view 1"
              + (s.getReplicaId() == primary ? " once healed" : " after exactly one view change"), end);
    }
  }

  /**
   * 3 % of the packets on every link are lost and the rest reordered: TCP retransmits and
   * reassembles, the group goes on, nothing acknowledged is lost, every put completes and all
   * four agree.
   */
  @Test
  void lossyLinksLoseNothing() {
    Writers w = Writers.start(cluster, "lossy", 0, 1);
    w.awaitMore(4L * phasePuts(), patience());
    w.stop(patience());
    assertEquals(0, w.failed(), "no put fails over lossy links; first failure: " + w.firstFailure());
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(ALL, patience());
    System.out.printf("[netns] lossy, reordering links (%s): %d puts, view changes started per replica %s%n",
        LOSSY, w.acked(), end.stream().map(StatusResponse::getViewChangesStarted).toList());
  }

  /**
   * Two backups cannot reach each other (neither is the primary of view 0 or 1): each still
   * makes its quorums with the primary and the other backup, so nobody changes view; healed, all
   * four agree.
   */
  @Test
  void cutBackupsAgree() {
    int primary = cluster.status(0).getPrimary();
    int a = (primary + 2) % ALL.size();
    int b = (primary + 3) % ALL.size();
    Writers w = Writers.start(cluster, "cut-pair", 0, 1);
    w.awaitMore(phasePuts(), patience());
    ((NetnsCluster) cluster).cut(a, b);
    w.awaitMore(2L * phasePuts(), patience());
    cluster.heal();
    w.awaitMore(phasePuts(), patience());
    w.stop(patience());
    assertEquals(0, w.failed(), "no put fails while two backups cannot talk; first failure: " + w.firstFailure());
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(ALL, patience());
    for (StatusResponse s : end) {
      expectProtocol(s.getView() == 0 && s.getViewChangesStarted() == 0 && !s.getViewChanging(),
          "a link cut between backups " + a + " and " + b + " changes no view (replica " + s.getReplicaId() + ")", end);
    }
  }
}

package io.pbft.testkit.scenarios;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Cluster;
import io.pbft.testkit.KvStore;
import io.pbft.testkit.Statuses;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * Fault scenarios written once against {@link Cluster} and run over every way a group can run:
 * a subclass per implementation supplies {@link #newCluster}, and JUnit runs every scenario
 * against it (as Ratis runs one test over several transports).
 *
 * <p>Each scenario starts a fresh group of four replicas (f = 1), drives load from two client
 * identities with {@link Writers}, injects its fault, and then checks outcomes, never timings
 * (the machine is shared and noisy):
 *
 * <ul>
 *   <li>no acknowledged put is lost: every one reads back with its value;
 *   <li>the replicas that should agree end with the same last executed sequence number and state
 *       digest;
 *   <li>view changes are counted: none when no primary failed, exactly one when the primary of
 *       view 0 crashed.
 * </ul>
 *
 * <p>Assertions made with {@link #expectProtocol} state what the protocol itself must do (as
 * opposed to what the harness must do); when one fails, its message starts with "PROTOCOL" and
 * carries every replica's status, for whoever owns the replica core.
 *
 * <p>The cluster a subclass builds should checkpoint often (every 16 batches or so) with a small
 * window, so that a replica left behind for one phase of a scenario needs a state transfer to
 * catch up.
 */
public abstract class ClusterScenarios {
  /** Replica ids of the four-replica group every scenario runs. */
  protected static final List<Integer> ALL = List.of(0, 1, 2, 3);

  /** A new, unstarted cluster of four replicas with at least six client identities. */
  protected abstract Cluster newCluster(String scenario);

  /** How long a scenario waits for progress, completion or agreement (virtual time in the simulator). */
  protected Duration patience() {
    return Duration.ofSeconds(60);
  }

  /** Acknowledged puts each phase of a scenario waits for. */
  protected int phasePuts() {
    return 30;
  }

  /**
   * Why this implementation leaves {@code scenario} out (empty: it runs it). A scenario left out
   * is reported as skipped, with the reason; every implementation should say why, e.g. that
   * another one runs the same code path.
   */
  protected Optional<String> leftOut(String scenario) {
    return Optional.empty();
  }

  /** The scenario's cluster, from {@link #startCluster} until it is closed. */
  protected Cluster cluster;

  /**
   * What the replicas said that explains a failure (log lines about view changes, say), added to
   * a failed scenario's exception while its cluster still runs; empty if there is nothing to add.
   */
  protected String evidence(Cluster cluster) {
    return "";
  }

  /** Adds {@link #evidence} to whatever a scenario failed with. */
  @RegisterExtension
  final TestExecutionExceptionHandler addEvidence = (context, failure) -> {
    if (cluster != null) {
      try {
        String more = evidence(cluster);
        if (!more.isEmpty()) {
          failure.addSuppressed(new AssertionError("what the replicas said:\n" + more));
        }
      } catch (RuntimeException e) {
        failure.addSuppressed(e);
      }
    }
    throw failure;
  };

  /** Checks of the implementation's own at the end of every scenario (the simulator's checkers). */
  protected void verifyAfter(Cluster cluster) {}

  private long startedNanos;

  @BeforeEach
  void startCluster(TestInfo info) {
    String scenario = info.getTestMethod().map(m -> m.getName()).orElse("scenario");
    leftOut(scenario).ifPresent(why -> Assumptions.abort(getClass().getSimpleName() + " leaves " + scenario
        + " out: " + why));
    startedNanos = System.nanoTime();
    cluster = newCluster(scenario);
    try {
      cluster.start();
    } catch (RuntimeException | Error e) {
      cluster.close();
      cluster = null;
      throw e;
    }
  }

  @AfterEach
  void closeCluster(TestInfo info) {
    if (cluster == null) {
      return;
    }
    try {
      verifyAfter(cluster);
    } finally {
      cluster.close();
      System.out.printf("[scenarios] %s %s: %d ms%n", getClass().getSimpleName(), info.getDisplayName(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos));
    }
  }

  // ---------------------------------------------------------------- scenarios

  /** Two clients write, everything reads back, all four agree, and nobody changed view. */
  @Test
  void healthyCluster() {
    Writers w = Writers.start(cluster, "healthy", 0, 1);
    w.awaitMore(2L * phasePuts(), patience());
    w.stop(patience());
    assertEquals(0, w.failed(), "no put fails in a healthy cluster; first failure: " + w.firstFailure());
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(ALL, patience());
    for (StatusResponse s : end) {
      expectProtocol(s.getView() == 0 && s.getViewChangesStarted() == 0,
          "a healthy cluster changes no view (replica " + s.getReplicaId() + ")", end);
      // every put ran exactly once at every replica, and every read-back get that was ordered (all
      // of them where gets are ordered; the read-only ones that fell back where they are not)
      long getsOrdered = cluster.kv(2).getsOrdered() + cluster.kv(3).getsOrdered();
      assertEquals(w.acked() + getsOrdered, s.getExecutedRequests(), "requests executed by replica "
          + s.getReplicaId() + " (" + w.acked() + " puts and " + getsOrdered + " ordered gets):"
          + Statuses.describe(ALL, end));
    }
  }

  /**
   * The primary crashes under load: operations go on after a view change, nothing acknowledged
   * is lost, and the survivors agree in view 1 after exactly one view change each.
   */
  @Test
  void primaryKilledUnderLoad() {
    int primary = cluster.status(0).getPrimary();
    Writers w = Writers.start(cluster, "failover", 0, 1);
    w.awaitMore(phasePuts(), patience());
    cluster.kill(primary);
    w.awaitMore(phasePuts(), patience());
    w.stop(patience());
    List<Integer> survivors = others(primary);
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(survivors, patience());
    for (StatusResponse s : end) {
      assertNotEquals(primary, s.getPrimary(), "the dead primary was replaced:" + Statuses.describe(survivors, end));
      expectProtocol(s.getView() == 1 && s.getViewChangesStarted() == 1 && !s.getViewChanging(),
          "one view change replaces a crashed primary: replica " + s.getReplicaId()
              + " ends in view 1 after exactly one view change", end);
    }
  }

  /** A backup is frozen while the others go on; once resumed it catches up, and nobody changes view. */
  @Test
  void pausedBackupCatchesUp() {
    int backup = backup();
    Writers w = Writers.start(cluster, "paused", 0, 1);
    w.awaitMore(phasePuts(), patience());
    cluster.pause(backup);
    w.awaitMore(2L * phasePuts(), patience()); // the other three go on without it
    long othersAt = assertLeftBehind(backup);
    cluster.resume(backup);
    w.awaitMore(phasePuts(), patience());
    w.stop(patience());
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(ALL, patience());
    assertTrue(end.get(backup).getLastExecuted() > othersAt, "the resumed backup caught up past " + othersAt + ":"
        + Statuses.describe(ALL, end));
    assertNoViewChange(end, backup);
  }

  /** A backup is cut off while the others go on; after the network heals it catches up, and nobody changes view. */
  @Test
  void isolatedBackupCatchesUp() {
    int backup = backup();
    Writers w = Writers.start(cluster, "isolated", 0, 1);
    w.awaitMore(phasePuts(), patience());
    cluster.isolate(backup);
    w.awaitMore(2L * phasePuts(), patience());
    long othersAt = assertLeftBehind(backup);
    cluster.heal();
    w.awaitMore(phasePuts(), patience());
    w.stop(patience());
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(ALL, patience());
    assertTrue(end.get(backup).getLastExecuted() > othersAt, "the healed backup caught up past " + othersAt + ":"
        + Statuses.describe(ALL, end));
    assertNoViewChange(end, backup);
  }

  /**
   * A backup crashes and comes back with its durable state (not empty), then catches up with
   * what it missed; nothing acknowledged is lost and nobody changes view.
   */
  @Test
  void killedReplicaRestartsWithItsState() {
    int backup = backup();
    Writers w = Writers.start(cluster, "restart", 0, 1);
    w.awaitMore(phasePuts(), patience());
    long before = cluster.status(backup).getLastExecuted();
    cluster.kill(backup);
    w.awaitMore(2L * phasePuts(), patience());
    cluster.restart(backup);
    // The batches it logged after its last checkpoint go to the executor again on restart, and
    // status reads the executor's progress: give the replay its moment.
    cluster.await("replica " + backup + " back at the " + before + " batches it had executed before the crash",
        () -> cluster.status(backup).getLastExecuted() >= before, patience());
    StatusResponse back = cluster.status(backup);
    assertTrue(back.getDurable(), "replica " + backup + " keeps its state durably");
    w.awaitMore(phasePuts(), patience());
    w.stop(patience());
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(ALL, patience());
    assertNoViewChange(end, backup);
  }

  /**
   * A backup's machine fails with its disk and is replaced by one with the same identity and no
   * state, as docs/RECONFIGURATION.md's operator steps say: it catches up from the others by state
   * transfer and takes part again; nothing acknowledged is lost and nobody changes view. Skipped
   * where a cluster cannot replace a machine ({@link Cluster#replaceWithEmptyState}).
   */
  @Test
  void aMachineThatLostItsDiskRejoinsWithItsIdentityByStateTransfer() {
    Assumptions.assumeTrue(cluster.replacesMachines(), cluster.getClass().getSimpleName()
        + " cannot replace a replica's machine");
    int backup = backup();
    Writers w = Writers.start(cluster, "disk", 0, 1);
    w.awaitMore(phasePuts(), patience());
    cluster.kill(backup);
    w.awaitMore(2L * phasePuts(), patience());
    long othersAt = cluster.status(others(backup).get(0)).getLastExecuted();
    cluster.replaceWithEmptyState(backup);
    // Asked until it says so: while it installs the state it fetched, its status (which waits for its
    // execution thread) may miss a probe's deadline, and that says nothing about the protocol.
    cluster.await("replica " + backup + " caught up from nothing by state transfer",
        () -> cluster.tryStatus(backup)
            .filter(s -> s.getStateTransfers() >= 1 && s.getLastExecuted() >= othersAt).isPresent(),
        patience());
    w.awaitMore(phasePuts(), patience());
    w.stop(patience());
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(ALL, patience());
    assertNoViewChange(end, backup);
    expectProtocol(end.get(backup).getViewChangesStarted() == 0,
        "the replaced machine started no view change", end);
  }

  /**
   * Every replica crashes under load and all restart from their durable state: the service
   * comes back, nothing acknowledged is lost, and all four end in the same view.
   */
  @Test
  void wholeClusterRestart() {
    Writers w = Writers.start(cluster, "all", 0, 1);
    w.awaitMore(2L * phasePuts(), patience());
    long ackedBefore = w.acked();
    for (int id : ALL) {
      cluster.kill(id);
    }
    cluster.restartAll(ALL);
    w.awaitMore(phasePuts(), patience()); // the service is back
    w.stop(patience());
    assertTrue(w.acked() > ackedBefore, "puts were acknowledged after the restart");
    assertNoneLost(w);
    List<StatusResponse> end = cluster.awaitAgreement(ALL, patience());
    expectProtocol(end.stream().mapToLong(StatusResponse::getView).distinct().count() == 1
        && end.stream().noneMatch(StatusResponse::getViewChanging),
        "after a restart of the whole group every replica ends in the same view", end);
  }

  // ---------------------------------------------------------------- helpers

  /** A backup that is not the primary of the next view either (so its trouble changes no view). */
  protected int backup() {
    // Asked again while it does not answer within the probe's deadline: on a loaded host a
    // container that just reported healthy has missed one, and that said nothing about the protocol.
    long deadline = System.nanoTime() + patience().toNanos();
    while (true) {
      try {
        return (cluster.status(0).getPrimary() + 2) % ALL.size();
      } catch (IllegalStateException e) {
        if (System.nanoTime() - deadline > 0) {
          throw e;
        }
      }
    }
  }

  protected static List<Integer> others(int id) {
    List<Integer> rest = new ArrayList<>(ALL);
    rest.remove(Integer.valueOf(id));
    return rest;
  }

  /**
   * What the replicas other than {@code behind} have executed now, the most advanced of them;
   * asserts that {@code behind} (when it answers at all) is behind that: the fault had an effect.
   */
  protected long assertLeftBehind(int behind) {
    long othersAt = 0;
    for (int id : others(behind)) {
      othersAt = Math.max(othersAt, cluster.tryStatus(id).map(StatusResponse::getLastExecuted).orElse(0L));
    }
    Optional<StatusResponse> cut = cluster.tryStatus(behind);
    if (cut.isPresent()) {
      assertTrue(cut.get().getLastExecuted() < othersAt, "replica " + behind + " took no part meanwhile: it executed "
          + cut.get().getLastExecuted() + ", the others " + othersAt);
    }
    return othersAt;
  }

  /** Every replica in view 0; those other than {@code troubled} never started a view change. */
  protected static void assertNoViewChange(List<StatusResponse> end, int troubled) {
    for (StatusResponse s : end) {
      boolean stayed = s.getView() == 0 && !s.getViewChanging()
          && (s.getReplicaId() == troubled || s.getViewChangesStarted() == 0);
      expectProtocol(stayed, "trouble at backup " + troubled + " changes no view (replica " + s.getReplicaId()
          + " ends in view 0" + (s.getReplicaId() == troubled ? "" : " and never started a view change") + ")", end);
    }
  }

  /** Reads back every acknowledged put through clients 2 and 3, and asserts that each is there with its value. */
  protected void assertNoneLost(Writers w) {
    List<KvStore> readers = List.of(cluster.kv(2), cluster.kv(3));
    List<String> lost = w.lost(readers, patience());
    assertEquals(List.of(), lost, lost.size() + " of " + w.acked() + " acknowledged puts lost or changed ("
        + w.failed() + " puts failed)");
    assertTrue(w.acked() > 0, "puts were acknowledged");
  }

  /**
   * The lines of {@code log} that tell about views and catching up (view-change timers, VIEW-CHANGE,
   * NEW-VIEW, state transfers), the last {@code max} of them, for {@link #evidence}.
   */
  protected static String viewLines(String log, int max) {
    List<String> lines = log.lines().filter(l -> l.contains("view") || l.contains("state transfer")
        || l.contains("recover")).toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - max), lines.size()));
  }

  /**
   * An expectation about the protocol (not the harness): fails with a message that starts with
   * "PROTOCOL" and shows every replica's status.
   */
  protected static void expectProtocol(boolean holds, String expectation, List<StatusResponse> statuses) {
    if (!holds) {
      List<Integer> ids = statuses.stream().map(StatusResponse::getReplicaId).toList();
      fail("PROTOCOL: expected " + expectation + ":" + Statuses.describe(ids, statuses));
    }
  }
}

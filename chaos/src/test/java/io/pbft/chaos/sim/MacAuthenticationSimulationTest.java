package io.pbft.chaos.sim;

import static io.pbft.chaos.sim.SimAssertions.assertHealthy;
import static io.pbft.chaos.sim.SimAssertions.assertSurvivorsAgree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.traitor.ForgedRequests;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.config.Authentication;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code authentication: macs} in the simulator: requests carry one HMAC per replica, a replica
 * checks only its own, and a batch with a request some backup cannot authenticate is prepared
 * there once the primary and f backups vouch for it.
 */
class MacAuthenticationSimulationTest {
  private static SimulationConfig.Builder macs(long seed) {
    return SimulationConfig.builder().seed(seed).clients(6).opsPerClient(30).authentication(Authentication.MACS);
  }

  @Test
  void faultFreeRunWithMacsCompletesEveryOperationInViewZero() {
    SimulationConfig config = macs(1).build();
    SimulationResult result = Simulation.run(config);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    assertEquals(0, result.viewChangesStarted(), result::report);
    for (SimulationResult.ReplicaSummary r : result.replicas()) {
      // reads answered read-only never run: every other operation ran once at every replica
      assertEquals(result.opsOrdered(), r.requestsExecuted(), "each ordered request ran once at every replica");
      assertTrue(r.rejections().isEmpty(), () -> "nothing a correct replica sends is refused: " + r);
    }
  }

  @Test
  void requestsWithABadMacForOneBackupAreVouchedForWithoutAViewChange() {
    // Client 0 gives backup 3 a MAC that does not check; the primary and backups 1 and 2 can
    // check theirs. Backup 3 prepares client 0's batches once f = 1 other backup has.
    SimulationConfig config = macs(2).badMacs(0, Set.of(3)).build();
    SimulationResult result = Simulation.run(config);

    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
    assertSurvivorsAgree(result);
    assertEquals(0, result.viewChangesStarted(), result::report);
    assertEquals(result.opsOrdered(), result.replica(3).requestsExecuted(), result::report);
  }

  @Test
  void requestsWithBadMacsForAllButOneBackupAreVouchedFor() {
    // Valid only at the primary and backup 1: f + 1 = 2 replicas vouch, so backups 2 and 3
    // prepare after backup 1 does.
    SimulationConfig config = macs(3).badMacs(0, Set.of(2, 3)).badMacs(4, Set.of(2, 3)).build();
    SimulationResult result = Simulation.run(config);

    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
    assertSurvivorsAgree(result);
    assertEquals(0, result.viewChangesStarted(), result::report);
  }

  @Test
  void aPrimaryThatMakesUpRequestsGetsNoneOfThemExecuted() {
    // The forging primary's made-up and tampered requests carry no MAC any backup can check, so
    // no batch holding one is vouched for; the checkers find no operation a client did not issue.
    SimulationConfig config = macs(4).clients(4).opsPerClient(20)
        .traitor(0, random -> new ForgedRequests(random)).workload(Workload.Kind.BANK).build();
    SimulationResult result = Simulation.run(config);

    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
  }

  /** Counts what was delivered: COMMITs by how they were authenticated, catch-up messages by kind. */
  private static final class Deliveries implements SimRecorder {
    int macedCommits;
    int signedCommits;
    int claimsTo3;
    int proofsTo3;

    @Override
    public void delivered(int from, int to, long localMs, SignedMessage message) {
      ReplicaMessage body;
      try {
        body = ReplicaMessage.parseFrom(message.getPayload());
      } catch (InvalidProtocolBufferException e) {
        throw new AssertionError(e);
      }
      if (body.hasCommit()) {
        if (message.getAuthenticatorCount() > 0) {
          macedCommits++;
        } else {
          signedCommits++;
        }
      } else if (body.hasCommitted() && to == 3) {
        if (body.getCommitted().getCommitsCount() == 0) {
          claimsTo3++;
        } else {
          proofsTo3++;
        }
      }
    }
  }

  @Test
  void commitsBetweenReplicasAreAuthenticatedByMacsOnceThePairKeysAreAnnounced() {
    assertCommitsCarryMacs(macs(6).build());
  }

  /**
   * A fault-free run of {@code config} in view 0, nothing refused, and every COMMIT but those sent
   * before the first heartbeats crossed authenticated by MACs.
   */
  private static void assertCommitsCarryMacs(SimulationConfig config) {
    Deliveries seen = new Deliveries();
    SimulationResult result = Simulation.run(config, seen);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    assertEquals(0, result.viewChangesStarted(), result::report);
    for (SimulationResult.ReplicaSummary r : result.replicas()) {
      assertTrue(r.rejections().isEmpty(), () -> "no MAC or signature of a correct replica is refused: " + r);
    }
    assertTrue(seen.macedCommits > 0 && seen.signedCommits * 20 < seen.macedCommits,
        () -> seen.macedCommits + " COMMITs with MACs, " + seen.signedCommits + " signed");
  }

  @Test
  void withSignaturesEveryCommitIsSigned() {
    SimulationConfig config = macs(6).authentication(Authentication.SIGNATURES).build();
    Deliveries seen = new Deliveries();
    SimulationResult result = Simulation.run(config, seen);

    assertHealthy(config, result);
    assertEquals(0, seen.macedCommits);
    assertTrue(seen.signedCommits > 0);
  }

  @Test
  void withSignedRequestsAndMacVotesTheCommitsCarryMacs() {
    // authentication: signatures with protocol.signedVotes 0 (the replica process's default):
    // requests stay signed by their clients, the votes carry pair MACs as under MACs.
    assertCommitsCarryMacs(macs(6).authentication(Authentication.SIGNATURES).macVotes(true).build());
  }

  @Test
  void withSignedRequestsAndMacVotesAForgingPrimaryGetsNoneOfItsRequestsExecuted() {
    // The forging primary's made-up requests carry no valid client signature: every backup
    // refuses the pre-prepare, whatever authenticates the votes, and a view change replaces it.
    SimulationConfig config = macs(4).clients(4).opsPerClient(20).authentication(Authentication.SIGNATURES)
        .macVotes(true).traitor(0, random -> new ForgedRequests(random)).workload(Workload.Kind.BANK).build();
    SimulationResult result = Simulation.run(config);

    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
    assertSurvivorsAgree(result);
  }

  @Test
  void aReplicaThatMissedTheCommitsCatchesUpOnThePeersClaims() {
    // Replica 3 gets every PRE-PREPARE and PREPARE but no COMMIT for the first 0.4 s, so it commits
    // nothing itself and falls behind. MAC-authenticated COMMITs prove nothing to a third party,
    // so its peers answer its heartbeats with claims (certificates without commits), and it runs
    // a batch on f + 1 matching ones (or, once far behind, by state transfer).
    SimulationConfig config = macs(7).faults(Faults.none().drop(ReplicaMessage.BodyCase.COMMIT, Set.of(3), 0, 400))
        .build();
    Deliveries seen = new Deliveries();
    SimulationResult result = Simulation.run(config, seen);

    assertHealthy(config, result);
    assertSurvivorsAgree(result);
    assertTrue(seen.claimsTo3 > 0, () -> "claims " + seen.claimsTo3 + ", proofs " + seen.proofsTo3);
    assertEquals(0, seen.proofsTo3, "nobody holds 2f + 1 signed COMMITs");
  }
}

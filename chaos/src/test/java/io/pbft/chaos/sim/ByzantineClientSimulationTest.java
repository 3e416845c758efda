package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.traitor.Silent;
import io.pbft.config.Authentication;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Byzantine clients ({@link ClientBehaviours}) among honest ones: for each behaviour, runs over a
 * few fixed seeds in which no checker fires, every honest operation completes (within the
 * liveness bound, which the run checks), and the attack demonstrably happened (its own counts).
 */
class ByzantineClientSimulationTest {
  private static final int CLIENTS = 6;
  private static final int OPS = 30;

  private static SimulationConfig.Builder group(long seed, String behaviour) {
    return SimulationConfig.builder().seed(seed).clients(CLIENTS).opsPerClient(OPS).fastCrypto(true)
        .authentication(seed % 2 == 0 ? Authentication.MACS : Authentication.SIGNATURES).byzantineClient(behaviour);
  }

  /** No violation, and every honest client completed all of its operations. */
  private static SimulationResult runClean(SimulationConfig config) {
    SimulationResult result = Simulation.run(config);
    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
    assertEquals(0, result.opsIncomplete(), result::report);
    return result;
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void flooderSendsManyTimesAClosedLoopClientsRequestsAndTheOthersStillFinish(long seed) {
    SimulationResult result = runClean(group(seed, Flooder.NAME).build());

    ByzantineClientReport flooder = result.byzantineClient(Flooder.NAME);
    assertTrue(flooder.count("requests") >= 10 * OPS, flooder::toString);
    assertTrue(flooder.count("timestamps executed") > 0, flooder::toString);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void equivocatingClientsConflictingRequestsReachDifferentReplicasAndOneOfEachRuns(long seed) {
    SimulationResult result = runClean(group(seed, EquivocatingClient.NAME).build());

    ByzantineClientReport client = result.byzantineClient(EquivocatingClient.NAME);
    assertTrue(client.count("conflicting operations delivered") >= 3, client::toString);
    assertTrue(client.count("timestamps executed") > 0, client::toString);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void maxTimestampClientWedgesOnlyItself(long seed) {
    SimulationResult result = runClean(group(seed, MaxTimestampClient.NAME).build());

    ByzantineClientReport client = result.byzantineClient(MaxTimestampClient.NAME);
    assertTrue(client.count("requests near Long.MAX_VALUE") > 0, client::toString);
    assertTrue(client.count("requests at or past the sign bit") > 0, client::toString);
    assertEquals(1, client.count("executed at Long.MAX_VALUE"), client::toString);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void replayedRequestsThatExecutedBeforeDoNotRunAgain(long seed) {
    SimulationResult result = runClean(group(seed, Replayer.NAME).build());

    ByzantineClientReport replayer = result.byzantineClient(Replayer.NAME);
    assertTrue(replayer.count("replayed after it executed") > 0, replayer::toString);
    assertTrue(replayer.count("replayed from below a stable checkpoint") > 0, replayer::toString);
    assertTrue(replayer.count("refused") > 0, () -> "its own link carries no other client's request: " + replayer);
  }

  @Test
  void replayedRequestsAfterAViewChangeDoNotRunAgain() {
    // A silent primary: the group moves to view 1 while the replayer keeps view 0's requests.
    SimulationConfig config = group(4, Replayer.NAME).traitor(0, random -> new Silent()).build();
    SimulationResult result = Simulation.run(config);

    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
    assertTrue(result.maxView() >= 1, result::report);
    ByzantineClientReport replayer = result.byzantineClient(Replayer.NAME);
    assertTrue(replayer.count("replayed after a view change") > 0, replayer::toString);
    assertTrue(replayer.count("replayed after it executed") > 0, replayer::toString);
  }

  @ParameterizedTest
  @ValueSource(longs = {2, 4, 6})
  void macAuthenticatorsValidAtSomeReplicasOnlyDoNotStallTheOthers(long seed) {
    SimulationConfig config = group(seed, PartialAuthenticator.NAME).build();
    assertEquals(Authentication.MACS, config.authentication());
    SimulationResult result = runClean(config);

    ByzantineClientReport client = result.byzantineClient(PartialAuthenticator.NAME);
    assertTrue(client.count("split requests delivered") > 0, client::toString);
    assertTrue(result.verifierRejections().getOrDefault("no valid client MAC for this replica", 0L) > 0,
        result::report);
  }

  /**
   * Fuzz seeds in which, before replicas suspected such clients, an honest client never finished:
   * each replica held a request of the Byzantine client that only it could authenticate and, as
   * primary, batched it with the honest client's request, so every view's batch stalled (the
   * "big MAC attack"). Now its requests wait for f + 1 backups' relays after the first stall.
   */
  @ParameterizedTest
  @ValueSource(longs = {2097, 1271})
  void requestsOnlyThePrimaryCanAuthenticateStallOneBatchAtMost(long seed) {
    List<String> behaviours = seed == 2097 ? List.of(PartialAuthenticator.NAME) : ClientBehaviours.names();
    io.pbft.chaos.fuzz.FuzzRunner.Outcome outcome = io.pbft.chaos.fuzz.FuzzRunner.runOne(seed,
        new io.pbft.chaos.fuzz.ScenarioOptions(null, null, null, null, null, null, null, null, Authentication.MACS,
            null, behaviours), b -> { });
    assertTrue(!outcome.failed(), () -> io.pbft.chaos.fuzz.FuzzReport.failure(outcome));
    assertEquals(0, outcome.result().opsIncomplete(), outcome.result()::report);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 3})
  void signaturesBadAtSomeReplicasOnlyDoNotStallTheOthers(long seed) {
    SimulationConfig config = group(seed, PartialAuthenticator.NAME).build();
    assertEquals(Authentication.SIGNATURES, config.authentication());
    SimulationResult result = runClean(config);

    ByzantineClientReport client = result.byzantineClient(PartialAuthenticator.NAME);
    assertTrue(client.count("split requests delivered") > 0, client::toString);
    assertTrue(result.verifierRejections().getOrDefault("bad client signature", 0L) > 0, result::report);
  }

  @Test
  void everyBehaviourAtOnceAmongSevenReplicas() {
    SimulationConfig config = SimulationConfig.builder().seed(7).replicas(7).clients(CLIENTS).opsPerClient(OPS)
        .fastCrypto(true).authentication(Authentication.MACS).byzantineClients(ClientBehaviours.names()).build();
    SimulationResult result = runClean(config);

    assertEquals(ClientBehaviours.names(), result.byzantineClients().stream().map(ByzantineClientReport::behaviour)
        .toList());
    for (ByzantineClientReport c : result.byzantineClients()) {
      assertTrue(c.count("messages sent") > 0, c::toString);
    }
  }

  @Test
  void withRealEd25519() {
    SimulationConfig config = SimulationConfig.builder().seed(5).clients(4).opsPerClient(15).fastCrypto(false)
        .byzantineClients(List.of(Replayer.NAME, PartialAuthenticator.NAME, EquivocatingClient.NAME)).build();
    SimulationResult result = runClean(config);

    assertTrue(result.byzantineClient(Replayer.NAME).count("replayed after it executed") > 0, result::report);
    assertTrue(result.byzantineClient(PartialAuthenticator.NAME).count("split requests delivered") > 0,
        result::report);
    assertTrue(result.verifierRejections().getOrDefault("bad client signature", 0L) > 0, result::report);
  }

  @Test
  void aSeedWithByzantineClientsReplaysEventForEvent() {
    SimulationConfig config = SimulationConfig.builder().seed(9).clients(4).opsPerClient(20).fastCrypto(true)
        .authentication(Authentication.MACS).byzantineClients(ClientBehaviours.names()).build();
    SimulationResult first = Simulation.run(config);
    SimulationResult second = Simulation.run(config);

    assertTrue(first.ok(), first::report);
    assertEquals(first.fingerprintHex(), second.fingerprintHex());
    assertEquals(first.history(), second.history());
    assertEquals(first.byzantineClients(), second.byzantineClients());
  }
}

package io.pbft.chaos.traitor;

import io.pbft.config.Authentication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.sim.Faults;
import io.pbft.chaos.sim.Simulation;
import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.chaos.sim.SimulationResult;
import io.pbft.chaos.sim.Workload;
import io.pbft.replica.node.Behaviour;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;
import io.pbft.replica.verify.Rejection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every behaviour of the catalogue, as one traitor among four replicas (f = 1), in a scenario
 * where its lie matters: the group stays safe (agreement, exactly-once, validity, equal
 * checkpoints, linearizability, the bank's total) and live (every operation completes once the
 * faults heal), and the evidence shows that the lie was told and refused.
 */
class TraitorCatalogueTest {

  /** One behaviour's scenario: where the traitor sits, extra faults, and the evidence expected. */
  private record Case(String behaviour, int replica, Faults faults, Workload.Kind workload,
      Consumer<SimulationResult> evidence) {
    @Override
    public String toString() {
      return behaviour + " at replica " + replica;
    }
  }

  /** Rejections counted by correct replicas' cores, for reasons starting with {@code prefix}. */
  private static long rejected(SimulationResult r, String prefix) {
    return r.replicas().stream().filter(s -> "honest".equals(s.behaviour()))
        .flatMap(s -> s.rejections().entrySet().stream()).filter(e -> e.getKey().startsWith(prefix))
        .mapToLong(Map.Entry::getValue).sum();
  }

  /** Messages the inbound verifier refused, for reasons starting with {@code prefix}. */
  private static long refused(SimulationResult r, String prefix) {
    return r.verifierRejections().entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
        .mapToLong(Map.Entry::getValue).sum();
  }

  private static Consumer<SimulationResult> atLeastOne(String what, ToLongFunction<SimulationResult> count) {
    return r -> assertTrue(count.applyAsLong(r) > 0, () -> "expected " + what + ": " + r.report());
  }

  private static Faults primaryStall() {
    return Faults.none().pause(0, 400, 2_000);
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        new Case("silent", 0, Faults.none(), Workload.Kind.KV, atLeastOne("a view change", SimulationResult::maxView)),
        new Case("silent-to-some", 0, Faults.none(), Workload.Kind.BANK, r -> { }),
        // A primary that holds every message back for most of the timeout makes clients and backups
        // wait past it: the backups complain together and replace it.
        new Case("slow", 0, Faults.none(), Workload.Kind.KV,
            atLeastOne("a view change away from the slow primary", SimulationResult::maxView)),
        new Case("equivocating-primary", 0, Faults.none(), Workload.Kind.KV_SHARED,
            atLeastOne("a view change away from the equivocator", SimulationResult::maxView)),
        // A primary proposing batch times a day or a year off: the backups refuse those pre-prepares
        // (the agreed-time checker would see any that ran) and replace it.
        new Case("wild-clock", 0, Faults.none(), Workload.Kind.KV,
            r -> {
              assertTrue(rejected(r, Rejection.CLOCK_SKEW.label()) > 0, r::report);
              assertTrue(r.minView() >= 1, () -> "the wild primary was replaced: " + r.report());
            }),
        new Case("impostor-primary", 2, Faults.none(), Workload.Kind.KV,
            atLeastOne("refused pre-prepares", r -> rejected(r, Rejection.PRE_PREPARE_FROM_NON_PRIMARY.label()))),
        new Case("conflicting-votes", 2, Faults.none(), Workload.Kind.KV,
            atLeastOne("refused second votes", r -> rejected(r, "conflicting"))),
        new Case("wrong-digests", 0, Faults.none(), Workload.Kind.KV,
            atLeastOne("refused digests", r -> rejected(r, Rejection.DIGEST_MISMATCH.label()) + rejected(r, Rejection.MALFORMED.label()))),
        new Case("forged-requests", 0, Faults.none(), Workload.Kind.BANK,
            atLeastOne("refused requests", r -> refused(r, Rejection.EMBEDDED_INVALID_REQUEST.label()))),
        new Case("replay", 2, Faults.none().lossy(0.01, 0.1, 30, 0, Faults.UNTIL_HEALED), Workload.Kind.KV, r -> { }),
        new Case("stale-future", 2, Faults.none(), Workload.Kind.KV,
            atLeastOne("refused views and sequence numbers", r -> rejected(r, Rejection.WRONG_VIEW.label())
                + rejected(r, Rejection.OUTSIDE_WINDOW.label()))),
        new Case("forged-identity", 2, Faults.none(), Workload.Kind.KV,
            atLeastOne("refused forgeries", r -> refused(r, Rejection.BAD_SIGNATURE.label()) + refused(r, Rejection.UNKNOWN_SENDER.label()))),
        new Case("lying-replies", 2, Faults.none(), Workload.Kind.BANK, r -> { }),
        // Reads go read-only to every replica; the other three agree, so reads are still answered
        // without ordering, and never with the liar's value (the checker places each one).
        new Case("stale-reads", 2, Faults.none(), Workload.Kind.KV_SHARED,
            atLeastOne("reads answered read-only", SimulationResult::readOnlyAnswered)),
        // With replica 3 cut off, no checkpoint can become stable on the liar's word: the group
        // fills its window and waits for replica 3 rather than trust it.
        new Case("false-checkpoints", 2, Faults.none().partition(Set.of(3), true, 300, 2_000), Workload.Kind.KV,
            r -> { }),
        new Case("corrupt-state", 2, Faults.none().partition(Set.of(3), true, 300, 2_000), Workload.Kind.KV,
            r -> assertTrue(r.replica(3).stateTransfers() > 0, r::report)),
        // Replica 3, cut off, fetches state from replica 0 first: the staller, then someone else.
        new Case("trickling-state", 0, Faults.none().partition(Set.of(3), true, 300, 2_000), Workload.Kind.KV,
            r -> {
              assertTrue(r.replica(3).stateTransfers() > 0, r::report);
              assertTrue(rejected(r, Rejection.LYING_STATE_SOURCE.label()) + rejected(r, Rejection.STATE_SOURCE_SILENT.label())
                  > 0, r::report);
            }),
        new Case("oversized-state", 0, Faults.none().partition(Set.of(3), true, 300, 2_000), Workload.Kind.KV,
            r -> {
              assertTrue(r.replica(3).stateTransfers() > 0, r::report);
              assertTrue(rejected(r, Rejection.LYING_STATE_SOURCE.label()) > 0, r::report);
            }),
        new Case("lying-view-change", 2, primaryStall(), Workload.Kind.KV,
            atLeastOne("a view change", SimulationResult::maxView)),
        new Case("lying-new-view", 1, primaryStall(), Workload.Kind.KV,
            r -> assertTrue(r.minView() >= 2, () -> "the lying primary of view 1 was passed over: " + r.report())),
        new Case("flood", 2, Faults.none(), Workload.Kind.KV,
            atLeastOne("refused garbage", r -> refused(r, Rejection.MALFORMED.label()) + refused(r, Rejection.BAD_SIGNATURE.label())
                + refused(r, Rejection.OVERSIZED_MESSAGE.label()))),
        // ByzzFuzz-style mutations, as primary and as backup: what a mutated field breaks is
        // refused somewhere (a digest that does not match, a view or sequence number out of place)
        new Case("mutations", 0, Faults.none(), Workload.Kind.KV_SHARED,
            atLeastOne("refused mutations", r -> rejected(r, "") + refused(r, ""))),
        new Case("mutations", 2, Faults.none(), Workload.Kind.KV,
            atLeastOne("refused mutations", r -> rejected(r, "") + refused(r, ""))),
        new Case("twins", 0, Faults.none().lossy(0.01, 0.1, 20, 0, Faults.UNTIL_HEALED), Workload.Kind.KV, r -> { })
    ).flatMap(c -> Stream.of(Arguments.of(c, 1L), Arguments.of(c, 2L)));
  }

  @ParameterizedTest(name = "{0}, seed {1}")
  @MethodSource("cases")
  void oneTraitorCannotBreakSafetyOrLiveness(Case c, long seed) {
    SimulationResult result = runWithTraitor(c, seed * 1_000 + c.replica(), Authentication.SIGNATURES, false);
    assertEquals(c.behaviour(), result.replica(c.replica()).behaviour());
    c.evidence().accept(result);
  }

  /**
   * Every behaviour again with {@code authentication: macs}: requests carry authenticators, and a
   * batch holding a request a backup cannot authenticate waits for the primary and f backups to
   * vouch for it. What the traitor leaves as evidence differs between the modes (a forged request
   * is no longer refused by the verifier but never vouched for), so only the outcome is checked.
   */
  @ParameterizedTest(name = "{0}, seed {1}, macs")
  @MethodSource("cases")
  void oneTraitorCannotBreakSafetyOrLivenessWithMacs(Case c, long seed) {
    runWithTraitor(c, seed * 1_000 + 500 + c.replica(), Authentication.MACS, false);
  }

  /**
   * Every behaviour again with signed requests and MAC'd votes ({@code authentication: signatures},
   * {@code protocol.signedVotes} 0, what a replica process runs by default in that mode): the
   * requests are checked as with signatures, PREPAREs and COMMITs as with MACs, and a view change
   * is the MAC view change. Only the outcome is checked, as with MACs.
   */
  @ParameterizedTest(name = "{0}, seed {1}, signed requests, MAC'd votes")
  @MethodSource("cases")
  void oneTraitorCannotBreakSafetyOrLivenessWithSignedRequestsAndMacVotes(Case c, long seed) {
    runWithTraitor(c, seed * 1_000 + 700 + c.replica(), Authentication.SIGNATURES, false, true);
  }

  /**
   * Every behaviour again with the simulator's fast crypto (keyed hashes for signatures): the
   * traitor still holds its own key only, so the same evidence must show, forgeries refused as
   * bad signatures included.
   */
  @ParameterizedTest(name = "{0}, seed {1}, fast crypto")
  @MethodSource("cases")
  void oneTraitorCannotBreakSafetyOrLivenessWithFastCrypto(Case c, long seed) {
    SimulationResult result = runWithTraitor(c, seed * 1_000 + c.replica(), Authentication.SIGNATURES, true);
    c.evidence().accept(result);
  }

  /** Runs case {@code c}; asserts no checker fired and every operation completed. */
  private static SimulationResult runWithTraitor(Case c, long seed, Authentication authentication,
      boolean fastCrypto) {
    return runWithTraitor(c, seed, authentication, fastCrypto, false);
  }

  /** As above, with the votes MAC'd under signed requests when {@code macVotes}. */
  private static SimulationResult runWithTraitor(Case c, long seed, Authentication authentication,
      boolean fastCrypto, boolean macVotes) {
    SimulationConfig.Builder b = SimulationConfig.builder().seed(seed).clients(6).opsPerClient(25)
        .workload(c.workload()).faults(c.faults()).authentication(authentication).fastCrypto(fastCrypto)
        .macVotes(macVotes);
    if (c.behaviour().equals(Twins.NAME)) {
      b.twin(c.replica());
    } else {
      b.traitor(c.replica(), random -> Traitors.create(c.behaviour(),
          new Traitors.Context(c.replica(), 4, 1, random.nextLong())));
    }
    SimulationConfig config = b.build();
    SimulationResult result = Simulation.run(config);
    assertTrue(result.ok(), result::report);
    assertEquals(config.clients() * config.opsPerClient(), result.opsCompleted(), result::report);
    return result;
  }

  @Test
  void catalogueCoversEveryBehaviourTheIssueNames() {
    assertTrue(Traitors.names().containsAll(List.of("equivocating-primary", "conflicting-votes", "wrong-digests",
        "forged-requests", "replay", "stale-future", "forged-identity", "lying-replies", "stale-reads", "false-checkpoints",
        "trickling-state", "oversized-state", "mutations",
        "lying-view-change", "lying-new-view", "silent", "silent-to-some", "slow", "flood", "twins")),
        Traitors.names()::toString);
    for (Traitors.Entry e : Traitors.entries()) {
      Behaviour b = Traitors.create(e.name(), new Traitors.Context(1, 4, 1, 7));
      assertEquals(e.name(), b.name(), "each behaviour answers to its catalogue name");
    }
  }

  @Test
  void behavioursCombineWithPlusInTheOrderGiven() {
    Behaviour b = Traitors.create("silent-to-some + lying-replies", new Traitors.Context(0, 4, 1, 3));
    assertEquals("silent-to-some+lying-replies", b.name());
    assertEquals(List.of("silent-to-some", "lying-replies"), Traitors.parts("silent-to-some+lying-replies"));
    assertEquals(Traitors.Role.PRIMARY, Traitors.role("slow+flood"));
  }

  @Test
  void unknownBehaviourIsRefusedNamingTheKnownOnes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Traitors.create("silent+bogus", new Traitors.Context(0, 4, 1, 3)));
    assertTrue(e.getMessage().contains("bogus") && e.getMessage().contains("equivocating-primary"), e.getMessage());
  }

  @Test
  void slowTraitorStaysJustUnderTheViewChangeTimeout() {
    Slow slow = new Slow(1000, new java.util.Random(1));
    for (int i = 0; i < 100; i++) {
      long d = slow.delayMs(null);
      assertTrue(d >= 700 && d < 1000, "delay " + d);
    }
  }
}

package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pbft.chaos.traitor.Traitors;
import io.pbft.config.Authentication;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Read-only reads in the simulator: the clients send their reads read-only, and the
 * linearizability checker places each read-only result in the committed order's states within
 * its real-time window. With f replicas answering reads with stale or made-up values (and a
 * correct replica lagging besides) every read stays linearizable, because a client accepts only
 * 2f + 1 matching answers and otherwise orders the read; a client that accepts f + 1 is caught.
 */
class ReadOnlySimulationTest {

  private static SimulationConfig.Builder base(long seed) {
    return SimulationConfig.builder().seed(seed).clients(6).opsPerClient(40).workload(Workload.Kind.KV_SHARED);
  }

  /** Replica {@code id} of {@code n} answers reads with stale or made-up values. */
  private static SimulationConfig.Builder staleReads(SimulationConfig.Builder b, int id, int n) {
    return b.traitor(id, random -> Traitors.create("stale-reads",
        new Traitors.Context(id, n, (n - 1) / 3, random.nextLong())));
  }

  /** Replica 1 is cut off from the other replicas (not from the clients): it answers reads from an old state. */
  private static Faults replicaOneLags() {
    return Faults.none().partition(Set.of(1), false, 300, 3_000);
  }

  private static void allCompletedAndClean(SimulationConfig config, SimulationResult r) {
    assertTrue(r.ok(), r::report);
    assertEquals(config.clients() * config.opsPerClient(), r.opsCompleted(), r::report);
  }

  @Test
  void readsAreAnsweredReadOnlyAndStayLinearizable() {
    for (long seed = 1; seed <= 3; seed++) {
      SimulationConfig config = base(seed).build();
      SimulationResult r = Simulation.run(config);
      allCompletedAndClean(config, r);
      assertTrue(r.readOnlyAnswered() > 0, r::report);
    }
  }

  @Test
  void readsAreAnsweredReadOnlyWithMacsAndOnTheBank() {
    SimulationConfig macs = base(4).authentication(Authentication.MACS).build();
    SimulationResult r = Simulation.run(macs);
    allCompletedAndClean(macs, r);
    assertTrue(r.readOnlyAnswered() > 0, r::report);
    SimulationConfig bank = base(5).workload(Workload.Kind.BANK).build();
    SimulationResult b = Simulation.run(bank);
    allCompletedAndClean(bank, b);
    assertTrue(b.readOnlyAnswered() > 0, b::report);
  }

  @Test
  void withReadOnlyReadsOffEveryReadIsOrdered() {
    SimulationConfig config = base(6).readOnlyReads(false).build();
    SimulationResult r = Simulation.run(config);
    allCompletedAndClean(config, r);
    assertEquals(0, r.readOnlyAnswered(), r::report);
    assertTrue(r.readsOrdered() > 0, r::report);
  }

  @Test
  void aStaleReaderAndALaggingReplicaMakeReadsFallBackNeverGoStale() {
    for (long seed = 1; seed <= 3; seed++) {
      SimulationConfig config = staleReads(base(seed), 2, 4).faults(replicaOneLags()).build();
      SimulationResult r = Simulation.run(config);
      allCompletedAndClean(config, r);
      assertTrue(r.readsOrdered() > 0, () -> "reads fell back while replica 1 lagged: " + r.report());
      assertTrue(r.readOnlyAnswered() > 0, () -> "and were answered read-only otherwise: " + r.report());
    }
  }

  @Test
  void fStaleReadersOfSevenCannotMakeAReadStale() {
    for (long seed = 1; seed <= 2; seed++) {
      SimulationConfig.Builder b = base(seed).replicas(7);
      staleReads(b, 5, 7);
      staleReads(b, 6, 7);
      SimulationConfig config = b.build();
      SimulationResult r = Simulation.run(config);
      allCompletedAndClean(config, r);
      assertTrue(r.readOnlyAnswered() > 0, r::report);
    }
  }

  /**
   * The planted client bug: a read-only result accepted on f + 1 matching answers. The stale
   * reader and the lagging replica agree on an old value, and the checker must say so; the same
   * seed with 2f + 1 is clean.
   */
  @Test
  void aClientAcceptingFPlusOneReadAnswersIsCaught() {
    for (long seed = 1; seed <= 25; seed++) {
      SimulationConfig.Builder b = staleReads(base(seed), 2, 4).faults(replicaOneLags());
      SimulationConfig planted = b.readRepliesNeeded(2).build();
      SimulationResult bad = Simulation.run(planted);
      if (bad.ok()) {
        continue;
      }
      assertTrue(bad.violations().stream().anyMatch(v -> v.contains("read-only")), bad::report);
      SimulationConfig control = staleReads(base(seed), 2, 4).faults(replicaOneLags()).build();
      SimulationResult good = Simulation.run(control);
      allCompletedAndClean(control, good);
      System.out.printf("read-only quorum of f + 1 caught at seed %d: %s%n", seed, bad.violations().get(0));
      return;
    }
    fail("a client accepting f + 1 matching read-only answers was not caught in 25 seeds");
  }
}

package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.fuzz.FuzzReport;
import io.pbft.chaos.fuzz.FuzzRunner;
import io.pbft.chaos.fuzz.ScenarioOptions;
import org.junit.jupiter.api.Test;

/**
 * Regression test, a liveness bug the chaos harness found (fixed): one traitor that announces a CHECKPOINT far
 * ahead keeps a lagging correct replica from ever catching up.
 *
 * <p>Found as: {@code pbft chaos sim --seed 16001 --replicas 4 --traitors 1 --behaviour
 * stale-future --ops 100 --nemesis} (replayed below). Replica 3, cut off for a while, fetches the
 * state of stable checkpoint 36, which the others have discarded since (their stable checkpoint
 * is 48). They answer its fetches with the 2f + 1 CHECKPOINTs that prove 48, which it must collect
 * as votes (StateTransfer.noteAhead), one per replica: but the traitor (replica 0) had sent it a
 * validly signed CHECKPOINT for n = 56205, and noteAhead keeps only each replica's highest vote,
 * so the traitor's genuine vote for 48 (relayed inside the proof) is dropped. Only replicas 1 and
 * 2 vote for 48: fewer than 2f + 1. Replica 3 asks for 36 for ever (still after 120 s of quiet),
 * and the group has lost a correct replica to one traitor.
 *
 * <p>Fix: each replica keeps a few votes beyond the window (its two lowest and its highest),
 * not only its highest.
 */
class StateTransferStallTest {

  @Test
  void laggingReplicaCatchesUpWhateverCheckpointsATraitorAnnounces() {
    FuzzRunner.Outcome o = FuzzRunner.runOne(16001,
        new ScenarioOptions(4, 1, "stale-future", null, 100, null, null, true), b -> b.quietMs(30_000));
    assertTrue(!o.failed(), () -> FuzzReport.failure(o));
  }
}

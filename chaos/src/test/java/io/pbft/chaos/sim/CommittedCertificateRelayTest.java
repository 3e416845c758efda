package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.fuzz.FuzzReport;
import io.pbft.chaos.fuzz.FuzzRunner;
import io.pbft.chaos.fuzz.ScenarioOptions;
import org.junit.jupiter.api.Test;

/**
 * Regression test, a liveness bug the chaos harness found (fixed): a replica that committed a batch by a
 * committed certificate (or recovered it from its log) later serves certificates for it that do
 * not prove anything, so a replica further behind can never catch up that way.
 *
 * <p>Found as: {@code pbft chaos sim --seed 788} (traitor 3 lies about digests and checkpoints;
 * replica 0 restarts from its disk at the start, replica 2 pauses). Replica 0 ends at n = 112 for
 * good (still after 60 s of quiet) while the others are at 143: every COMMITTED certificate the
 * others send it is refused ("2 distinct commits, needs 2f+1 = 3"), and no newer checkpoint
 * becomes stable (the traitor's CHECKPOINTs never match, and replica 0 is the third correct
 * replica that would have to agree), so state transfer cannot help either.
 *
 * <p>Why: onCommittedCertificate marks the slot committed but keeps only the pre-prepare, not the
 * 2f + 1 commits that proved it; onHeartbeat then builds certificates from the slot's own commit
 * votes, which for such a slot are fewer than 2f + 1 (here: replica 1 holds 0's and 2's and a
 * wrong one from the traitor, and never sent its own). Slots recovered from the log after a
 * restart have no commit votes at all (replicas 1 and 2 refuse replica 0's certificates with
 * "0 distinct commits").
 *
 * <p>Fix: keep the proving commits with the slot when it commits by certificate
 * (and log them, or skip slots without them when serving), and serve only certificates with
 */
class CommittedCertificateRelayTest {

  @Test
  void replicaBehindCatchesUpFromCertificatesOthersCommittedByCertificate() {
    FuzzRunner.Outcome o = FuzzRunner.runOne(788, ScenarioOptions.random(), b -> b.quietMs(30_000));
    assertTrue(!o.failed(), () -> FuzzReport.failure(o));
  }
}

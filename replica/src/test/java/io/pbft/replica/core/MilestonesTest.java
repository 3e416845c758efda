package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.commit;
import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.core.Effects.Milestone;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The milestones a core reports for the runtime's phase latencies (it has no clock itself): one
 * when a batch is pre-prepared here, with its requests, and one when it commits here. Driven on a
 * bare core, because an inline replica takes the effects itself.
 */
class MilestonesTest {
  private final CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());

  private ReplicaCore core(int id) {
    return new ReplicaCore(id, fx.n, fx.f, fx.settings, fx.replicaKeys.get(id), c -> true);
  }

  private void deliver(ReplicaCore core, int sender, ReplicaMessage m) {
    core.onMessage(0, new VerifiedMessage(sender, m, fx.signed(sender, m), TestReplica.requestsOf(m)));
  }

  private static String describe(List<Milestone> milestones) {
    return milestones.stream().map(m -> m.kind() + " v" + m.view() + " n" + m.sequence() + " "
        + m.requests().stream().map(r -> r.clientId() + "/" + r.timestamp()).toList()).toList().toString();
  }

  @Test
  void aBackupReportsThePrePrepareWithItsRequestsThenTheCommit() {
    ReplicaCore backup = core(1);
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"), fx.request(1, 7, "b"));
    ByteString d = digest(batch);
    deliver(backup, 0, prePrepare(0, 1, batch));
    Effects accepted = backup.takeEffects();
    assertEquals("[PRE_PREPARED v0 n1 [0/1, 1/7]]", describe(accepted.milestones()));
    deliver(backup, 2, prepare(0, 1, d, 2));
    deliver(backup, 0, commit(0, 1, d, 0));
    assertEquals("[]", describe(backup.takeEffects().milestones()), "prepared, not committed yet");
    deliver(backup, 3, commit(0, 1, d, 3));
    Effects committed = backup.takeEffects();
    assertEquals("[COMMITTED v0 n1 []]", describe(committed.milestones()));
    assertEquals(1, committed.executions().size(), "handed out in the same effects");
  }

  @Test
  void thePrimaryReportsTheBatchItProposes() {
    ReplicaCore primary = core(0);
    SignedRequest r = fx.request(2, 5, "c");
    primary.onRequest(0, new VerifiedRequest(r, CoreFixture.parse(r)));
    Effects proposed = primary.takeEffects();
    assertEquals("[PRE_PREPARED v0 n1 [2/5]]", describe(proposed.milestones()));
  }

  @Test
  void milestonesAloneAskForNothing() {
    ReplicaCore backup = core(1);
    deliver(backup, 0, prePrepare(0, 1, List.of(fx.request(0, 1, "a"))));
    Effects e = backup.takeEffects();
    assertTrue(!e.milestones().isEmpty() && !e.isEmpty(), "the prepare goes out");
    assertTrue(backup.takeEffects().isEmpty(), "nothing since: empty, no milestones");
    assertTrue(backup.takeEffects().milestones().isEmpty());
  }
}

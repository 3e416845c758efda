package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.commit;
import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.payloadOf;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ProtocolSettings;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The request timer adapts to the agreement latency a backup observes (pre-prepare accepted to
 * committed), within [viewChangeTimeoutMinMs, viewChangeTimeoutMaxMs]: a primary that holds every
 * request back just under the configured timeout is suspected and cannot widen the timer by
 * delaying its own pre-prepares, while a group that is slow for everyone widens it.
 */
class AdaptiveTimerTest {
  private static final ProtocolSettings SETTINGS = ProtocolSettings.defaults().toBuilder()
      .viewChangeTimeoutMs(1000).viewChangeTimeoutMinMs(300).viewChangeTimeoutMaxMs(3000)
      .viewChangeTimeoutLatencyFactor(10).requestTimerWarmUpBatches(0).build();
  private final CoreFixture fx = new CoreFixture(4, SETTINGS);

  /**
   * Batch {@code seq} from client 2: its pre-prepare reaches the backup at {@code ppAt}, the
   * prepare and commits that complete it {@code agreementMs} later.
   */
  private void commitBatch(TestReplica backup, long seq, long ppAt, long agreementMs) {
    commitBatch(fx, backup, seq, ppAt, agreementMs);
  }

  private static void commitBatch(CoreFixture fx, TestReplica backup, long seq, long ppAt, long agreementMs) {
    List<SignedRequest> batch = List.of(fx.request(2, seq, "op" + seq));
    backup.tick(ppAt);
    fx.deliver(backup, 0, prePrepare(0, seq, batch));
    backup.tick(ppAt + agreementMs);
    completeAgreement(fx, backup, seq, batch);
  }

  /** Replica 2's prepare and the commits of replicas 0 and 2: with backup's own, batch seq commits. */
  private static void completeAgreement(CoreFixture fx, TestReplica backup, long seq, List<SignedRequest> batch) {
    fx.deliver(backup, 2, prepare(0, seq, digest(batch), 2));
    fx.deliver(backup, 0, commit(0, seq, digest(batch), 0));
    fx.deliver(backup, 2, commit(0, seq, digest(batch), 2));
  }

  /** The primary's pre-prepare for batch seq arrives now, and agreement completes at once. */
  private static void preparedAndCommitted(CoreFixture fx, TestReplica backup, long seq, List<SignedRequest> batch) {
    fx.deliver(backup, 0, prePrepare(0, seq, batch));
    completeAgreement(fx, backup, seq, batch);
  }

  private static boolean complained(TestReplica r) {
    return r.takeEffects().messages().stream().map(o -> payloadOf(o.message()))
        .anyMatch(ReplicaMessage::hasComplaint);
  }

  @Test
  void beforeAnyBatchCommittedTheConfiguredTimeoutApplies() {
    TestReplica backup = fx.core(1, new RecordingApp());
    assertEquals(1000, backup.core().requestTimeoutMs());
    assertEquals(0, backup.core().agreementLatencyMs());
  }

  @Test
  void aColdReplicaDoublesItsTimerForItsFirstBatchesWithinTheUpperBound() {
    CoreFixture warming = new CoreFixture(4, SETTINGS.toBuilder().requestTimerWarmUpBatches(3).build());
    TestReplica backup = warming.core(1, new RecordingApp());
    assertEquals(2000, backup.core().requestTimeoutMs(), "the configured 1000 ms, doubled before any batch");
    commitBatch(warming, backup, 1, 100, 60);
    commitBatch(warming, backup, 2, 300, 60);
    assertEquals(60, backup.core().agreementLatencyMs());
    assertEquals(1200, backup.core().requestTimeoutMs(), "10 x 60 ms, doubled: two of three warm-up batches");
    commitBatch(warming, backup, 3, 500, 60);
    assertEquals(600, backup.core().requestTimeoutMs(), "warm: 10 x 60 ms");

    CoreFixture slow = new CoreFixture(4, SETTINGS.toBuilder().requestTimerWarmUpBatches(3).build());
    TestReplica crawling = slow.core(1, new RecordingApp());
    commitBatch(slow, crawling, 1, 100, 250);
    assertEquals(3000, crawling.core().requestTimeoutMs(), "10 x 250 ms doubled is beyond the 3000 ms bound");
  }

  @Test
  void theWarmUpEndsAfterRequestTimerWarmUpMsEvenIfFewBatchesCommitted() {
    CoreFixture slowStart = new CoreFixture(4, SETTINGS.toBuilder().requestTimerWarmUpBatches(1000)
        .requestTimerWarmUpMs(5000).build());
    TestReplica backup = slowStart.core(1, new RecordingApp());
    backup.tick(20);
    commitBatch(slowStart, backup, 1, 100, 40);
    assertEquals(800, backup.core().requestTimeoutMs(), "10 x 40 ms, doubled");
    backup.tick(5000);
    assertEquals(800, backup.core().requestTimeoutMs(), "still within 5 s of its first tick");
    backup.tick(5040);
    assertEquals(400, backup.core().requestTimeoutMs(),
        "a primary slow from the start, which lets few batches commit, is timed normally after 5 s");
  }

  @Test
  void timerIsFactorTimesAgreementLatencyWithinBounds() {
    TestReplica fast = fx.core(1, new RecordingApp());
    commitBatch(fast, 1, 100, 10);
    assertEquals(10, fast.core().agreementLatencyMs());
    assertEquals(300, fast.core().requestTimeoutMs(), "10 x 10 ms is below the lower bound");

    TestReplica middling = fx.core(1, new RecordingApp());
    commitBatch(middling, 1, 100, 60);
    assertEquals(600, middling.core().requestTimeoutMs(), "10 x 60 ms");

    TestReplica slowGroup = fx.core(1, new RecordingApp());
    commitBatch(slowGroup, 1, 100, 150);
    assertEquals(1500, slowGroup.core().requestTimeoutMs(), "slow for everyone: beyond viewChangeTimeoutMs");

    TestReplica starved = fx.core(1, new RecordingApp());
    commitBatch(starved, 1, 100, 400);
    assertEquals(3000, starved.core().requestTimeoutMs(), "10 x 400 ms is above the upper bound");
  }

  @Test
  void slowerAgreementWidensTheTimerAtOnceAndFasterNarrowsItSlowly() {
    TestReplica backup = fx.core(1, new RecordingApp());
    commitBatch(backup, 1, 100, 20);
    commitBatch(backup, 2, 200, 100);
    assertEquals(60, backup.core().agreementLatencyMs(), "halfway from 20 to 100 in one batch");
    commitBatch(backup, 3, 400, 20);
    assertEquals(58, backup.core().agreementLatencyMs(), "a sixteenth of the way back down");
  }

  @Test
  void aColdGroupIsNotTakenForASlowPrimary() {
    // Start-up on a starved machine: the first batches take 250 ms to agree on at this backup.
    // A request the primary runs 1.5 s after it arrived is late for everyone, not the primary's doing.
    TestReplica backup = fx.core(1, new RecordingApp());
    commitBatch(backup, 1, 100, 250);
    SignedRequest waiting = fx.request(3, 1, "late");
    backup.tick(1_000);
    backup.onClientRequest(waiting, CoreFixture.parse(waiting));
    backup.takeEffects();
    backup.tick(2_500);
    preparedAndCommitted(fx, backup, 2, List.of(waiting));
    assertEquals(2, backup.lastExecuted());
    assertFalse(complained(backup), "the timer had widened to 2.5 s");
    assertEquals(0, backup.view());
  }

  @Test
  void primaryHoldingRequestsJustUnderTheConfiguredTimeoutIsSuspected() {
    TestReplica backup = fx.core(1, new RecordingApp());
    commitBatch(backup, 1, 100, 15); // the group agrees in 15 ms: the timer is at its 300 ms floor
    SignedRequest waiting = fx.request(3, 1, "held back");
    backup.tick(1_000);
    backup.onClientRequest(waiting, CoreFixture.parse(waiting)); // the client timed out and sent to all
    backup.takeEffects();
    backup.tick(1_290);
    assertFalse(complained(backup), "within the adaptive timeout");
    backup.tick(1_300);
    assertTrue(complained(backup), "the primary held it for 300 ms, 20 x what agreement takes here");
  }

  @Test
  void aFixedTimerLetsThatPrimaryStay() {
    // The same primary against a timer that does not adapt (its floor at its ceiling): the
    // request runs 900 ms after it arrived, under the 1000 ms timeout, and nobody complains.
    CoreFixture fixed = new CoreFixture(4, SETTINGS.toBuilder().viewChangeTimeoutMinMs(1000).build());
    TestReplica backup = fixed.core(1, new RecordingApp());
    SignedRequest waiting = fixed.request(3, 1, "held back");
    backup.tick(1_000);
    backup.onClientRequest(waiting, CoreFixture.parse(waiting));
    backup.takeEffects();
    backup.tick(1_900);
    preparedAndCommitted(fixed, backup, 1, List.of(waiting));
    assertEquals(1, backup.lastExecuted());
    assertFalse(complained(backup));
  }

  @Test
  void thePrimarysOwnDelayDoesNotWidenTheTimer() {
    TestReplica backup = fx.core(1, new RecordingApp());
    commitBatch(backup, 1, 100, 15);
    // The primary pre-prepares each request 900 ms after the client sent it; agreement itself
    // still takes 15 ms, so the estimate, and the timer, stay where they were.
    for (int seq = 2; seq <= 6; seq++) {
      commitBatch(backup, seq, 1_000L * seq + 900, 15);
    }
    assertEquals(15, backup.core().agreementLatencyMs());
    assertEquals(300, backup.core().requestTimeoutMs());
  }

  /**
   * The primary's part ends when a request commits: a backup whose executor lags (a busy machine)
   * does not blame the primary for its own backlog, however long execution takes. A batch that
   * does not commit still gets the primary suspected.
   */
  @Test
  void aLaggingExecutorIsNotTakenForASlowPrimary() {
    TestReplica backup = fx.core(1, new RecordingApp());
    commitBatch(backup, 1, 100, 10);
    assertEquals(300, backup.core().requestTimeoutMs());
    backup.takeEffects();
    backup.executorLags(true);
    SignedRequest waiting = fx.request(3, 1, "slowly executed");
    backup.onClientRequestSentToAll(waiting, CoreFixture.parse(waiting));
    backup.tick(250);
    preparedAndCommitted(fx, backup, 2, List.of(waiting));
    backup.tick(3000);
    assertFalse(complained(backup), "committed at 250 ms; execution lagging 2.75 s is this replica's own delay");
    assertEquals(1, backup.core().lastExecuted(), "the executor has not reported batch 2");
    backup.executorLags(false);
    backup.tick(3020);
    assertEquals(2, backup.core().lastExecuted());
    assertTrue(backup.takeEffects().replies().stream().anyMatch(r -> r.clientId() == 3), "the client gets its reply");

    TestReplica stuck = fx.core(1, new RecordingApp());
    commitBatch(stuck, 1, 100, 10);
    stuck.takeEffects();
    SignedRequest notCommitted = fx.request(3, 1, "never committed");
    stuck.onClientRequestSentToAll(notCommitted, CoreFixture.parse(notCommitted));
    stuck.tick(250);
    fx.deliver(stuck, 0, prePrepare(0, 2, List.of(notCommitted)));
    stuck.tick(3000);
    assertTrue(complained(stuck), "pre-prepared but never committed: the primary is suspected");
  }
}

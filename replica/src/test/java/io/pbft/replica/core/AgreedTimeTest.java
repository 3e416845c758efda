package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.commit;
import static io.pbft.replica.core.CoreFixture.payloadOf;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.crypto.Digests;
import io.pbft.proto.Batch;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.verify.Rejection;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The agreed time of batches: the primary proposes, backups check it against their clocks, and
 * the executor keeps it strictly increasing (docs/PROTOCOL.md, "Agreed time").
 */
class AgreedTimeTest {
  private static final int SKEW = 1000;
  private final CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults().toBuilder().clockSkewMs(SKEW).build());

  private static ReplicaMessage prePrepareAt(long view, long seq, List<SignedRequest> requests, long timeMs) {
    return ReplicaMessage.newBuilder().setPrePrepare(PrePrepare.newBuilder().setView(view).setSequence(seq)
        .setDigest(ByteString.copyFrom(Digests.batchDigest(requests, timeMs)))
        .setBatch(Batch.newBuilder().addAllRequests(requests)).setTimeMs(timeMs)).build();
  }

  private static List<PrePrepare> prePrepares(Effects e) {
    return e.messages().stream().map(o -> payloadOf(o.message())).filter(ReplicaMessage::hasPrePrepare)
        .map(ReplicaMessage::getPrePrepare).toList();
  }

  private static boolean prepared(Effects e) {
    return e.messages().stream().map(o -> payloadOf(o.message())).anyMatch(ReplicaMessage::hasPrepare);
  }

  @Test
  void primaryProposesItsClockNeverGoingBack() {
    TestReplica primary = fx.core(0, new RecordingApp());
    primary.tick(50_000);
    SignedRequest a = fx.request(0, 1, "a");
    primary.onClientRequest(a, CoreFixture.parse(a));
    PrePrepare first = prePrepares(primary.takeEffects()).get(0);
    assertEquals(50_000, first.getTimeMs(), "its own clock");
    assertEquals(ByteString.copyFrom(Digests.batchDigest(List.of(a), 50_000)), first.getDigest(),
        "the digest covers the time");
    // Commit the first (the pipeline allows one batch in flight); the clock then goes back (an NTP
    // step): the next proposal does not.
    for (int r = 1; r <= 2; r++) {
      fx.deliver(primary, r, prepare(0, 1, first.getDigest(), r));
    }
    for (int r = 1; r <= 2; r++) {
      fx.deliver(primary, r, commit(0, 1, first.getDigest(), r));
    }
    primary.core().wallClock(50_000, 49_000);
    SignedRequest b = fx.request(1, 1, "b");
    primary.onClientRequest(b, CoreFixture.parse(b));
    PrePrepare second = prePrepares(primary.takeEffects()).get(0);
    assertEquals(50_000, second.getTimeMs(), "not below the previous proposal");
    // The clock moves on: the proposal follows it.
    for (int r = 1; r <= 2; r++) {
      fx.deliver(primary, r, prepare(0, 2, second.getDigest(), r));
    }
    for (int r = 1; r <= 2; r++) {
      fx.deliver(primary, r, commit(0, 2, second.getDigest(), r));
    }
    primary.tick(53_000);
    SignedRequest c = fx.request(2, 1, "c");
    primary.onClientRequest(c, CoreFixture.parse(c));
    assertEquals(52_000, prePrepares(primary.takeEffects()).get(0).getTimeMs(), "wall clock = event clock - 1000");
  }

  @Test
  void backupPreparesATimeWithinTheSkewOfItsClockAndRefusesOneOutside() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(100_000);
    backup.takeEffects();
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));

    long before = backup.rejections().get(Rejection.CLOCK_SKEW);
    fx.deliver(backup, 0, prePrepareAt(0, 1, batch, 100_000 + SKEW + 1));
    assertFalse(prepared(backup.takeEffects()), "a time too far ahead is not prepared");
    fx.deliver(backup, 0, prePrepareAt(0, 2, batch, 100_000 - SKEW - 1));
    assertFalse(prepared(backup.takeEffects()), "a time too far behind is not prepared");
    fx.deliver(backup, 0, prePrepareAt(0, 3, batch, Long.MAX_VALUE));
    fx.deliver(backup, 0, prePrepareAt(0, 4, batch, -5));
    assertFalse(prepared(backup.takeEffects()));
    assertEquals(before + 4, backup.rejections().get(Rejection.CLOCK_SKEW));

    fx.deliver(backup, 0, prePrepareAt(0, 5, batch, 100_000 + SKEW));
    assertTrue(prepared(backup.takeEffects()), "at the edge of the skew: prepared");
    fx.deliver(backup, 0, prePrepareAt(0, 7, List.of(fx.request(1, 1, "b")), 100_000 - SKEW));
    assertTrue(prepared(backup.takeEffects()));
  }

  /**
   * Within a view, a primary's proposals never go back: a backup refuses a time earlier than the
   * batch before it or later than the batch after it (whichever it holds), accepts an equal one,
   * and compares nothing across views (a new primary's clock may lag the old one's).
   */
  @Test
  void aBackupRefusesATimeThatGoesBackWithinAView() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(100_000);
    backup.takeEffects();
    fx.deliver(backup, 0, prePrepareAt(0, 1, List.of(fx.request(0, 1, "a")), 100_200));
    assertTrue(prepared(backup.takeEffects()));
    fx.deliver(backup, 0, prePrepareAt(0, 2, List.of(fx.request(1, 1, "b")), 100_100));
    assertFalse(prepared(backup.takeEffects()), "earlier than the batch before it");
    assertEquals(1, backup.rejections().get(Rejection.TIME_GOES_BACK));
    fx.deliver(backup, 0, prePrepareAt(0, 4, List.of(fx.request(2, 1, "c")), 100_300));
    assertTrue(prepared(backup.takeEffects()), "nothing held at 3: compared with nothing");
    fx.deliver(backup, 0, prePrepareAt(0, 3, List.of(fx.request(3, 1, "d")), 100_400));
    assertFalse(prepared(backup.takeEffects()), "later than the batch after it");
    fx.deliver(backup, 0, prePrepareAt(0, 3, List.of(fx.request(3, 1, "d")), 100_200));
    assertTrue(prepared(backup.takeEffects()), "equal to the one before it: several batches in one millisecond");
    assertEquals(2, backup.rejections().get(Rejection.TIME_GOES_BACK));
  }

  /**
   * After a pause of its own (every replica stopped together, say), a backup finds pre-prepares in
   * its sockets as old as the pause: the time it did not run does not count against them, whether
   * it handles them before the tick that notices the pause or after. Proposals older than the skew
   * before the pause began are still refused.
   */
  @Test
  void timeThisBackupDidNotRunDoesNotCountAgainstAProposal() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(100_000);
    backup.takeEffects();
    long pause = 3 * SKEW;
    backup.pauseUntil(100_000 + pause);
    long before = backup.rejections().get(Rejection.CLOCK_SKEW);
    fx.deliver(backup, 0, prePrepareAt(0, 1, List.of(fx.request(0, 1, "a")), 100_000));
    assertTrue(prepared(backup.takeEffects()), "handled before the tick that notices the pause");
    backup.tickOnce(100_000 + pause + 10);
    // (sequence numbers apart, so that no proposal is compared with its neighbour's time)
    fx.deliver(backup, 0, prePrepareAt(0, 3, List.of(fx.request(1, 1, "b")), 100_000 - SKEW + 5));
    assertTrue(prepared(backup.takeEffects()), "handled after it: the pause is remembered");
    fx.deliver(backup, 0, prePrepareAt(0, 5, List.of(fx.request(2, 1, "c")), 100_000 - SKEW - 20));
    assertFalse(prepared(backup.takeEffects()), "older than the skew before the pause began");
    assertEquals(before + 1, backup.rejections().get(Rejection.CLOCK_SKEW));
    // Long after a pause, a proposal older than the skew is refused again: the primary's clock is
    // then behind, not this replica (another backup, with no requests waiting to expire timers).
    TestReplica later = fx.core(2, new RecordingApp());
    later.tick(100_000);
    later.pauseUntil(100_000 + pause);
    later.tick(100_000 + pause + 5 * SKEW);
    later.takeEffects();
    long now = 100_000 + pause + 5 * SKEW;
    fx.deliver(later, 0, prePrepareAt(0, 1, List.of(fx.request(3, 1, "d")), now - SKEW - 20));
    assertFalse(prepared(later.takeEffects()));
    assertEquals(1, later.rejections().get(Rejection.CLOCK_SKEW));
  }

  @Test
  void aPrePrepareWhoseTimeDoesNotMatchItsDigestIsRefused() {
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tick(10_000);
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"));
    ReplicaMessage honest = prePrepareAt(0, 1, batch, 10_000);
    ReplicaMessage retimed = honest.toBuilder().setPrePrepare(honest.getPrePrepare().toBuilder().setTimeMs(10_001))
        .build();
    long before = backup.rejections().get(Rejection.DIGEST_MISMATCH);
    fx.deliver(backup, 0, retimed);
    assertEquals(before + 1, backup.rejections().get(Rejection.DIGEST_MISMATCH),
        "prepares name the digest only, so the digest must bind the time");
  }

  @Test
  void executedTimesAreTheProposedOnesKeptStrictlyIncreasing() {
    RecordingApp app = new RecordingApp();
    TestReplica backup = fx.core(1, app);
    backup.tick(20_000);
    long[] proposed = {20_000, 20_000, 20_400}; // one millisecond for two batches
    for (int s = 1; s <= 3; s++) {
      List<SignedRequest> batch = List.of(fx.request(0, s, "op" + s));
      ReplicaMessage pp = prePrepareAt(0, s, batch, proposed[s - 1]);
      ByteString d = pp.getPrePrepare().getDigest();
      fx.deliver(backup, 0, pp);
      fx.deliver(backup, 2, prepare(0, s, d, 2));
      fx.deliver(backup, 3, prepare(0, s, d, 3));
      fx.deliver(backup, 0, commit(0, s, d, 0));
      fx.deliver(backup, 2, commit(0, s, d, 2));
    }
    assertEquals(3, backup.lastExecuted());
    assertEquals(List.of(20_000L, 20_001L, 20_400L), app.contexts.stream().map(c -> c.timeMillis()).toList(),
        "a time equal to the previous batch's becomes the previous plus one");
    assertEquals(20_400, backup.execution().lastTimeMs());
    assertFalse(java.util.Arrays.equals(app.contexts.get(0).seed(), app.contexts.get(1).seed()));
  }

  @Test
  void twoReplicasExecutingTheSameBatchesGetTheSameContexts() {
    RecordingApp a = new RecordingApp();
    RecordingApp b = new RecordingApp();
    TestReplica one = fx.core(1, a);
    TestReplica two = fx.core(2, b);
    one.tick(30_000);
    two.tick(30_500); // another clock, within the skew
    for (int s = 1; s <= 2; s++) {
      List<SignedRequest> batch = List.of(fx.request(0, s, "op" + s));
      ReplicaMessage pp = prePrepareAt(0, s, batch, 30_200 + s);
      ByteString d = pp.getPrePrepare().getDigest();
      for (TestReplica r : List.of(one, two)) {
        fx.deliver(r, 0, pp);
        fx.deliver(r, 3, prepare(0, s, d, 3));
        fx.deliver(r, r == one ? 2 : 1, prepare(0, s, d, r == one ? 2 : 1));
        fx.deliver(r, 0, commit(0, s, d, 0));
        fx.deliver(r, 3, commit(0, s, d, 3));
      }
    }
    assertEquals(2, a.contexts.size());
    assertEquals(a.contexts, b.contexts, "equal sequence, view, time and seed");
    assertArrayEquals(a.contexts.get(1).seed(), b.contexts.get(1).seed());
    assertEquals(a.contexts.get(1).random().nextLong(), b.contexts.get(1).random().nextLong());
  }
}

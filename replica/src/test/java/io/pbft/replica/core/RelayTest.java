package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.payloadOf;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pbft.config.ProtocolSettings;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A backup relaying clients' requests to the primary: at most one per client and relay interval. */
class RelayTest {
  private static final int INTERVAL = ProtocolSettings.defaults().relayIntervalMs();

  /** The timestamps of the requests {@code backup} relayed to the primary (replica 0) since last asked. */
  private static List<Long> relayed(TestReplica backup) {
    return backup.takeEffects().messages().stream()
        .filter(o -> o.to() == 0)
        .map(o -> payloadOf(o.message()))
        .filter(ReplicaMessage::hasForwardedRequest)
        .map(m -> CoreFixture.parse(m.getForwardedRequest().getRequest()).getTimestamp())
        .toList();
  }

  private static void receive(TestReplica backup, SignedRequest r) {
    backup.onClientRequest(r, CoreFixture.parse(r));
  }

  @Test
  void aBurstFromOneClientIsRelayedAsItsFirstAndThenOnlyItsNewest() {
    CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());
    TestReplica backup = fx.core(1, new RecordingApp());
    receive(backup, fx.request(0, 1, "first"));
    assertEquals(List.of(1L), relayed(backup), "the first goes at once");
    for (long t = 2; t <= 50; t++) {
      receive(backup, fx.request(0, t, "flood " + t));
    }
    receive(backup, fx.request(1, 1, "another client"));
    assertEquals(List.of(1L), relayed(backup), "another client's request is not held back by the burst");
    backup.tick(INTERVAL - 20);
    assertEquals(List.of(), relayed(backup), "within the interval nothing more of client 0 goes");
    backup.tick(INTERVAL + 20);
    assertEquals(List.of(50L), relayed(backup), "once the interval is over, only the newest");
    backup.tick(5L * INTERVAL);
    assertEquals(List.of(), relayed(backup), "and nothing again until the client sends again");
  }

  @Test
  void aRetransmissionAfterTheIntervalIsRelayedAtOnce() {
    CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());
    TestReplica backup = fx.core(2, new RecordingApp());
    SignedRequest r = fx.request(0, 7, "a");
    receive(backup, r);
    assertEquals(List.of(7L), relayed(backup));
    backup.tick(3L * INTERVAL);
    SignedRequest next = fx.request(0, 8, "b");
    receive(backup, next);
    assertEquals(List.of(8L), relayed(backup), "a client that sends no faster than the interval never waits");
  }

  @Test
  void aZeroIntervalRelaysEveryRequest() {
    CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults().toBuilder().relayIntervalMs(0).build());
    TestReplica backup = fx.core(3, new RecordingApp());
    for (long t = 1; t <= 5; t++) {
      receive(backup, fx.request(0, t, "op" + t));
    }
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), relayed(backup));
  }

  @Test
  void aHeldRequestAlreadyOrderedIsNotRelayed() {
    CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());
    TestReplica backup = fx.core(1, new RecordingApp());
    receive(backup, fx.request(0, 1, "first"));
    SignedRequest second = fx.request(0, 2, "second");
    receive(backup, second);
    assertEquals(List.of(1L), relayed(backup));
    // The primary had the second one from the client: it pre-prepares it before the interval ends.
    fx.deliver(backup, 0, CoreFixture.prePrepare(0, 1, List.of(second)));
    backup.takeEffects();
    backup.tick(INTERVAL + 20);
    assertEquals(List.of(), relayed(backup), "being ordered already: relaying it would be wasted");
  }

  /**
   * A request the client sent to every replica is only watched by a backup, since the primary has
   * it from the client; but a primary may hold a request until backups relay it (it could not
   * authenticate it, or suspects its client), and the client retransmits later than the backups'
   * timer runs out. Not pre-prepared halfway to the timeout, it is relayed, once.
   */
  @Test
  void aWatchedRequestNotPrePreparedHalfwayToTheTimeoutIsRelayedOnce() {
    CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());
    TestReplica backup = fx.core(1, new RecordingApp());
    SignedRequest r = fx.request(0, 1, "sent to all");
    backup.onClientRequestSentToAll(r, CoreFixture.parse(r));
    long half = backup.requestTimeoutMs() / 2;
    assertEquals(List.of(), relayed(backup), "the primary has it from the client");
    backup.tick(half - TestReplica.TICK_MS);
    assertEquals(List.of(), relayed(backup), "still well within the timer: only watched");
    backup.tick(half + TestReplica.TICK_MS);
    assertEquals(List.of(1L), relayed(backup), "halfway to the timeout and not pre-prepared: relayed");
    backup.tick(2 * half - TestReplica.TICK_MS);
    assertEquals(List.of(), relayed(backup), "relayed once, not at every tick");
  }

  @Test
  void aWatchedRequestPrePreparedInTimeIsNeverRelayed() {
    CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());
    TestReplica backup = fx.core(1, new RecordingApp());
    SignedRequest r = fx.request(0, 1, "sent to all");
    backup.onClientRequestSentToAll(r, CoreFixture.parse(r));
    fx.deliver(backup, 0, CoreFixture.prePrepare(0, 1, List.of(r)));
    backup.takeEffects();
    backup.tick(backup.requestTimeoutMs() - TestReplica.TICK_MS);
    assertEquals(List.of(), relayed(backup));
  }
}

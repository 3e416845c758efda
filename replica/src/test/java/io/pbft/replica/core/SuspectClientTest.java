package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.payloadOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ProtocolSettings;
import com.google.protobuf.ByteString;
import io.pbft.proto.Complaint;
import io.pbft.proto.ForwardedRequest;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.ViewChange;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * With MACs a client can make authenticators whose entries check at some replicas only. A request
 * only the primary can authenticate stalls the batch it lands in (backups prepare it only once f
 * + 1 replicas vouch); one the primary cannot authenticate reaches it only relayed. Either way the
 * primary orders such a request only once f + 1 backups relayed it, at least one of them correct
 * and holding it from its client (f if it authenticated the request itself).
 */
class SuspectClientTest {
  private static final ProtocolSettings SETTINGS = ProtocolSettings.defaults();

  /** A request as a replica sees it when its own authenticator entry does not check. */
  private static SignedRequest unauthenticated(SignedRequest r) {
    return r.toBuilder().clearSignature().clearAuthenticator().build();
  }

  private static ReplicaMessage forwarded(SignedRequest r) {
    return ReplicaMessage.newBuilder().setForwardedRequest(ForwardedRequest.newBuilder().setRequest(r)).build();
  }

  /** Sequence numbers of the pre-prepares {@code primary} sent since last asked, with their first request's client. */
  private static List<Integer> prePreparedClients(TestReplica primary) {
    return primary.takeEffects().messages().stream().map(o -> payloadOf(o.message()))
        .filter(ReplicaMessage::hasPrePrepare)
        .map(m -> CoreFixture.parse(m.getPrePrepare().getBatch().getRequests(0)).getClientId())
        .distinct().toList();
  }

  @Test
  void aRelayedRequestThePrimaryCannotAuthenticateWaitsForFPlusOneBackups() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica primary = fx.core(0, new RecordingApp());
    SignedRequest r = unauthenticated(fx.request(2, 1, "valid at the backups only"));
    fx.deliver(primary, 1, forwarded(r));
    assertEquals(List.of(), prePreparedClients(primary), "one relay may come from a faulty backup");
    fx.deliver(primary, 1, forwarded(r));
    assertEquals(List.of(), prePreparedClients(primary), "the same backup twice is still one");
    fx.deliver(primary, 3, forwarded(r));
    assertEquals(List.of(2), prePreparedClients(primary), "f + 1 = 2 backups relayed it: ordered");
  }

  @Test
  void aRelayedRequestThePrimaryAuthenticatedItselfIsOrderedAtOnce() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica primary = fx.core(0, new RecordingApp());
    fx.deliver(primary, 1, forwarded(fx.request(2, 1, "valid everywhere")));
    assertEquals(List.of(2), prePreparedClients(primary));
    assertEquals(0, primary.suspectedClients());
  }

  @Test
  void aBackupThatCouldNotAuthenticateARequestSuspectsItsClientForAWhile() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica backup = fx.core(1, new RecordingApp());
    SignedRequest honest = fx.request(3, 1, "honest");
    SignedRequest partial = unauthenticated(fx.request(2, 1, "valid at the primary only"));
    fx.deliver(backup, 0, CoreFixture.prePrepare(0, 1, List.of(honest, partial)));
    assertEquals(1, backup.suspectedClients(), "client 2, not client 3");
    backup.takeEffects();
    long suspicion = (long) Requests.SUSPICION_VIEW_CHANGE_TIMEOUTS * SETTINGS.viewChangeTimeoutMs();
    backup.tickOnce(suspicion + 1);
    assertEquals(0, backup.suspectedClients(), "suspicion ends");
  }

  private static SignedMessage viewChangeTo1(CoreFixture fx, int sender) {
    List<SignedMessage> evidence = List.of(1, 2).stream().map(r -> fx.signed(r, ReplicaMessage.newBuilder()
        .setComplaint(Complaint.newBuilder().setView(0).setReplicaId(r)).build())).toList();
    ViewChange vc = ViewChange.newBuilder().setNewView(1).setReplicaId(sender).setStableSequence(0)
        .setStableDigest(ByteString.EMPTY).addAllComplaints(evidence).build();
    return fx.signed(sender, ReplicaMessage.newBuilder().setViewChange(vc).build());
  }

  @Test
  void asTheNextPrimaryItOrdersASuspectedClientsRequestOnlyOnceRelayed() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica replica = suspectingAfterAPrePrepare(fx, 1); // the primary of view 1
    for (int sender : new int[] {2, 3}) {
      SignedMessage vc = viewChangeTo1(fx, sender);
      replica.onMessage(sender, payloadOf(vc), vc);
    }
    assertEquals(1, replica.view());
    replica.takeEffects();

    SignedRequest next = fx.request(2, 2, "y");
    replica.onClientRequest(next, CoreFixture.parse(next));
    assertEquals(List.of(), prePreparedClients(replica), "straight from a suspected client: it waits");
    assertEquals(0, replica.pendingRequests());
    fx.deliver(replica, 2, forwarded(next));
    assertEquals(List.of(2), prePreparedClients(replica),
        "authenticated here and relayed by f backups: f + 1 replicas hold it, ordered");
    SignedRequest other = fx.request(3, 1, "an unsuspected client");
    replica.onClientRequest(other, CoreFixture.parse(other));
    assertEquals(1, replica.pendingRequests(), "another client's request is queued at once (behind the batch in flight)");
  }

  private static ReplicaMessage heartbeat(int replica, List<Integer> suspectedClients) {
    return ReplicaMessage.newBuilder().setHeartbeat(io.pbft.proto.Heartbeat.newBuilder().setReplicaId(replica)
        .addAllSuspectedClients(suspectedClients)).build();
  }

  /**
   * Replica 1 hears heartbeats from replicas 2 and 3 naming the clients they suspect first-hand,
   * and becomes the primary of view 1 on their VIEW-CHANGEs.
   */
  private static TestReplica nextPrimaryAfterHeartbeats(CoreFixture fx, List<Integer> namedBy2, List<Integer> namedBy3) {
    TestReplica replica = fx.core(1, new RecordingApp());
    fx.deliver(replica, 2, heartbeat(2, namedBy2));
    fx.deliver(replica, 3, heartbeat(3, namedBy3));
    for (int sender : new int[] {2, 3}) {
      SignedMessage vc = viewChangeTo1(fx, sender);
      replica.onMessage(sender, payloadOf(vc), vc);
    }
    assertEquals(1, replica.view());
    replica.takeEffects();
    return replica;
  }

  /**
   * A client the heartbeats of f + 1 replicas name is suspected by the next primary too, though no
   * pre-prepare showed it anything: it holds the client's requests until backups relay them.
   * Without that each primary in turn proposed a request of the client that it alone could check,
   * and one client cost a view change per primary (simulator seed 2390, n = 5).
   */
  @Test
  void theNextPrimarySuspectsAClientThatFPlusOneHeartbeatsName() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica primary = nextPrimaryAfterHeartbeats(fx, List.of(2), List.of(2, 3));
    assertEquals(1, primary.suspectedClients(), "client 2, named twice; client 3, named once, is not");
    SignedRequest fromSuspected = fx.request(2, 1, "valid here");
    primary.onClientRequest(fromSuspected, CoreFixture.parse(fromSuspected));
    assertEquals(List.of(), prePreparedClients(primary), "held until relayed");
    SignedRequest fromNamedOnce = fx.request(3, 1, "valid here");
    primary.onClientRequest(fromNamedOnce, CoreFixture.parse(fromNamedOnce));
    assertEquals(List.of(3), prePreparedClients(primary), "one replica's word is not enough: ordered at once");
  }

  @Test
  void aHeartbeatThatNoLongerNamesAClientWithdrawsItsSendersWord() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica primary = nextPrimaryAfterHeartbeats(fx, List.of(2), List.of(2));
    assertEquals(1, primary.suspectedClients());
    fx.deliver(primary, 3, heartbeat(3, List.of()));
    assertEquals(0, primary.suspectedClients(), "replica 3 stopped suspecting client 2: one word left");
    SignedRequest r = fx.request(2, 1, "valid here");
    primary.onClientRequest(r, CoreFixture.parse(r));
    assertEquals(List.of(2), prePreparedClients(primary));
  }

  @Test
  void aHeartbeatNamingTooManyClientsIsRefusedAndCountsForNothing() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica replica = fx.core(1, new RecordingApp());
    List<Integer> many = new java.util.ArrayList<>(java.util.Collections.nCopies(Requests.REPORTED_SUSPICIONS_MAX, 3));
    many.add(2);
    fx.deliver(replica, 2, heartbeat(2, many));
    fx.deliver(replica, 3, heartbeat(3, List.of(2)));
    assertEquals(1, replica.rejections().get(io.pbft.replica.verify.Rejection.TOO_MANY_ENTRIES));
    assertEquals(0, replica.suspectedClients(), "the refused heartbeat's names count for nothing");
  }

  @Test
  void heartbeatsNamingAClientCountOnlyWhileFresh() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica replica = fx.core(1, new RecordingApp());
    fx.deliver(replica, 2, heartbeat(2, List.of(2)));
    fx.deliver(replica, 3, heartbeat(3, List.of(2)));
    assertEquals(1, replica.suspectedClients());
    replica.tickOnce(3L * SETTINGS.viewChangeTimeoutMs());
    assertEquals(0, replica.suspectedClients(), "not repeated for three heartbeat periods: no longer counted");
  }

  /** A replica's heartbeats name the clients it suspects first-hand, and only while it does. */
  @Test
  void aReplicasHeartbeatsNameTheClientsItSuspects() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.tickOnce(1);
    assertEquals(List.of(), heartbeatsSent(backup).get(0).getSuspectedClientsList());
    long at = 1 + SETTINGS.viewChangeTimeoutMs() / 2;
    backup.tickOnce(at);
    fx.deliver(backup, 0, CoreFixture.prePrepare(0, 1, List.of(unauthenticated(fx.request(2, 1, "x")))));
    backup.takeEffects();
    backup.tickOnce(SETTINGS.viewChangeTimeoutMs() + 2);
    assertEquals(List.of(2), heartbeatsSent(backup).get(0).getSuspectedClientsList());
    backup.tickOnce(at + (long) Requests.SUSPICION_VIEW_CHANGE_TIMEOUTS * SETTINGS.viewChangeTimeoutMs() + 1);
    assertEquals(List.of(), heartbeatsSent(backup).get(0).getSuspectedClientsList(), "suspicion over: named no more");
  }

  /** A replica that begins to suspect a client says so in a heartbeat at once. */
  @Test
  void aReplicaThatBeginsToSuspectAClientSendsAHeartbeatNamingItAtOnce() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica backup = fx.core(1, new RecordingApp());
    backup.takeEffects();
    fx.deliver(backup, 0, CoreFixture.prePrepare(0, 1, List.of(unauthenticated(fx.request(2, 1, "x")))));
    List<io.pbft.proto.Heartbeat> sent = heartbeatsSent(backup);
    assertEquals(1, sent.size());
    assertEquals(List.of(2), sent.get(0).getSuspectedClientsList());
    fx.deliver(backup, 0, CoreFixture.prePrepare(0, 2, List.of(unauthenticated(fx.request(2, 2, "y")))));
    assertEquals(List.of(), heartbeatsSent(backup), "already suspected: nothing new to tell");
  }

  private static List<io.pbft.proto.Heartbeat> heartbeatsSent(TestReplica r) {
    return r.takeEffects().messages().stream().map(o -> payloadOf(o.message()))
        .filter(ReplicaMessage::hasHeartbeat).map(ReplicaMessage::getHeartbeat).toList();
  }

  /**
   * A suspicion outlasts the view changes the client causes: it lasts 30 view-change timeouts as
   * the backoff has them. With a fixed 30 configured timeouts, five failed views with doubling
   * timers outlasted it and every new primary had forgotten the client (simulator seed 992, n = 5).
   */
  @Test
  void aSuspicionLastsThirtyTimeoutsAtTheBackoffInForce() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica backup = suspectingAfterAPrePrepare(fx, 1);
    // The group leaves view 0 and then view 1 without progress: the timeout has doubled once.
    for (long v : new long[] {0, 1}) {
      for (int r : new int[] {2, 3}) {
        fx.deliver(backup, r, CoreFixture.complaint(v, r));
      }
    }
    assertTrue(backup.core().viewChanging());
    long configured = (long) Requests.SUSPICION_VIEW_CHANGE_TIMEOUTS * SETTINGS.viewChangeTimeoutMs();
    backup.tickOnce(configured + 1);
    assertEquals(1, backup.suspectedClients(), "30 configured timeouts passed, but the timeout has doubled since");
    backup.tickOnce(2 * configured + 1);
    assertEquals(0, backup.suspectedClients(), "30 doubled timeouts: it ends");
  }

  /**
   * Relays a backup received before it became primary count once it is: backups relay a suspected
   * client's request to every replica, the next primaries included. Kept only by a primary, they
   * were lost at a view change, and the new primary held the request back until the client sent
   * it again.
   */
  @Test
  void aNewPrimaryOrdersOnRelaysItReceivedAsABackup() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica replica = suspectingAfterAPrePrepare(fx, 1); // the primary of view 1
    SignedRequest next = fx.request(2, 2, "valid here and at backup 3");
    replica.onClientRequestSentToAll(next, CoreFixture.parse(next));
    fx.deliver(replica, 3, forwarded(next));
    for (int sender : new int[] {2, 3}) {
      SignedMessage vc = viewChangeTo1(fx, sender);
      replica.onMessage(sender, payloadOf(vc), vc);
    }
    assertEquals(1, replica.view());
    List<Long> proposed = replica.takeEffects().messages().stream().map(o -> payloadOf(o.message()))
        .filter(ReplicaMessage::hasPrePrepare).flatMap(m -> m.getPrePrepare().getBatch().getRequestsList().stream())
        .map(r -> CoreFixture.parse(r).getTimestamp() * 10 + CoreFixture.parse(r).getClientId()).toList();
    assertTrue(proposed.contains(22L), "client 2's t=2, held here and relayed by f backups, is proposed: " + proposed);
  }

  /** The pre-prepares {@code primary} sent since last asked. */
  private static List<io.pbft.proto.PrePrepare> prePrepares(TestReplica primary) {
    return primary.takeEffects().messages().stream().map(o -> payloadOf(o.message()))
        .filter(ReplicaMessage::hasPrePrepare).map(ReplicaMessage::getPrePrepare).toList();
  }

  private static List<Integer> clientsOf(io.pbft.proto.PrePrepare pp) {
    return pp.getBatch().getRequestsList().stream().map(r -> CoreFixture.parse(r).getClientId()).sorted().toList();
  }

  /** The backups prepare and commit {@code pp} at {@code primary}: it commits and executes. */
  private static void agree(CoreFixture fx, TestReplica primary, io.pbft.proto.PrePrepare pp) {
    for (int backup : new int[] {2, 3}) {
      fx.deliver(primary, backup, CoreFixture.prepare(pp.getView(), pp.getSequence(), pp.getDigest(), backup));
    }
    for (int backup : new int[] {2, 3}) {
      fx.deliver(primary, backup, CoreFixture.commit(pp.getView(), pp.getSequence(), pp.getDigest(), backup));
    }
  }

  /**
   * Each relayed request is held by the backups that relayed it: two in one batch, relayed by
   * different backups, leave no backup able to authenticate the whole batch, so none prepares it
   * and the group changes view. Seen with the partial-authenticator-client bench fault (two
   * requests of one suspected client, each valid at the primary and a different backup). The
   * primary puts them in different batches.
   */
  @Test
  void requestsRelayedByDifferentBackupsGoInDifferentBatches() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica replica = fx.core(1, new RecordingApp()); // the primary of view 1
    fx.deliver(replica, 0, CoreFixture.prePrepare(0, 1, List.of(unauthenticated(fx.request(2, 1, "x")),
        unauthenticated(fx.request(3, 1, "y")))));
    assertEquals(2, replica.suspectedClients());
    for (int sender : new int[] {2, 3}) {
      SignedMessage vc = viewChangeTo1(fx, sender);
      replica.onMessage(sender, payloadOf(vc), vc);
    }
    assertEquals(1, replica.view());
    replica.takeEffects();

    SignedRequest honest = fx.request(0, 1, "honest");
    replica.onClientRequest(honest, CoreFixture.parse(honest));
    List<io.pbft.proto.PrePrepare> inFlight = prePrepares(replica);
    assertEquals(1, inFlight.size(), "the honest request goes out at once");
    // While that batch is in flight, two suspected clients' requests come in, each valid here
    // and relayed by one backup, a different one: both are queued.
    fx.deliver(replica, 2, forwarded(fx.request(2, 2, "valid here and at backup 2")));
    fx.deliver(replica, 3, forwarded(fx.request(3, 2, "valid here and at backup 3")));
    SignedRequest honestToo = fx.request(0, 2, "honest again");
    replica.onClientRequest(honestToo, CoreFixture.parse(honestToo));
    assertEquals(3, replica.pendingRequests());

    agree(fx, replica, inFlight.get(0));
    List<io.pbft.proto.PrePrepare> next = prePrepares(replica);
    assertEquals(1, next.size(), "pipeline depth 1");
    List<Integer> clients = clientsOf(next.get(0));
    assertTrue(clients.equals(List.of(0, 2)) || clients.equals(List.of(0, 3)),
        "the honest request and one relayed request: " + clients);
    assertEquals(1, replica.pendingRequests(), "the other relayed request waits for the next batch");

    agree(fx, replica, next.get(0));
    List<io.pbft.proto.PrePrepare> last = prePrepares(replica);
    assertEquals(1, last.size());
    assertEquals(List.of(clients.contains(2) ? 3 : 2), clientsOf(last.get(0)), "the other one, leading the next batch");
  }

  /**
   * At a cold start, clients whose sessions to the primary are not up yet reach it only through
   * the backups' relays, every backup relaying each of them. Requests relayed by the same f + 1
   * backups share a batch: those backups authenticated them all and prepare it at once. With one
   * such request per batch, the last of twenty clients waited twenty batches, longer than the
   * backups' request timer, and the group changed view without a fault.
   */
  @Test
  void requestsRelayedByTheSameFPlusOneBackupsShareABatch() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica primary = fx.core(0, new RecordingApp());
    SignedRequest first = fx.request(0, 1, "first client, no session to the primary yet");
    primary.onClientRequest(first, CoreFixture.parse(first));
    List<io.pbft.proto.PrePrepare> inFlight = prePrepares(primary);
    assertEquals(1, inFlight.size());
    // While that batch is in flight: three clients the primary cannot authenticate, the first two
    // relayed by backups 1 and 2, the third by backups 2 and 3 (it shares only backup 2 with them).
    SignedRequest a = unauthenticated(fx.request(1, 1, "a"));
    SignedRequest b = unauthenticated(fx.request(2, 1, "b"));
    SignedRequest c = unauthenticated(fx.request(3, 1, "c"));
    for (int backup : new int[] {1, 2}) {
      fx.deliver(primary, backup, forwarded(a));
      fx.deliver(primary, backup, forwarded(b));
    }
    for (int backup : new int[] {2, 3}) {
      fx.deliver(primary, backup, forwarded(c));
    }
    assertEquals(3, primary.pendingRequests(), "each relayed by f + 1 backups: all three queued");

    agree(fx, primary, inFlight.get(0));
    List<io.pbft.proto.PrePrepare> next = prePrepares(primary);
    assertEquals(1, next.size(), "pipeline depth 1");
    assertEquals(List.of(1, 2), clientsOf(next.get(0)),
        "clients 1 and 2, relayed by the same two backups, ride together; client 3 shares one backup with them");
    assertEquals(1, primary.pendingRequests());

    agree(fx, primary, next.get(0));
    List<io.pbft.proto.PrePrepare> last = prePrepares(primary);
    assertEquals(1, last.size());
    assertEquals(List.of(3), clientsOf(last.get(0)), "client 3 leads the next batch");
    assertEquals(0, primary.pendingRequests());
  }

  /**
   * A backup that suspects a client relays its requests at once, even those the client sent to
   * every replica: a primary that suspects the client too orders them only once backups relay
   * them, and waiting for the client's retransmission outlasts the backups' timer. Seen when
   * honest clients' first requests reached the primary with MACs for few replicas (their sessions
   * were still coming up): after the primary crashed, every new primary held those clients'
   * requests and the group changed view again and again.
   */
  @Test
  void aBackupRelaysASuspectedClientsRequestAtOnceThoughTheClientSentItToAll() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica backup = suspectingAfterAPrePrepare(fx, 1);
    backup.takeEffects();
    SignedRequest suspectedNext = fx.request(2, 2, "y");
    backup.onClientRequestSentToAll(suspectedNext, CoreFixture.parse(suspectedNext));
    SignedRequest other = fx.request(3, 1, "z");
    backup.onClientRequestSentToAll(other, CoreFixture.parse(other));
    List<Effects.Outgoing> relays = backup.takeEffects().messages().stream()
        .filter(o -> payloadOf(o.message()).hasForwardedRequest()).toList();
    List<Integer> relayedClients = relays.stream()
        .map(o -> CoreFixture.parse(payloadOf(o.message()).getForwardedRequest().getRequest()).getClientId()).toList();
    assertEquals(List.of(2), relayedClients, "the suspected client's request is relayed; the other is watched");
    assertTrue(relays.get(0).broadcast(), "to every replica: the primary orders it, the backups learn who holds it");
  }

  /**
   * A suspected client that sends a newer request while its older one waits has dropped the older
   * one itself (a correct client waits for each reply): its newest request is timed from its own
   * arrival. Seen with the partial-authenticator-client bench fault, one request every 20 ms,
   * each with an authenticator that checks at a different few replicas, many of them impossible
   * to order: the backups timed each newest request from the first one still waiting, complained
   * together and changed view a second time, while every other client was served. Any other
   * client's wait goes on from its older request (the replica may lag behind the reply the client
   * got from others).
   */
  @Test
  void aSuspectedClientsNewerRequestIsTimedFromItsOwnArrival() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    assertTrue(complainsAtFirstLook(fx, 3), "client 3 is not suspected: its wait runs from its first request");
    assertFalse(complainsAtFirstLook(fx, 2), "client 2 is suspected: the newest request waited a quarter of the timeout");
  }

  /**
   * A backup commits a batch holding a request of client 2 that it could not authenticate (so it
   * suspects client 2); then {@code client} sends a request, and a newer one three quarters of the
   * request timeout later. Returns whether the backup complained a little after one timeout from
   * the first; asserts that it complains once the newer request has waited a whole timeout.
   */
  private static boolean complainsAtFirstLook(CoreFixture fx, int client) {
    TestReplica backup = suspectingClient2(fx);
    long timeout = backup.core().requestTimeoutMs();
    long firstAt = 100;
    backup.tick(firstAt);
    SignedRequest first = fx.request(client, 2, "never ordered");
    backup.onClientRequestSentToAll(first, CoreFixture.parse(first));
    long newerAt = firstAt + timeout * 3 / 4;
    backup.tick(newerAt);
    SignedRequest newer = fx.request(client, 3, "sent while the first still waits");
    backup.onClientRequestSentToAll(newer, CoreFixture.parse(newer));
    // Another backup holds the newer request too (it relays a suspected client's requests to all),
    // so a correct primary could order it: its wait counts (see the test below).
    fx.deliver(backup, 3, forwarded(newer));
    backup.tick(firstAt + timeout + 3 * TestReplica.TICK_MS);
    boolean early = complained(backup);
    backup.tick(newerAt + timeout + 3 * TestReplica.TICK_MS);
    assertTrue(early || complained(backup), "the newest request waited a whole timeout: the primary is suspected");
    return early;
  }

  /**
   * A suspected client can make its authenticator check at one backup only, a different backup
   * for each request: no primary can order such a request (it needs f + 1 backups to hold it), and
   * when every correct backup waited on one of them, their complaints added up to view changes
   * that went on after the client had stopped (simulator seed 136, n = 4, MACs, a
   * partial-authenticator client: five). Such a request counts against the primary only once f
   * other replicas relayed the same one, timed from when they had.
   */
  @Test
  void aSuspectedClientsRequestThatNoOtherReplicaHoldsDoesNotCountAgainstThePrimary() {
    CoreFixture fx = new CoreFixture(4, SETTINGS);
    TestReplica backup = suspectingClient2(fx);
    long timeout = backup.core().requestTimeoutMs();
    backup.tick(100);
    SignedRequest alone = fx.request(2, 2, "valid at this backup only");
    backup.onClientRequestSentToAll(alone, CoreFixture.parse(alone));
    backup.takeEffects();
    backup.tick(100 + 3 * timeout);
    assertFalse(complained(backup), "no primary could have ordered it: no complaint after three timeouts");

    long heldAt = 100 + 3 * timeout + TestReplica.TICK_MS;
    backup.tick(heldAt);
    SignedRequest older = fx.request(2, 1, "an older one");
    fx.deliver(backup, 2, forwarded(unauthenticated(older)));
    fx.deliver(backup, 3, forwarded(unauthenticated(fx.request(2, 3, "a newer one, valid elsewhere"))));
    backup.tick(heldAt + 2 * timeout);
    assertFalse(complained(backup), "the relays name other requests than the one waiting here");

    long sameAt = heldAt + 2 * timeout + TestReplica.TICK_MS;
    SignedRequest newest = fx.request(2, 4, "valid here and at replica 3");
    backup.tick(sameAt);
    backup.onClientRequestSentToAll(newest, CoreFixture.parse(newest));
    fx.deliver(backup, 3, forwarded(unauthenticated(newest)));
    backup.tick(sameAt + timeout / 2);
    assertFalse(complained(backup), "half a timeout after f others held it: not yet");
    backup.tick(sameAt + timeout + 3 * TestReplica.TICK_MS);
    assertTrue(complained(backup), "f + 1 backups hold it and no primary ordered it for a timeout: complain");
  }

  /** Replica {@code id}, having accepted view 0's pre-prepare of a request of client 2 it could not authenticate. */
  private static TestReplica suspectingAfterAPrePrepare(CoreFixture fx, int id) {
    TestReplica replica = fx.core(id, new RecordingApp());
    fx.deliver(replica, 0, CoreFixture.prePrepare(0, 1, List.of(unauthenticated(fx.request(2, 1, "x")))));
    assertEquals(1, replica.suspectedClients());
    return replica;
  }

  /** Backup 1, having committed a batch with a request of client 2 it could not authenticate. */
  private static TestReplica suspectingClient2(CoreFixture fx) {
    TestReplica backup = fx.core(1, new RecordingApp());
    List<SignedRequest> partial = List.of(unauthenticated(fx.request(2, 1, "valid at the primary only")));
    fx.deliver(backup, 0, CoreFixture.prePrepare(0, 1, partial));
    for (int r : new int[] {2, 3}) {
      fx.deliver(backup, r, CoreFixture.prepare(0, 1, CoreFixture.digest(partial), r));
    }
    for (int r : new int[] {0, 2}) {
      fx.deliver(backup, r, CoreFixture.commit(0, 1, CoreFixture.digest(partial), r));
    }
    assertEquals(1, backup.core().lastExecuted(), "vouched for by f others, the batch committed");
    assertEquals(1, backup.suspectedClients());
    backup.takeEffects();
    return backup;
  }

  private static boolean complained(TestReplica r) {
    return r.takeEffects().messages().stream().map(o -> payloadOf(o.message()))
        .anyMatch(ReplicaMessage::hasComplaint);
  }
}

package io.pbft.replica.core;

import io.pbft.proto.ForwardedRequest;
import io.pbft.proto.Reply;
import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.verify.Rejection;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntPredicate;
import java.util.function.LongSupplier;

/**
 * Client requests on their way into the protocol (sections 4.1, 4.2 and 4.4): exactly-once
 * admission against the client table, the primary's queue of requests waiting for a batch,
 * forwarding to the primary, and the requests whose execution this replica waits for (they arm
 * its view-change timer).
 */
final class Requests {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Requests.class);

  private final ReplicaState state;
  private final Outbox outbox;
  private final ClientTable clients;
  private final IntPredicate knownClient;
  private final Rules rules;

  /** Primary: requests waiting for a batch, per client, taken round-robin. */
  private final BatchQueue batchQueue;
  /**
   * Per client, the newest timestamp this replica has queued, seen pre-prepared or forwarded and
   * not yet seen executed: a request at or below it needs nothing new sent.
   */
  private final Map<Integer, Long> ordering = new HashMap<>();
  /**
   * Per client, the newest request this replica received itself (from the client or relayed) and
   * has not seen executed, and since when that client waits for progress. While any waits at a
   * backup, its view-change timer runs.
   */
  private final Map<Integer, Awaited> awaited = new HashMap<>();

  private record Awaited(VerifiedRequest request, long sinceMs) {}

  /**
   * Per client, the newest timestamp committed here, kept until the executor's client table
   * catches up (then the table says the same): a request at or below it is ordered already.
   */
  private final Map<Integer, Long> committedUpTo = new HashMap<>();

  /** Backup: per client, when it last relayed one of that client's requests to the primary. */
  private final Map<Integer, Long> lastRelayMs = new HashMap<>();
  /**
   * Backup: clients with a request that came within relayIntervalMs of the last relay; when the
   * interval ends, the newest awaited request of each is relayed ({@link #relayDue}).
   */
  private final Set<Integer> relayDeferred = new LinkedHashSet<>();

  /**
   * Suspected clients (MAC authentication), until when: this replica accepted a pre-prepare
   * carrying a request of theirs that it could not authenticate. Either the client sent an
   * authenticator whose entries check for some replicas only (to stall every batch its request
   * lands in: a batch prepares only once f + 1 replicas vouch for each of its requests) or the
   * primary tampered with the request; either way, as primary this replica then orders that
   * client's requests only once f + 1 backups relayed them (see {@link #routeToPrimary}).
   * Kept as when the suspicion was last renewed; how long it lasts is {@link #suspicionSpanMs}.
   */
  private final Map<Integer, Long> suspectedSinceMs = new HashMap<>();
  /** Per client, the replicas whose heartbeats name it as suspected, and when they last did. */
  private final Map<Integer, Map<Integer, Long>> reportedBy = new HashMap<>();
  /** How many suspected clients a heartbeat names at most; a peer's heartbeat with more is refused. */
  static final int REPORTED_SUSPICIONS_MAX = 32;
  /** This replica began to suspect a client first-hand since the last {@link #takeNewSuspicion}. */
  private boolean newSuspicion;
  /**
   * Per client, the newest request of it that other replicas relayed here, who relayed it, and
   * since when f of them had (Long.MAX_VALUE: not yet). Kept in every role and whether or not the
   * client is suspected yet: as primary it is what a suspected client's request is ordered on
   * ({@link #relayedByEnough}), as backup what makes such a request count against the primary
   * ({@link #owedSinceMs}). Every relay names a holder: a backup passes on only requests it
   * authenticated itself (what reaches it unchecked, in a pre-prepare or relayed to it as the next
   * primary, it does not pass on as a backup). Kept only while primary and suspecting, relays
   * that arrived before either were lost: a replica that became primary held a suspected client's
   * request back until the client sent it again, though backups had relayed it to every replica.
   */
  private final Map<Integer, HeldByPeers> heldByPeers = new HashMap<>();

  private static final class HeldByPeers {
    final long timestamp;
    final Set<Integer> peers = new HashSet<>();
    long enoughSinceMs = Long.MAX_VALUE;

    HeldByPeers(long timestamp) {
      this.timestamp = timestamp;
    }
  }

  /**
   * How long a client stays suspected after its last unauthenticated request, in view-change
   * timeouts as the backoff of consecutive view changes has them (see {@link #suspicionSpanMs}).
   */
  static final int SUSPICION_VIEW_CHANGE_TIMEOUTS = 30;

  /** The view-change timeout in force: the configured one, doubled per consecutive view change. */
  private final LongSupplier viewChangeTimeoutMs;

  Requests(ReplicaState state, Outbox outbox, IntPredicate knownClient, Rules rules, LongSupplier viewChangeTimeoutMs) {
    this.state = state;
    this.outbox = outbox;
    this.knownClient = knownClient;
    this.rules = rules;
    this.viewChangeTimeoutMs = viewChangeTimeoutMs;
    this.batchQueue = new BatchQueue(state.settings.clientRequestsQueuedMax(), state.settings.pendingRequestsMax());
    this.clients = new ClientTable(state.id);
  }

  ClientTable clients() {
    return clients;
  }

  int queued() {
    return batchQueue.size();
  }

  boolean anyAwaited() {
    return !awaited.isEmpty();
  }

  /**
   * Since when the longest-waiting client waits for progress that a correct primary owes it;
   * Long.MAX_VALUE if none waits (see {@link #owedSinceMs}).
   */
  /**
   * The requests this replica holds and has not seen executed: queued for a batch (at a primary)
   * and awaited (at a backup), each once. For the next configuration epoch's core, which orders
   * them in its turn.
   */
  List<VerifiedRequest> unexecuted() {
    Map<String, VerifiedRequest> out = new java.util.LinkedHashMap<>();
    for (VerifiedRequest r : batchQueue.all()) {
      out.putIfAbsent(r.clientId() + "/" + r.timestamp(), r);
    }
    for (Awaited a : awaited.values()) {
      out.putIfAbsent(a.request().clientId() + "/" + a.request().timestamp(), a.request());
    }
    List<VerifiedRequest> fresh = new ArrayList<>();
    for (VerifiedRequest r : out.values()) {
      if (r.timestamp() > clients.lastTimestamp(r.clientId())) {
        fresh.add(r);
      }
    }
    return fresh;
  }

  long oldestAwaitedSinceMs() {
    long oldest = Long.MAX_VALUE;
    for (Map.Entry<Integer, Awaited> e : awaited.entrySet()) {
      oldest = Math.min(oldest, owedSinceMs(e.getKey(), e.getValue()));
    }
    return oldest;
  }

  /**
   * Since when a correct primary could have ordered {@code a}, the request this backup awaits
   * from {@code clientId}; Long.MAX_VALUE while it could not, so that the wait does not count
   * against the primary. For a client this replica does not suspect, since the request arrived.
   * A suspected client's request is ordered only on relays (a correct primary waits for f
   * backups' relays, f + 1 if it cannot check the request itself; see Rules#relaysNeeded), and a
   * client that makes its authenticators check at one backup each
   * can leave a different request of its own waiting at every correct backup, none of which any
   * primary can order: timed from arrival, their waits added up to f + 1 complaints in view
   * after view (simulator seed 136, n = 4, MACs, a partial-authenticator client: five view
   * changes after the client had stopped). So such a request counts once f other replicas
   * relayed the same one here ({@link #onForwarded}), from when the f-th did: then f + 1 backups
   * hold it, enough for a correct primary to order it whether or not it can check it. A correct client
   * framed by a faulty primary sends each request to every replica, so its correct backups all
   * hold it, relay it to one another and still complain together.
   */
  private long owedSinceMs(int clientId, Awaited a) {
    if (!suspected(clientId) || state.primary() == state.id) {
      return a.sinceMs();
    }
    HeldByPeers held = heldByPeers.get(clientId);
    if (held == null || held.timestamp != a.request().timestamp() || held.enoughSinceMs == Long.MAX_VALUE) {
      return Long.MAX_VALUE;
    }
    return Math.max(a.sinceMs(), held.enoughSinceMs);
  }

  /**
   * The longest-waiting client and what it waits for, for the log when this replica complains:
   * "client C t=T waiting W ms", or "nothing awaited".
   */
  String longestWait() {
    Map.Entry<Integer, Awaited> oldest = null;
    long oldestSince = Long.MAX_VALUE;
    for (Map.Entry<Integer, Awaited> e : awaited.entrySet()) {
      long since = owedSinceMs(e.getKey(), e.getValue());
      if (oldest == null || since < oldestSince) {
        oldest = e;
        oldestSince = since;
      }
    }
    if (oldest == null || oldestSince == Long.MAX_VALUE) {
      return "nothing awaited";
    }
    int c = oldest.getKey();
    VerifiedRequest r = oldest.getValue().request();
    Long inOrder = ordering.get(c);
    return "client " + c + " t=" + r.timestamp() + " waiting " + (state.nowMs - oldestSince) + " ms ("
        + (inOrder != null && inOrder >= r.timestamp() ? "pre-prepared" : "not pre-prepared") + " here"
        + (r.authenticated() ? "" : ", its MAC for this replica does not check")
        + (suspected(c) ? ", client suspected" : "") + ", committed up to t=" + committedUpTo(c) + "), "
        + awaited.size() + " clients waiting";
  }

  /** This replica stalled for {@code stallMs} after {@code stallStartMs}: waits do not count it. */
  void shift(long stallMs, long stallStartMs) {
    awaited.replaceAll((c, a) -> a.sinceMs() <= stallStartMs ? new Awaited(a.request(), a.sinceMs() + stallMs) : a);
  }

  Reply lastReply(int clientId) {
    return clients.lastReply(clientId, state.view);
  }

  /**
   * A request from a client (verified by the runtime). The primary queues it for a batch; a
   * backup waits for it to execute, and passes it on to the primary unless the client sent it to
   * every replica at once ({@code sentToAll}: its first send, which the primary has too).
   */
  /**
   * Whether this replica holds {@code r} as its client sent it to this replica (authenticated on
   * its own session): the same bytes as the request it awaits from that client.
   */
  boolean heldFromClient(VerifiedRequest r) {
    Awaited known = awaited.get(r.clientId());
    return known != null && known.request().authenticated() && rules.sameRequest(known.request(), r);
  }

  void onRequest(VerifiedRequest r, boolean sentToAll) {
    if (r.request().getReadOnly()) {
      // Read-only requests go to the executor (ReadOnlyQueries), never into ordering: here one
      // would count as the client's newest request and displace an ordered one it waits for.
      outbox.reject(Rejection.READ_ONLY_AT_CORE, "client %d t=%d", r.clientId(), r.timestamp());
      return;
    }
    if (!acceptable(r, "client request")) {
      return;
    }
    int c = r.clientId();
    long t = r.timestamp();
    long last = clients.lastTimestamp(c);
    if (t == last) {
      // Retransmission of the request executed last: send the cached reply again.
      Reply cached = clients.lastReply(c, state.view);
      if (cached != null) {
        outbox.reply(new Effects.ClientReply(c, cached));
      }
      return;
    }
    if (t < last) {
      outbox.reject(Rejection.STALE_TIMESTAMP, "client %d t=%d last=%d", c, t, last);
      return;
    }
    if (t <= committedUpTo(c)) {
      return; // committed here already: its reply comes once the executor runs it
    }
    Awaited known = awaited.get(c);
    if (known == null) {
      awaited.put(c, new Awaited(r, state.nowMs));
    } else if (known.request().timestamp() < t) {
      // A correct client has one request outstanding and sends a newer one only once the older
      // one ran, so the wait goes on from the older request's arrival (this replica lags if it did
      // not see that one commit). A suspected client that sends newer requests while older ones
      // wait is not correct, and may be making requests no primary can order (authenticators
      // that check at one backup only, say): its newest request is timed from its own arrival,
      // so that a stream of such requests, each dropped in turn by the client itself, is not
      // taken for a primary that ignores it. A client framed by a faulty primary is suspected too,
      // but waits for its reply before sending anything newer: its wait is timed as before.
      awaited.put(c, new Awaited(r, suspected(c) ? state.nowMs : known.sinceMs()));
    }
    if (state.viewChanging) {
      return; // it waits; viewEntered() sends it to the new view's primary
    }
    if (sentToAll && state.primary() != state.id && !suspected(c)) {
      // The primary has it from the client: watch it (the timer runs from now) and relay it only
      // if the client retransmits, if it is still not pre-prepared halfway to this backup's
      // timeout (relayDue), or to the next primary if the view changes first. A suspected client's
      // request is relayed at once: a primary that suspects it too holds it until backups do.
      return;
    }
    Long inOrder = ordering.get(c);
    if (inOrder != null && inOrder >= t) {
      return; // already queued, pre-prepared or forwarded: nothing new to send
    }
    if (state.primary() != state.id && relayTooSoon(c)) {
      relayDeferred.add(c); // relayDue() sends the newest once the interval is over
      return;
    }
    relay(c, r);
  }

  private boolean relayTooSoon(int clientId) {
    Long last = lastRelayMs.get(clientId);
    return last != null && state.nowMs - last < state.settings.relayIntervalMs();
  }

  /** Marks {@code r} as on its way to being ordered and queues or relays it. */
  private void relay(int clientId, VerifiedRequest r) {
    ordering.put(clientId, r.timestamp());
    if (state.primary() != state.id) {
      lastRelayMs.put(clientId, state.nowMs);
    }
    routeToPrimary(r);
  }

  /**
   * Backup, on every tick: relays the newest awaited request of each client whose requests waited
   * for the end of its relay interval, unless one at least as new is already being ordered; and
   * relays every watched request (the client sent it to all, so it was not relayed) that has
   * waited {@code watchedForMs} without being pre-prepared here.
   *
   * <p>The second rule keeps a primary that holds a request until backups relay it (it could not
   * authenticate it, or it suspects the client) from waiting for the client's retransmission,
   * which comes later than the backups' timeout: after a primary crash, a new primary that had
   * suspected honest clients, whose first requests reached it with MACs for few replicas while
   * their sessions came up, otherwise cost one view change after another.
   */
  void relayDue(long watchedForMs) {
    if (state.viewChanging || state.primary() == state.id) {
      relayDeferred.clear(); // viewEntered() routes whatever waits
      return;
    }
    for (Map.Entry<Integer, Awaited> e : awaited.entrySet()) {
      Awaited a = e.getValue();
      if (state.nowMs - a.sinceMs() < watchedForMs) {
        continue;
      }
      int c = e.getKey();
      long t = a.request().timestamp();
      Long inOrder = ordering.get(c);
      if ((inOrder != null && inOrder >= t) || t <= committedUpTo(c)) {
        continue;
      }
      if (relayTooSoon(c)) {
        relayDeferred.add(c);
      } else {
        relay(c, a.request());
      }
    }
    if (relayDeferred.isEmpty()) {
      return;
    }
    for (Iterator<Integer> it = relayDeferred.iterator(); it.hasNext(); ) {
      int c = it.next();
      if (relayTooSoon(c)) {
        continue;
      }
      it.remove();
      Awaited a = awaited.get(c);
      Long inOrder = ordering.get(c);
      if (a != null && (inOrder == null || inOrder < a.request().timestamp())) {
        relay(c, a.request());
      }
    }
  }

  /**
   * Another replica relayed a client's request to this one: at the primary, to be ordered; at a
   * backup (a suspected client's request, which backups relay to every replica), as word that
   * the sender holds it.
   */
  void onForwarded(int sender, VerifiedRequest r) {
    if (!acceptable(r, "forwarded request")) {
      return;
    }
    notePeerHolds(sender, r);
    if (state.primary() != state.id) {
      return;
    }
    int c = r.clientId();
    if (r.timestamp() <= clients.lastTimestamp(c)) {
      return; // executed already; the client gets its reply from the replicas directly
    }
    if (state.viewChanging) {
      // The primary of the view being entered: keep it with what waits for the view to open. Not
      // in place of a request this replica authenticated itself: one it cannot check may be a
      // faulty replica's forgery with a far-future timestamp, and would push the client's genuine
      // request out of sight here for good (simulator seed 467, n = 5, a traitor forging requests:
      // a correct client's request never ran).
      Awaited known = awaited.get(c);
      if (known == null || (known.request().timestamp() < r.timestamp()
          && (r.authenticated() || !known.request().authenticated()))) {
        awaited.put(c, new Awaited(r, known == null ? state.nowMs : known.sinceMs()));
      }
      return;
    }
    Long inOrder = ordering.get(c);
    if (inOrder != null && inOrder >= r.timestamp()) {
      return;
    }
    relay(c, r);
  }

  /** {@code sender} relayed {@code r} here, so it holds that request. */
  private void notePeerHolds(int sender, VerifiedRequest r) {
    int c = r.clientId();
    if (r.timestamp() <= clients.lastTimestamp(c)) {
      return;
    }
    HeldByPeers held = heldByPeers.get(c);
    if (held == null || held.timestamp < r.timestamp()) {
      held = new HeldByPeers(r.timestamp());
      heldByPeers.put(c, held);
    }
    if (held.timestamp != r.timestamp()) {
      return;
    }
    if (held.peers.add(sender) && held.peers.size() >= state.f && held.enoughSinceMs == Long.MAX_VALUE) {
      held.enoughSinceMs = state.nowMs;
    }
  }

  private void routeToPrimary(VerifiedRequest r) {
    if (state.primary() == state.id) {
      if ((!r.authenticated() || suspected(r.clientId())) && !relayedByEnough(r)) {
        // Held back: the client retransmits to every replica, whose relays then bring it in.
        forgetOrdering(r);
        return;
      }
      if (batchQueue.offer(r) == BatchQueue.Admission.FULL) {
        // Not queued, so not being ordered: a retransmission must be able to get in later.
        outbox.reject(Rejection.REQUEST_QUEUE_FULL, "client %d t=%d", r.clientId(), r.timestamp());
        forgetOrdering(r);
      }
    } else {
      ReplicaMessage forwarded = ReplicaMessage.newBuilder()
          .setForwardedRequest(ForwardedRequest.newBuilder().setRequest(r.signed())).build();
      if (suspected(r.clientId()) && r.authenticated()) {
        // To every replica: the other backups learn that this one holds it (owedSinceMs). Only
        // what this replica authenticated itself: a request it holds unchecked (relayed to it as
        // the next primary during a view change, perhaps forged by a faulty replica) is no word
        // that its client sent it, and must not count as another holder at the other backups.
        outbox.broadcast(forwarded);
      } else {
        outbox.send(state.primary(), forwarded);
      }
    }
  }

  /** Before this time (the core's clock) no client is suspected (see {@link #holdSuspicionsUntil}). */
  private long suspectFromMs = Long.MIN_VALUE;

  /**
   * A replica that joined its epoch without state, as a member's new machine, holds no session
   * with any client until they follow the group to it, and the requests in flight carry MACs made
   * for the old machine's sessions: failing to authenticate them says nothing against the clients.
   * Until {@code ms} (the core's clock) it suspects none. Suspecting them all slowed a client's
   * operation to 27 s in simulator seed 50694 (n = 7), where primaries then waited for backups to
   * vouch for its requests.
   */
  void holdSuspicionsUntil(long ms) {
    suspectFromMs = ms;
  }

  /**
   * A pre-prepare accepted here carried a request of {@code clientId} that this replica could not
   * authenticate: suspect the client for a while.
   */
  void suspect(int clientId) {
    if (state.nowMs < suspectFromMs) {
      return; // a new machine: the clients' MACs for it were made before their sessions with it
    }
    if (!suspected(clientId)) {
      log.info("replica {}: suspects client {} in view {}: a pre-prepare carried a request of it whose MAC for this"
          + " replica does not check", state.id, clientId, state.view);
    }
    if (!suspectedNow(suspectedSinceMs.get(clientId))) {
      newSuspicion = true;
    }
    suspectedSinceMs.put(clientId, state.nowMs);
  }

  /**
   * How long a suspicion lasts: 30 view-change timeouts at the backoff in force, measured when it
   * is checked. A fixed span (30 configured timeouts) ran out during the very view changes the
   * client caused: once timeouts double, five failed views outlast it, and in a group of five each
   * new primary had forgotten the client and proposed the request it alone could check (seed 992
   * at n = 5). Scaled by the backoff, the suspicion outlasts any run of failed views; once a view
   * makes progress the backoff resets and it ends 30 configured timeouts after it was last renewed,
   * so an honest client a faulty primary framed is not suspected for long.
   */
  private long suspicionSpanMs() {
    return SUSPICION_VIEW_CHANGE_TIMEOUTS * viewChangeTimeoutMs.getAsLong();
  }

  private boolean suspectedNow(Long sinceMs) {
    return sinceMs != null && state.nowMs - sinceMs < suspicionSpanMs();
  }

  /**
   * Whether this replica suspects {@code clientId}: first-hand (see {@link #suspect}), or because
   * the latest heartbeats of f + 1 other replicas name it, so at least one correct replica suspects
   * it first-hand. Without the second, each primary in turn learned of a client's partial
   * authenticators only by proposing one of its requests that it alone could check, and the client
   * cost a view change per primary (simulator seed 2390 at n = 5: views 15 to 18 each failed on a
   * different request of one client after the faults healed).
   */
  boolean suspected(int clientId) {
    Long since = suspectedSinceMs.get(clientId);
    if (suspectedNow(since) || reportedByEnough(clientId)) {
      return true;
    }
    if (since != null) {
      suspectedSinceMs.remove(clientId); // ended: forget it
    }
    return false;
  }

  private boolean suspicionHolds(int clientId) {
    return suspectedNow(suspectedSinceMs.get(clientId)) || reportedByEnough(clientId);
  }

  /**
   * f + 1 peers named the client in a heartbeat within the last two and a half heartbeat periods
   * (a replica repeats its list every period while it suspects, and drops a name once it stops).
   */
  private boolean reportedByEnough(int clientId) {
    Map<Integer, Long> by = reportedBy.get(clientId);
    if (by == null) {
      return false;
    }
    long freshMs = 5L * state.settings.viewChangeTimeoutMs() / 2;
    int fresh = 0;
    for (long atMs : by.values()) {
      if (state.nowMs - atMs <= freshMs) {
        fresh++;
      }
    }
    return fresh >= state.weakQuorum();
  }

  /** True once after this replica began to suspect a client first-hand: time to tell the others. */
  boolean takeNewSuspicion() {
    boolean news = newSuspicion;
    newSuspicion = false;
    return news;
  }

  /** The clients this replica suspects first-hand, for its heartbeats: at most 32, ascending. */
  List<Integer> suspectedFirstHand() {
    List<Integer> clients = new ArrayList<>();
    for (Map.Entry<Integer, Long> e : suspectedSinceMs.entrySet()) {
      if (suspectedNow(e.getValue())) {
        clients.add(e.getKey());
      }
    }
    Collections.sort(clients);
    return clients.size() <= REPORTED_SUSPICIONS_MAX ? clients : List.copyOf(clients.subList(0, REPORTED_SUSPICIONS_MAX));
  }

  /**
   * Replica {@code sender}'s heartbeat names {@code clients} as the ones it suspects first-hand:
   * its whole list, replacing what it named before. Only known clients count; a heartbeat with
   * more than 32 names never gets here (CatchUp refuses it), so a faulty replica's list cannot
   * grow this replica's memory.
   */
  void onSuspicionsReported(int sender, List<Integer> clients) {
    if (sender == state.id) {
      return;
    }
    Set<Integer> named = new HashSet<>();
    for (int c : clients) {
      if (knownClient.test(c)) {
        named.add(c);
      }
    }
    Iterator<Map.Entry<Integer, Map<Integer, Long>>> it = reportedBy.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<Integer, Map<Integer, Long>> e = it.next();
      if (!named.contains(e.getKey())) {
        e.getValue().remove(sender);
        if (e.getValue().isEmpty()) {
          it.remove();
        }
      }
    }
    for (int c : named) {
      boolean before = suspicionHolds(c);
      reportedBy.computeIfAbsent(c, k -> new HashMap<>()).put(sender, state.nowMs);
      if (!before && suspicionHolds(c)) {
        log.info("replica {}: suspects client {} in view {}: f + 1 replicas' heartbeats name it", state.id, c,
            state.view);
      }
    }
  }

  int suspectedClients() {
    Set<Integer> clients = new HashSet<>(suspectedSinceMs.keySet());
    clients.addAll(reportedBy.keySet());
    return (int) clients.stream().filter(this::suspicionHolds).count();
  }

  /**
   * Enough backups relayed {@code r} for a batch holding it to prepare with correct replicas (see
   * {@link Rules#relaysNeeded}): a correct backup that cannot check its own entry prepares once f
   * others did, and relaying backups, which checked theirs, prepare at once.
   */
  private boolean relayedByEnough(VerifiedRequest r) {
    int needed = rules.relaysNeeded(state.f, r.authenticated(), suspicionHolds(r.clientId()));
    if (needed <= 0) {
      return true;
    }
    HeldByPeers held = heldByPeers.get(r.clientId());
    return held != null && held.timestamp == r.timestamp() && held.peers.size() >= needed;
  }

  /**
   * Whether the core accepts requests of this client and size. The inbound verifier checks the
   * same for what it verifies; requests that reach the core by other ways (relayed in
   * certificates) are checked here.
   */
  boolean acceptable(VerifiedRequest r, String what) {
    if (!knownClient(r.clientId())) {
      outbox.reject(Rejection.UNKNOWN_CLIENT, "%s from client %d", what, r.clientId());
      return false;
    }
    if (r.request().getOperation().size() > state.settings.operationBytesMax()) {
      outbox.reject(Rejection.OVERSIZED_OPERATION, "%s of %d bytes", what, r.request().getOperation().size());
      return false;
    }
    return true;
  }

  boolean knownClient(int clientId) {
    return knownClient.test(clientId);
  }

  /**
   * Primary: the next batch's requests, round-robin over clients, at most {@code countMax} of them
   * and {@code bytesMax} bytes (one request at least, whatever its size). Requests executed
   * meanwhile (a retransmission racing its own execution) are dropped from the queue.
   *
   * <p>Requests ordered on backups' relays ({@link #orderedOnRelays}) share a batch only while f + 1
   * backups relayed every one of them. A backup prepares a batch at once only if it authenticated
   * every request in it, and the others wait for f such PREPAREs; the relays that let such a
   * request in show that f + 1 backups hold that request, not that the same ones hold another.
   * Two of them in one batch, relayed by different backups, can leave no backup able to
   * authenticate the whole batch: it never prepares and the group changes view. (Seen with the
   * partial-authenticator-client bench fault: two requests of one suspected client, each valid at
   * the primary and one backup, a different one, in one batch; two to four view changes in 30 s
   * instead of the big MAC attack's one.) Requests relayed by the same f + 1 backups or more can
   * ride together: those backups authenticated them all. That is the cold start, when clients
   * whose sessions to the primary are not up yet have every backup relay their requests; one such
   * request per batch left the last of them waiting one batch each, longer than the request
   * timer, and the group changed view without a fault.
   */
  List<VerifiedRequest> nextBatch(int countMax, int bytesMax) {
    return batchQueue.nextBatch(countMax, bytesMax, r -> r.signed().getSerializedSize() + 8L,
        r -> r.timestamp() <= clients.lastTimestamp(r.clientId()), this::relayersOf, state.f + 1);
  }

  /**
   * The backups that relayed {@code r}, if this primary orders it only on their relays (empty if
   * it no longer knows them: then it rides alone among such requests); null if it needs none.
   */
  private Set<Integer> relayersOf(VerifiedRequest r) {
    if (!orderedOnRelays(r)) {
      return null;
    }
    HeldByPeers held = heldByPeers.get(r.clientId());
    return held != null && held.timestamp == r.timestamp() ? held.peers : Set.of();
  }

  /**
   * Whether this primary orders {@code r} only because backups relayed it: it could not
   * authenticate it, or it suspects its client (see {@link #routeToPrimary}).
   */
  private boolean orderedOnRelays(VerifiedRequest r) {
    return !r.authenticated() || suspected(r.clientId());
  }

  /** {@code r} is not on its way to being ordered (refused): drop the mark that says it is. */
  private void forgetOrdering(VerifiedRequest r) {
    Long inOrder = ordering.get(r.clientId());
    if (inOrder != null && inOrder == r.timestamp()) {
      ordering.remove(r.clientId());
    }
  }

  boolean batchQueueEmpty() {
    return batchQueue.isEmpty();
  }

  /** A backup accepted a pre-prepare carrying these requests: they are being ordered. */
  void ordering(List<VerifiedRequest> requests) {
    for (VerifiedRequest r : requests) {
      ordering.merge(r.clientId(), r.timestamp(), Math::max);
    }
  }

  /**
   * A batch committed here and goes to the executor (in sequence order): the primary has done its
   * part for these requests, so whoever waited for them stops waiting now, not once the executor
   * (which may lag behind on a busy machine: a local delay, not the primary's) reports back.
   * Returns true if the primary made progress for a client this replica waited for: its request
   * committed, or an older one of the same client did (then that client's wait starts afresh).
   * Only a request newer than everything committed for its client before counts, so a primary
   * cannot feign progress by ordering a client's old requests again.
   */
  boolean committed(List<VerifiedRequest> batch) {
    boolean awaitedRan = false;
    for (VerifiedRequest r : batch) {
      int c = r.clientId();
      long t = r.timestamp();
      if (t <= committedUpTo(c)) {
        continue; // a duplicate: it runs as nothing new
      }
      committedUpTo.put(c, t);
      Awaited waiting = awaited.get(c);
      if (waiting != null) {
        if (waiting.request().timestamp() <= t) {
          awaited.remove(c);
        } else {
          awaited.put(c, new Awaited(waiting.request(), state.nowMs));
        }
        awaitedRan = true;
      }
    }
    return awaitedRan;
  }

  /** The newest timestamp of {@code clientId} committed here (or executed, after a state transfer). */
  private long committedUpTo(int clientId) {
    Long committed = committedUpTo.get(clientId);
    long executed = clients.lastTimestamp(clientId);
    return committed == null ? executed : Math.max(committed, executed);
  }

  /**
   * Requests ran: the client table learns their results, and a wait that began after its request
   * committed here (it arrived meanwhile) ends.
   */
  void executed(List<Executed.ClientResult> results) {
    for (Executed.ClientResult e : results) {
      clients.executed(e);
      Awaited waiting = awaited.get(e.clientId());
      if (waiting != null && waiting.request().timestamp() <= e.timestamp()) {
        awaited.remove(e.clientId());
      }
      Long inOrder = ordering.get(e.clientId());
      if (inOrder != null && inOrder <= e.timestamp()) {
        ordering.remove(e.clientId());
      }
      Long committed = committedUpTo.get(e.clientId());
      if (committed != null && committed <= e.timestamp()) {
        committedUpTo.remove(e.clientId()); // the client table says as much now
      }
    }
  }

  /** A new client table came with a state transfer: forget what it shows executed. */
  void tableReplaced() {
    awaited.entrySet().removeIf(w -> {
      boolean done = w.getValue().request().timestamp() <= clients.lastTimestamp(w.getKey());
      if (done) {
        ordering.remove(w.getKey());
      }
      return done;
    });
  }

  /** Leaving the view: what waited is sent to the new primary once the view opens. */
  void viewChangeStarted() {
    batchQueue.clear();
    ordering.clear();
    relayDeferred.clear();
  }

  /**
   * The view opened: requests that waited during the view change go to its primary, which gets
   * a full timeout for them.
   */
  void viewEntered() {
    awaited.replaceAll((c, a) -> new Awaited(a.request(), state.nowMs));
    for (Awaited a : awaited.values()) {
      Long inOrder = ordering.get(a.request().clientId());
      if (inOrder != null && inOrder >= a.request().timestamp()) {
        continue; // the NEW-VIEW carries it already: ordering it again would waste a sequence number
      }
      relay(a.request().clientId(), a.request());
    }
  }
}

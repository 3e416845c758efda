package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.config.ProtocolSettings;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Signer;
import io.pbft.proto.Batch;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.Commit;
import io.pbft.proto.CommittedCertificate;
import io.pbft.proto.Heartbeat;
import io.pbft.proto.ForwardedRequest;
import io.pbft.proto.NewView;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.ViewChange;
import io.pbft.proto.CommittedBatch;
import io.pbft.proto.StablePoint;
import io.pbft.proto.WalRecord;
import io.pbft.replica.app.StateMachine;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PBFT protocol of one replica, as a pure event-driven object: events in (verified replica
 * messages, verified client requests, clock ticks), {@link Effects} out. No threads, sockets,
 * clocks, files or randomness: the gRPC runtime and the deterministic simulator drive the same
 * code.
 *
 * <p>Inputs carry valid signatures already (the runtime verifies them in a pool, off the event
 * loop; see {@code io.pbft.replica.verify.InboundVerifier}, which also checks the signatures of
 * messages embedded in view-change certificates). Everything else about them is untrusted: each
 * handler opens with guard clauses that drop and count bad input with a named reason, and only
 * then changes state.
 *
 * <p>Normal case (OSDI 1999, section 4.2), checkpoints and garbage collection (4.3), view changes
 * (4.4) and state transfer (through {@link StateTransfer}).
 */
public final class ReplicaCore {
  private static final Logger log = LoggerFactory.getLogger(ReplicaCore.class);
  /** Consecutive view changes stop doubling the timeout beyond 2^this. */
  private static final int BACKOFF_DOUBLINGS_MAX = 6;

  private final int id;
  private final int n;
  private final int f;
  private final ProtocolSettings settings;
  private final Signer signer;
  private final IntPredicate knownClient;
  private final ViewChangeRules rules;
  final Execution execution;
  private final StateTransfer transfer;

  private long view;
  private boolean viewChanging;   // sent VIEW-CHANGE for `view`, waiting for its NEW-VIEW
  private long lowWatermark;      // h: sequence number of the last stable checkpoint
  private long lastAssigned;      // primary: last sequence number it pre-prepared
  private ByteString lastStableDigest = ByteString.EMPTY;
  private List<SignedMessage> stableProof = List.of();

  private final TreeMap<Long, Slot> slots = new TreeMap<>();
  /** Requests waiting at the primary for a batch, FIFO. */
  private final ArrayDeque<SignedRequest> pending = new ArrayDeque<>();
  /** Per client, the newest timestamp queued, pre-prepared or forwarded and not yet executed. */
  private final Map<Integer, Long> inProgress = new HashMap<>();
  /** Per client, the newest request this replica received itself and has not seen executed. */
  private final Map<Integer, SignedRequest> awaiting = new HashMap<>();
  private final CheckpointVotes checkpoints = new CheckpointVotes();
  /** The newest valid VIEW-CHANGE of each replica for a view above (or at, while changing) ours. */
  private final Map<Integer, ViewChangeRules.Checked> viewChanges = new HashMap<>();
  /**
   * Pre-prepares for a view this replica has not entered yet (they may overtake the NEW-VIEW),
   * per sender so that a faulty replica cannot displace the real primary's.
   */
  private final Map<Integer, TreeMap<Long, SignedMessage>> earlyPrePrepares = new HashMap<>();
  /** The NEW-VIEW that opened the current view (sent or accepted), relayed to replicas behind. */
  private SignedMessage lastNewView;
  private long nextHeartbeatMs;
  /** Committed certificates sent in answer to one heartbeat, at most. */
  private static final int CATCH_UP_BATCHES_MAX = 64;
  /**
   * When each peer's heartbeat was last answered with catch-up material. A correct replica sends
   * one heartbeat per viewChangeTimeoutMs, so answering at most one per half of that costs it
   * nothing, while a faulty peer (or a replayed heartbeat) cannot make this replica send its
   * log again and again.
   */
  private final long[] catchUpAnsweredMs;

  /** A stable checkpoint others reached and this replica has not, and since when it knows. */
  private record Behind(long sequence, ByteString digest, List<SignedMessage> proof, long sinceMs) {}

  private Behind behind;

  // View-change timer (section 4.4): armed while a request this replica knows of waits.
  private long nowMs;
  private long timerDeadlineMs = -1;
  private int consecutiveViewChanges;

  private final java.util.EnumSet<PlantedBug> planted = java.util.EnumSet.noneOf(PlantedBug.class);
  private final Rejections rejections = new Rejections();
  private CheckpointStore store = CheckpointStore.NONE;
  private boolean durable;
  private boolean compactionDue;
  private Effects effects = Effects.empty();
  private long viewChangesStarted;

  public ReplicaCore(int id, int n, int f, ProtocolSettings settings, Signer signer, StateMachine app,
      IntPredicate knownClient) {
    if (n < 3 * f + 1) {
      throw new IllegalArgumentException("n = " + n + " cannot tolerate f = " + f);
    }
    if (id < 0 || id >= n) {
      throw new IllegalArgumentException("replica id " + id + " outside 0.." + (n - 1));
    }
    this.id = id;
    this.n = n;
    this.f = f;
    this.settings = settings;
    this.signer = signer;
    this.knownClient = knownClient;
    this.rules = new ViewChangeRules(n, f, settings.windowSize());
    this.execution = new Execution(id, app);
    this.transfer = new StateTransfer(this, id, n, f, settings.stateChunkBytesMax());
    this.catchUpAnsweredMs = new long[n];
    java.util.Arrays.fill(catchUpAnsweredMs, Long.MIN_VALUE / 2);
  }

  // ------------------------------------------------------------------ queries

  public int id() {
    return id;
  }

  public int n() {
    return n;
  }

  public int f() {
    return f;
  }

  public long view() {
    return view;
  }

  public boolean viewChanging() {
    return viewChanging;
  }

  public int primary() {
    return primaryOf(view);
  }

  public int primaryOf(long v) {
    return (int) (v % n);
  }

  public boolean isPrimary() {
    return primary() == id && !viewChanging;
  }

  public long lastExecuted() {
    return execution.lastExecuted();
  }

  public long lowWatermark() {
    return lowWatermark;
  }

  public long highWatermark() {
    return lowWatermark + settings.windowSize();
  }

  public long executedRequests() {
    return execution.executedRequests();
  }

  public long viewChangesStarted() {
    return viewChangesStarted;
  }

  public int pendingRequests() {
    return pending.size();
  }

  /** Slots held in the log (bounded by the window). */
  public int logSize() {
    return slots.size();
  }

  public Rejections rejections() {
    return rejections;
  }

  /** Digest of the replicated state: the application's plus the client table's. */
  public byte[] stateDigest() {
    return execution.stateDigest().toByteArray();
  }

  public ByteString lastStableCheckpointDigest() {
    return lastStableDigest;
  }

  public boolean fetchingState() {
    return transfer.active();
  }

  public StateTransfer stateTransfer() {
    return transfer;
  }

  /** The reply to the last request executed for {@code clientId}, or null. */
  public Reply lastReply(int clientId) {
    return execution.lastReply(clientId, view);
  }

  /** Hands out everything accumulated since the last call. */
  public Effects takeEffects() {
    if (compactionDue) {
      // The live state as it is after everything the event(s) did, records after the stable
      // checkpoint included; the runtime writes it after records() and drops what is older.
      compactionDue = false;
      effects.compactTo(liveRecords());
    }
    Effects out = effects;
    effects = Effects.empty();
    return out;
  }

  /**
   * Makes this replica durable: from now on it asks for log records (in its effects) before the
   * messages that depend on them, and keeps its checkpoints in {@code store}.
   */
  public void enableDurability(CheckpointStore store) {
    this.store = store;
    this.durable = true;
  }

  private void record(WalRecord r) {
    if (durable) {
      effects.records().add(r);
    }
  }

  /** Switches on a deliberate bug; only a test build, in this package, can call it. */
  void plant(PlantedBug bug) {
    planted.add(bug);
  }

  ProtocolSettings settings() {
    return settings;
  }

  // ------------------------------------------------------------------ time

  /**
   * The clock moved to {@code nowMs} (any monotonic origin). Fires the view-change timer and
   * state-transfer retries when due.
   */
  public void tick(long nowMs) {
    this.nowMs = Math.max(this.nowMs, nowMs);
    if (timerDeadlineMs >= 0 && this.nowMs >= timerDeadlineMs) {
      timerDeadlineMs = -1;
      if (!viewChanging && (behind != null || transfer.active())) {
        // 2f + 1 replicas proved a checkpoint this replica has not reached: the requests it waits
        // for are late because it is behind, not because the primary stalls. Suspecting now would
        // leave it alone in the next view; catch up first (the others suspect a bad primary).
        log.info("replica {}: view-change timer expired in view {} while catching up; not suspecting", id, view);
        timerDeadlineMs = this.nowMs + timeoutMs();
      } else {
        log.info("replica {}: view-change timer expired in view {}{}", id, view, viewChanging ? " (no NEW-VIEW)" : "");
        startViewChange(view + 1);
      }
    }
    if (behind != null) {
      if (lastExecuted() >= behind.sequence() || behind.sequence() <= lowWatermark) {
        behind = null;
      } else if (this.nowMs - behind.sinceMs() >= settings.viewChangeTimeoutMs() / 2) {
        Behind b = behind;
        behind = null;
        learnStable(b.sequence(), b.digest(), b.proof());
      }
    }
    transfer.tick(this.nowMs);
    if (this.nowMs >= nextHeartbeatMs) {
      nextHeartbeatMs = this.nowMs + settings.viewChangeTimeoutMs();
      ViewChangeRules.Checked mine = viewChanges.get(id);
      if (viewChanging && mine != null) {
        // VIEW-CHANGEs can be lost, and without 2f + 1 of them no timer runs: repeat ours.
        effects.messages().add(new Effects.Outgoing(Effects.Outgoing.ALL, mine.signed()));
      }
      broadcast(ReplicaMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder().setView(view)
          .setViewChanging(viewChanging).setLastExecuted(lastExecuted()).setLowWatermark(lowWatermark)
          .setReplicaId(id)).build());
    }
  }

  private long timeoutMs() {
    int doublings = Math.min(Math.max(consecutiveViewChanges - 1, 0), BACKOFF_DOUBLINGS_MAX);
    return (long) settings.viewChangeTimeoutMs() << doublings;
  }

  /** Arms the timer while requests wait at a backup; disarms it when none do. */
  private void updateTimer() {
    if (viewChanging) {
      return; // armed by startViewChange until the NEW-VIEW arrives
    }
    if (awaiting.isEmpty() || primary() == id) {
      timerDeadlineMs = -1;
    } else if (timerDeadlineMs < 0) {
      timerDeadlineMs = nowMs + timeoutMs();
    }
  }

  // ------------------------------------------------------------------ client requests

  /**
   * A client request whose signature the runtime verified. The primary queues it for a batch; a
   * backup passes it on to the primary (the client sent it to everyone after a timeout) and arms
   * its view-change timer.
   */
  public void onClientRequest(SignedRequest signed, Request request) {
    if (!acceptableRequest(request, "client request")) {
      return;
    }
    int c = request.getClientId();
    long t = request.getTimestamp();
    long last = execution.lastTimestamp(c);
    if (t == last) {
      // Retransmission of the request we executed last: send the cached reply again.
      Reply cached = execution.lastReply(c, view);
      if (cached != null) {
        effects.replies().add(new Effects.ClientReply(c, cached));
      }
      return;
    }
    if (t < last) {
      reject("request timestamp older than last executed", "client %d t=%d last=%d", c, t, last);
      return;
    }
    SignedRequest known = awaiting.get(c);
    if (known == null || timestampOf(known) < t) {
      awaiting.put(c, signed);
    }
    Long queued = inProgress.get(c);
    if (queued != null && queued >= t) {
      updateTimer();
      return; // already queued, pre-prepared or forwarded: nothing new to send
    }
    inProgress.put(c, t);
    if (!viewChanging) {
      routeToPrimary(signed);
    }
    updateTimer();
  }

  private void routeToPrimary(SignedRequest signed) {
    if (primary() == id) {
      if (pending.size() >= settings.pendingRequestsMax()) {
        reject("pending request queue full", "client %d", timestampOf(signed));
        return;
      }
      pending.add(signed);
      proposeBatches();
    } else {
      send(primary(), ReplicaMessage.newBuilder()
          .setForwardedRequest(ForwardedRequest.newBuilder().setRequest(signed)).build());
    }
  }

  private boolean acceptableRequest(Request request, String what) {
    if (!knownClient.test(request.getClientId())) {
      reject("request from unknown client", "%s from client %d", what, request.getClientId());
      return false;
    }
    if (request.getOperation().size() > settings.operationBytesMax()) {
      reject("oversized operation", "%s of %d bytes", what, request.getOperation().size());
      return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ replica messages

  /** A message from replica {@code sender} whose signature the runtime verified. */
  public void onMessage(int sender, ReplicaMessage message, SignedMessage signed) {
    if (sender < 0 || sender >= n || sender == id) {
      reject("unknown sender", "sender %d", sender);
      return;
    }
    switch (message.getBodyCase()) {
      case PRE_PREPARE -> onPrePrepare(sender, message.getPrePrepare(), signed);
      case PREPARE -> onPrepare(sender, message.getPrepare(), signed);
      case COMMIT -> onCommit(sender, message.getCommit(), signed);
      case CHECKPOINT -> onCheckpoint(sender, message.getCheckpoint(), signed);
      case FORWARDED_REQUEST -> onForwardedRequest(sender, message.getForwardedRequest());
      case VIEW_CHANGE -> onViewChange(sender, message.getViewChange(), signed);
      case NEW_VIEW -> onNewView(sender, message.getNewView(), signed);
      case FETCH_STATE -> transfer.onFetch(sender, message.getFetchState());
      case STATE_CHUNK -> transfer.onChunk(sender, message.getStateChunk());
      case HEARTBEAT -> onHeartbeat(sender, message.getHeartbeat());
      case COMMITTED -> onCommittedCertificate(sender, message.getCommitted());
      default -> reject("malformed message", "empty body from %d", sender);
    }
    updateTimer();
  }

  private void onForwardedRequest(int sender, ForwardedRequest forwarded) {
    if (primary() != id) {
      reject("forwarded request at a backup", "from %d", sender);
      return;
    }
    Request request = parseRequest(forwarded.getRequest());
    if (request == null) {
      reject("malformed message", "forwarded request from %d does not parse", sender);
      return;
    }
    if (!acceptableRequest(request, "forwarded request")) {
      return;
    }
    int c = request.getClientId();
    long t = request.getTimestamp();
    if (t <= execution.lastTimestamp(c)) {
      return; // executed already; the client gets its reply from the replicas directly
    }
    Long queued = inProgress.get(c);
    if (queued != null && queued >= t) {
      return;
    }
    inProgress.put(c, t);
    if (!viewChanging) {
      routeToPrimary(forwarded.getRequest());
    }
  }

  /** Section 4.2: a backup accepts a pre-prepare only under these conditions. */
  private void onPrePrepare(int sender, PrePrepare pp, SignedMessage signed) {
    long v = pp.getView();
    long s = pp.getSequence();
    if (sender != primaryOf(v) && !planted.contains(PlantedBug.PRE_PREPARE_FROM_ANYONE)) {
      reject("pre-prepare from non-primary", "sender %d is not primary of view %d", sender, v);
      return;
    }
    if (v < view) {
      reject("wrong view", "pre-prepare v=%d n=%d while in view %d", v, s, view);
      return;
    }
    if (v > view || viewChanging) {
      keepEarly(sender, s, signed); // the NEW-VIEW that opens view v has not arrived yet
      return;
    }
    if (s <= lowWatermark && s > 0) {
      return; // late: a stable checkpoint already covers it
    }
    if (!inWindow(s)) {
      reject("sequence number outside window", "pre-prepare n=%d window (%d, %d]", s, lowWatermark, highWatermark());
      return;
    }
    Batch batch = pp.getBatch();
    if (batch.getRequestsCount() > settings.batchSizeMax() || batch.getSerializedSize() > settings.batchBytesMax()) {
      reject("oversized batch", "pre-prepare n=%d has %d requests, %d bytes", s, batch.getRequestsCount(), batch.getSerializedSize());
      return;
    }
    ByteString digest = ByteString.copyFrom(Digests.batchDigest(batch.getRequestsList()));
    if (!digest.equals(pp.getDigest())) {
      reject("digest mismatch", "pre-prepare v=%d n=%d", v, s);
      return;
    }
    for (SignedRequest r : batch.getRequestsList()) {
      Request request = parseRequest(r);
      if (request == null || !acceptableRequest(request, "pre-prepared request")) {
        reject("pre-prepare with invalid request", "v=%d n=%d", v, s);
        return;
      }
    }
    Slot slot = slot(s);
    if (slot.hasPrePrepare() && slot.view == v) {
      if (!slot.digest.equals(digest)) {
        reject("conflicting pre-prepare", "v=%d n=%d already accepted another digest", v, s);
      }
      return; // a duplicate of what we accepted
    }
    acceptPrePrepareAsBackup(slot, v, digest, batch, signed);
  }

  private void keepEarly(int sender, long s, SignedMessage signed) {
    if (s <= lowWatermark || s > highWatermark()) {
      reject("sequence number outside window", "early pre-prepare n=%d", s);
      return;
    }
    earlyPrePrepares.computeIfAbsent(sender, k -> new TreeMap<>()).put(s, signed);
  }

  private void acceptPrePrepareAsBackup(Slot slot, long v, ByteString digest, Batch batch, SignedMessage signed) {
    slot.accept(v, digest, batch, signed);
    record(WalRecord.newBuilder().setAcceptedPrePrepare(signed).build());
    slot.prepareSent = true;
    Prepare prepare = Prepare.newBuilder().setView(v).setSequence(slot.sequence).setDigest(digest).setReplicaId(id).build();
    SignedMessage mine = broadcast(ReplicaMessage.newBuilder().setPrepare(prepare).build());
    slot.prepares.put(id, new Slot.Vote(v, digest, mine));
    for (SignedRequest r : batch.getRequestsList()) {
      Request request = parseRequest(r);
      inProgress.merge(request.getClientId(), request.getTimestamp(), Math::max);
    }
    checkPrepared(slot);
  }

  private void onPrepare(int sender, Prepare p, SignedMessage signed) {
    if (p.getReplicaId() != sender) {
      reject("sender does not match signer", "prepare names %d, signed by %d", p.getReplicaId(), sender);
      return;
    }
    if (sender == primaryOf(p.getView())) {
      reject("prepare from primary", "sender %d view %d", sender, p.getView());
      return;
    }
    if (!acceptVote("prepare", sender, p.getView(), p.getSequence(), p.getDigest())) {
      return;
    }
    Slot slot = slot(p.getSequence());
    if (!recordVote(slot.prepares, "prepare", sender, p.getView(), p.getDigest(), signed)) {
      return;
    }
    checkPrepared(slot);
  }

  private void onCommit(int sender, Commit c, SignedMessage signed) {
    if (c.getReplicaId() != sender) {
      reject("sender does not match signer", "commit names %d, signed by %d", c.getReplicaId(), sender);
      return;
    }
    if (!acceptVote("commit", sender, c.getView(), c.getSequence(), c.getDigest())) {
      return;
    }
    Slot slot = slot(c.getSequence());
    if (!recordVote(slot.commits, "commit", sender, c.getView(), c.getDigest(), signed)) {
      return;
    }
    checkCommitted(slot);
  }

  /**
   * Guards shared by prepares and commits. Votes for a view above ours are kept: they may
   * overtake the NEW-VIEW that opens that view, and each replica holds one vote per slot.
   */
  private boolean acceptVote(String kind, int sender, long v, long s, ByteString digest) {
    if (v < view) {
      reject("wrong view", "%s from %d v=%d n=%d while in view %d", kind, sender, v, s, view);
      return false;
    }
    if (s <= lowWatermark && s > 0) {
      return false; // late vote for a sequence number a stable checkpoint already covers: old news
    }
    if (!inWindow(s)) {
      reject("sequence number outside window", "%s from %d n=%d window (%d, %d]", kind, sender, s, lowWatermark, highWatermark());
      return false;
    }
    if (digest.size() != Digests.SIZE_BYTES) {
      reject("malformed message", "%s from %d has a %d-byte digest", kind, sender, digest.size());
      return false;
    }
    return true;
  }

  private boolean recordVote(Map<Integer, Slot.Vote> votes, String kind, int sender, long v, ByteString digest,
      SignedMessage signed) {
    Slot.Vote previous = votes.get(sender);
    if (previous != null && previous.view() >= v) {
      if (previous.view() == v && !previous.digest().equals(digest)) {
        reject("conflicting " + kind, "%s from %d names two digests in view %d", kind, sender, v);
      }
      return false;
    }
    votes.put(sender, new Slot.Vote(v, digest, signed));
    return true;
  }

  /** prepared(m, v, n, i): the pre-prepare plus 2f matching prepares from distinct backups. */
  private void checkPrepared(Slot slot) {
    if (slot.prepared || !slot.hasPrePrepare() || slot.view != view || viewChanging) {
      return;
    }
    int prepares = planted.contains(PlantedBug.PREPARE_DIGEST_NOT_CHECKED)
        ? (int) slot.prepares.values().stream().filter(p -> p.view() == slot.view).count()
        : slot.matching(slot.prepares);
    if (prepares < (planted.contains(PlantedBug.PREPARE_QUORUM_TOO_SMALL) ? 2 * f - 1 : 2 * f)) {
      return;
    }
    slot.prepared = true;
    slot.certificate = PreparedCertificate.newBuilder().setPrePrepare(slot.prePrepare)
        .addAllPrepares(slot.matchingPrepares()).build();
    slot.certificateView = slot.view;
    record(WalRecord.newBuilder().setPrepared(slot.certificate).build());
    if (!slot.commitSent) {
      slot.commitSent = true;
      Commit commit = Commit.newBuilder().setView(slot.view).setSequence(slot.sequence).setDigest(slot.digest)
          .setReplicaId(id).build();
      SignedMessage mine = broadcast(ReplicaMessage.newBuilder().setCommit(commit).build());
      slot.commits.put(id, new Slot.Vote(slot.view, slot.digest, mine));
    }
    checkCommitted(slot);
  }

  /** committed-local(m, v, n, i): prepared plus 2f + 1 matching commits from distinct replicas. */
  private void checkCommitted(Slot slot) {
    if (slot.committed || !slot.prepared) {
      return;
    }
    if (slot.matching(slot.commits) < (planted.contains(PlantedBug.COMMIT_QUORUM_TOO_SMALL) ? 2 * f : 2 * f + 1)) {
      return;
    }
    slot.committed = true;
    executeReady();
  }

  // ------------------------------------------------------------------ primary: batching

  /**
   * Fills the pipeline: while requests wait and fewer than pipelineDepthMax batches are in
   * flight, cut a batch (bounded by count and bytes) and pre-prepare it at the next sequence
   * number inside the window. Requests that arrive while the pipeline is full wait and ride in
   * the next batch together, so batches grow with load without any timer.
   */
  private void proposeBatches() {
    while (isPrimary() && !pending.isEmpty() && !transfer.active()
        && lastAssigned - lastExecuted() < settings.pipelineDepthMax()
        && lastAssigned + 1 <= highWatermark()) {
      Batch.Builder batch = Batch.newBuilder();
      int bytes = 0;
      while (!pending.isEmpty() && batch.getRequestsCount() < settings.batchSizeMax()) {
        SignedRequest next = pending.peek();
        int size = next.getSerializedSize() + 8;
        if (batch.getRequestsCount() > 0 && bytes + size > settings.batchBytesMax()) {
          break;
        }
        pending.poll();
        Request request = parseRequest(next);
        if (request == null || request.getTimestamp() <= execution.lastTimestamp(request.getClientId())) {
          continue; // executed meanwhile (a retransmission raced its own execution)
        }
        batch.addRequests(next);
        bytes += size;
      }
      if (batch.getRequestsCount() == 0) {
        continue;
      }
      long s = ++lastAssigned;
      Batch b = batch.build();
      ByteString digest = ByteString.copyFrom(Digests.batchDigest(b.getRequestsList()));
      PrePrepare pp = PrePrepare.newBuilder().setView(view).setSequence(s).setDigest(digest).setBatch(b).build();
      SignedMessage signed = broadcast(ReplicaMessage.newBuilder().setPrePrepare(pp).build());
      Slot slot = slot(s);
      slot.accept(view, digest, b, signed);
      checkPrepared(slot);
    }
  }

  // ------------------------------------------------------------------ execution

  /** Executes committed batches strictly in sequence order (section 4.2). */
  private void executeReady() {
    boolean ranRequests = false;
    while (!transfer.active()) {
      Slot slot = slots.get(lastExecuted() + 1);
      if (slot == null || !slot.committed || slot.executed) {
        break;
      }
      List<Execution.Executed> done = execution.execute(slot.sequence, slot.view, slot.batch, effects);
      slot.executed = true;
      record(WalRecord.newBuilder().setCommitted(CommittedBatch.newBuilder().setSequence(slot.sequence)
          .setView(slot.view).setDigest(slot.digest).setBatch(slot.batch)).build());
      for (Execution.Executed e : done) {
        SignedRequest waiting = awaiting.get(e.clientId());
        if (waiting != null && timestampOf(waiting) <= e.timestamp()) {
          awaiting.remove(e.clientId());
          ranRequests = true; // a request this replica was waiting for ran
        }
        Long queued = inProgress.get(e.clientId());
        if (queued != null && queued <= e.timestamp()) {
          inProgress.remove(e.clientId());
        }
      }
      if (lastExecuted() % settings.checkpointInterval() == 0) {
        takeCheckpoint();
      }
    }
    if (ranRequests) {
      // A request we waited for ran: the timer restarts for what still waits (section 4.4), at
      // the base timeout. Other clients' progress does not count: a primary that serves everyone
      // but one client must still be suspected.
      consecutiveViewChanges = 0;
      timerDeadlineMs = -1;
      updateTimer();
    }
    proposeBatches();
  }

  // ------------------------------------------------------------------ checkpoints (4.3)

  private void takeCheckpoint() {
    long s = lastExecuted();
    ByteString digest = execution.stateDigest();
    store.checkpoint(s, execution.clientTableBytes());
    transfer.retain(s, digest, execution);
    Checkpoint cp = Checkpoint.newBuilder().setSequence(s).setStateDigest(digest).setReplicaId(id).build();
    SignedMessage signed = broadcast(ReplicaMessage.newBuilder().setCheckpoint(cp).build());
    recordCheckpoint(id, s, digest, signed);
  }

  private void onCheckpoint(int sender, Checkpoint cp, SignedMessage signed) {
    long s = cp.getSequence();
    if (cp.getReplicaId() != sender) {
      reject("sender does not match signer", "checkpoint names %d, signed by %d", cp.getReplicaId(), sender);
      return;
    }
    if (s <= lowWatermark) {
      return; // old news: already stable
    }
    if (s % settings.checkpointInterval() != 0) {
      reject("sequence number outside window", "checkpoint n=%d from %d is not a checkpoint sequence", s, sender);
      return;
    }
    if (cp.getStateDigest().size() != Digests.SIZE_BYTES) {
      reject("malformed message", "checkpoint from %d has a %d-byte digest", sender, cp.getStateDigest().size());
      return;
    }
    if (s > highWatermark()) {
      // Others are a window or more ahead: remember one vote per replica so that 2f + 1 of them
      // can prove the checkpoint and this replica can fetch that state.
      transfer.noteAhead(sender, s, cp.getStateDigest(), signed);
      return;
    }
    recordCheckpoint(sender, s, cp.getStateDigest(), signed);
  }

  private void recordCheckpoint(int sender, long s, ByteString digest, SignedMessage signed) {
    checkpoints.record(sender, s, digest, signed);
    ByteString mine = checkpoints.digestOf(id, s);
    if (mine == null) {
      // Not executed that far yet. If 2f + 1 agree on it, it is stable whatever this replica
      // does; should execution not get there soon by itself (it missed messages), tick() fetches
      // that state.
      Map.Entry<Long, ByteString> quorum = checkpoints.highestWithQuorum(2 * f + 1);
      if (quorum != null && quorum.getKey() > lastExecuted()
          && (behind == null || behind.sequence() < quorum.getKey())) {
        behind = new Behind(quorum.getKey(), quorum.getValue(),
            checkpoints.matching(quorum.getKey(), quorum.getValue()), nowMs);
      }
      return;
    }
    List<SignedMessage> proof = checkpoints.matching(s, mine);
    if (proof.size() >= 2 * f + 1) {
      makeStable(s, mine, proof);
    }
  }

  /**
   * A checkpoint proven stable by 2f + 1 signed CHECKPOINTs (or a NEW-VIEW): adopt it, and fetch
   * its state if this replica has not executed that far.
   */
  void learnStable(long s, ByteString digest, List<SignedMessage> proof) {
    if (s <= lowWatermark) {
      return;
    }
    makeStable(s, digest, proof);
    if (lastExecuted() < s) {
      log.info("replica {}: stable checkpoint {} is beyond its state (executed {}): fetching it", id, s, lastExecuted());
      transfer.start(s, digest, proof);
    }
  }

  /** A checkpoint with 2f + 1 matching votes is stable: discard the log up to it. */
  void makeStable(long s, ByteString digest, List<SignedMessage> proof) {
    if (s <= lowWatermark) {
      return;
    }
    lowWatermark = s;
    lastStableDigest = digest;
    stableProof = List.copyOf(proof);
    slots.headMap(s, true).clear();
    checkpoints.discardUpTo(s);
    earlyPrePrepares.values().forEach(m -> m.headMap(s, true).clear());
    transfer.stable(s);
    if (lastExecuted() >= s) {
      store.stable(s);
    }
    compactionDue = durable; // computed when the effects are handed out, after the whole event
    log.debug("replica {}: checkpoint {} stable, window now ({}, {}]", id, s, lowWatermark, highWatermark());
    proposeBatches();
  }

  /**
   * Sends the signed CHECKPOINTs that prove our last stable checkpoint to {@code to}, except its
   * own: it knows what it signed, and would only drop it as coming from itself.
   */
  void sendStableProof(int to) {
    for (SignedMessage cp : stableProof) {
      if (cp.getSender() != to) {
        effects.messages().add(new Effects.Outgoing(to, cp));
      }
    }
  }

  /** State transfer installed the state of stable checkpoint {@code s}: continue from there. */
  void installed(long s, ByteString digest, List<SignedMessage> proof) {
    store.checkpoint(s, execution.clientTableBytes());
    store.stable(s);
    for (Long q : new ArrayList<>(slots.headMap(s, true).keySet())) {
      slots.remove(q);
    }
    if (s > lowWatermark) {
      makeStable(s, digest, proof);
    }
    lastAssigned = Math.max(lastAssigned, s);
    for (Map.Entry<Integer, SignedRequest> w : new ArrayList<>(awaiting.entrySet())) {
      if (timestampOf(w.getValue()) <= execution.lastTimestamp(w.getKey())) {
        awaiting.remove(w.getKey());
        inProgress.remove(w.getKey());
      }
    }
    executeReady();
    updateTimer();
  }

  // ------------------------------------------------------------------ catching up (TOCS 5.2)

  /**
   * A peer's periodic status. If it is behind, send what it lacks: the NEW-VIEW of our view, the
   * proof of our stable checkpoint, and certificates of the batches committed after it.
   */
  private void onHeartbeat(int sender, Heartbeat hb) {
    if (hb.getReplicaId() != sender) {
      reject("sender does not match signer", "heartbeat names %d, signed by %d", hb.getReplicaId(), sender);
      return;
    }
    boolean behindInViews = hb.getView() < view || (hb.getView() == view && hb.getViewChanging());
    boolean sendNewView = !viewChanging && behindInViews && lastNewView != null;
    boolean sendLog = hb.getLastExecuted() < lastExecuted();
    if (!sendNewView && !sendLog) {
      return;
    }
    if (nowMs - catchUpAnsweredMs[sender] < settings.viewChangeTimeoutMs() / 2) {
      return; // answered recently; not bad input (delays can bunch a correct peer's heartbeats)
    }
    catchUpAnsweredMs[sender] = nowMs;
    if (sendNewView) {
      effects.messages().add(new Effects.Outgoing(sender, lastNewView));
    }
    if (!sendLog) {
      return;
    }
    if (hb.getLastExecuted() < lowWatermark) {
      sendStableProof(sender);
    }
    int sent = 0;
    long bytes = 0;
    long bytesMax = 2L * settings.batchBytesMax();
    for (Slot slot : slots.tailMap(Math.max(hb.getLastExecuted(), lowWatermark), false).values()) {
      if (sent >= CATCH_UP_BATCHES_MAX || bytes >= bytesMax || slot.sequence > lastExecuted()) {
        break;
      }
      if (slot.committed && slot.prePrepare != null) {
        List<SignedMessage> commits = new ArrayList<>();
        for (Slot.Vote v : slot.commits.values()) {
          if (v.view() == slot.view && v.digest().equals(slot.digest)) {
            commits.add(v.signed());
          }
        }
        if (commits.size() < 2 * f + 1) {
          continue; // committed here without the proof (after a restart): nothing to show
        }
        ReplicaMessage cert = ReplicaMessage.newBuilder().setCommitted(CommittedCertificate.newBuilder()
            .setPrePrepare(slot.prePrepare).addAllCommits(commits)).build();
        send(sender, cert);
        sent++;
        bytes += cert.getSerializedSize();
      }
    }
  }

  /** A batch proven committed by a signed pre-prepare and 2f + 1 matching commits: run it. */
  private void onCommittedCertificate(int sender, CommittedCertificate cert) {
    PrePrepare pp;
    ByteString digest;
    try {
      ReplicaMessage body = ViewChangeRules.parse(cert.getPrePrepare());
      if (!body.hasPrePrepare() || cert.getPrePrepare().getSender() != primaryOf(body.getPrePrepare().getView())) {
        throw new ViewChangeRules.Invalid("pre-prepare not from the primary of its view");
      }
      pp = body.getPrePrepare();
      digest = ByteString.copyFrom(Digests.batchDigest(pp.getBatch().getRequestsList()));
      if (!digest.equals(pp.getDigest())) {
        throw new ViewChangeRules.Invalid("pre-prepare digest does not match its batch");
      }
      java.util.Set<Integer> signers = new java.util.HashSet<>();
      for (SignedMessage m : cert.getCommitsList()) {
        ReplicaMessage c = ViewChangeRules.parse(m);
        if (!c.hasCommit() || c.getCommit().getReplicaId() != m.getSender() || c.getCommit().getView() != pp.getView()
            || c.getCommit().getSequence() != pp.getSequence() || !c.getCommit().getDigest().equals(digest)) {
          throw new ViewChangeRules.Invalid("commit does not match the pre-prepare");
        }
        signers.add(m.getSender());
      }
      if (signers.size() < 2 * f + 1) {
        throw new ViewChangeRules.Invalid(signers.size() + " distinct commits, needs 2f+1 = " + (2 * f + 1));
      }
    } catch (ViewChangeRules.Invalid e) {
      reject("invalid committed certificate", "from %d: %s", sender, e.getMessage());
      return;
    }
    long s = pp.getSequence();
    if (s <= lastExecuted() || s <= lowWatermark || s > highWatermark()) {
      return; // nothing to do with it
    }
    Slot slot = slot(s);
    if (slot.committed && !slot.digest.equals(digest)) {
      throw new IllegalStateException("two different batches committed at " + s);
    }
    if (!slot.committed) {
      slot.accept(pp.getView(), digest, pp.getBatch(), cert.getPrePrepare());
      for (SignedMessage m : cert.getCommitsList()) {
        // Keep the proof, so that this replica can relay the certificate in turn.
        slot.commits.put(m.getSender(), new Slot.Vote(pp.getView(), digest, m));
      }
      slot.prepared = true;
      slot.committed = true;
      slot.prepareSent = true;
      slot.commitSent = true;
      executeReady();
    }
  }

  // ------------------------------------------------------------------ view change (4.4)

  /** Moves to view {@code v} and multicasts VIEW-CHANGE with this replica's proofs. */
  private void startViewChange(long v) {
    if (v <= view) {
      return;
    }
    view = v;
    viewChanging = true;
    viewChangesStarted++;
    consecutiveViewChanges++;
    pending.clear();
    inProgress.clear(); // what waited is re-sent to the new primary when the view opens
    ViewChange.Builder vc = ViewChange.newBuilder().setNewView(v).setReplicaId(id)
        .setStableSequence(lowWatermark).setStableDigest(lastStableDigest).addAllCheckpointProof(stableProof);
    for (Slot slot : slots.values()) {
      if (slot.certificate != null && slot.sequence > lowWatermark) {
        vc.addPrepared(slot.certificate);
      }
    }
    ViewChange message = vc.build();
    SignedMessage signed = broadcast(ReplicaMessage.newBuilder().setViewChange(message).build());
    try {
      viewChanges.put(id, rules.check(id, message, signed));
    } catch (ViewChangeRules.Invalid e) {
      throw new IllegalStateException("own VIEW-CHANGE is invalid: " + e.getMessage(), e);
    }
    viewChanges.values().removeIf(c -> c.message().getNewView() < v);
    // Section 4.5.2: the timer for the NEW-VIEW runs only once 2f + 1 replicas want this view, so
    // a replica that suspects alone does not run ahead through views on its own.
    timerDeadlineMs = -1;
    armNewViewTimer();
    log.info("replica {}: moving to view {} (primary {}), sent VIEW-CHANGE with {} prepared certificates",
        id, v, primaryOf(v), message.getPreparedCount());
    tryNewView();
  }

  private void onViewChange(int sender, ViewChange vc, SignedMessage signed) {
    long v = vc.getNewView();
    if (v < view || (v == view && !viewChanging)) {
      if (v == view && lastNewView != null) {
        effects.messages().add(new Effects.Outgoing(sender, lastNewView)); // it missed the NEW-VIEW
      }
      return; // stale: that view is open or passed
    }
    ViewChangeRules.Checked checked;
    try {
      checked = rules.check(sender, vc, signed);
    } catch (ViewChangeRules.Invalid e) {
      reject("invalid view-change", "from %d for view %d: %s", sender, v, e.getMessage());
      return;
    }
    ViewChangeRules.Checked previous = viewChanges.get(sender);
    if (previous != null && previous.message().getNewView() >= v) {
      return;
    }
    viewChanges.put(sender, checked);
    // Liveness (section 4.5.2): f + 1 replicas want a view above ours, so at least one correct
    // replica does; join the smallest such view rather than wait for our own timer.
    long smallest = Long.MAX_VALUE;
    int above = 0;
    for (ViewChangeRules.Checked c : viewChanges.values()) {
      if (c.sender() != id && c.message().getNewView() > view) {
        above++;
        smallest = Math.min(smallest, c.message().getNewView());
      }
    }
    if (above >= f + 1) {
      startViewChange(smallest);
      return;
    }
    armNewViewTimer();
    tryNewView();
  }

  private void armNewViewTimer() {
    if (!viewChanging || timerDeadlineMs >= 0) {
      return;
    }
    // A replica whose newest VIEW-CHANGE is for this view or a later one has left the previous
    // view too; counting it only delays, never risks, safety (timers do not affect safety).
    int wanting = 0;
    for (ViewChangeRules.Checked c : viewChanges.values()) {
      if (c.message().getNewView() >= view) {
        wanting++;
      }
    }
    if (wanting >= 2 * f + 1) {
      timerDeadlineMs = nowMs + timeoutMs();
    }
  }

  /** The new primary, once 2f + 1 VIEW-CHANGEs for its view arrived, multicasts NEW-VIEW. */
  private void tryNewView() {
    if (!viewChanging || primaryOf(view) != id) {
      return;
    }
    List<ViewChangeRules.Checked> set = new ArrayList<>();
    set.add(viewChanges.get(id));
    for (int r = 0; r < n && set.size() < 2 * f + 1; r++) {
      ViewChangeRules.Checked c = viewChanges.get(r);
      if (r != id && c != null && c.message().getNewView() == view) {
        set.add(c);
      }
    }
    if (set.size() < 2 * f + 1) {
      return;
    }
    ViewChangeRules.Plan plan = rules.plan(set);
    NewView.Builder nv = NewView.newBuilder().setView(view);
    for (ViewChangeRules.Checked c : set) {
      nv.addViewChanges(c.signed());
    }
    List<SignedMessage> prePrepares = new ArrayList<>();
    for (ViewChangeRules.Planned p : plan.prePrepares()) {
      PrePrepare pp = PrePrepare.newBuilder().setView(view).setSequence(p.sequence()).setDigest(p.digest())
          .setBatch(p.batch()).build();
      prePrepares.add(sign(ReplicaMessage.newBuilder().setPrePrepare(pp).build()));
    }
    nv.addAllPrePrepares(prePrepares);
    lastNewView = broadcast(ReplicaMessage.newBuilder().setNewView(nv).build());
    log.info("replica {}: view {} opens with NEW-VIEW of {} view-changes, pre-prepares for ({}, {}]",
        id, view, set.size(), plan.stableSequence(), plan.stableSequence() + plan.prePrepares().size());
    enterView(plan, prePrepares);
  }

  /** A backup checks a NEW-VIEW by recomputing its pre-prepares from its VIEW-CHANGEs. */
  private void onNewView(int sender, NewView nv, SignedMessage signed) {
    long v = nv.getView();
    if (v < view || (v == view && !viewChanging)) {
      return; // that view is open already or passed
    }
    if (sender != primaryOf(v)) {
      reject("new-view from non-primary", "sender %d is not primary of view %d", sender, v);
      return;
    }
    List<ViewChangeRules.Checked> set = new ArrayList<>();
    java.util.Set<Integer> senders = new java.util.HashSet<>();
    try {
      for (SignedMessage m : nv.getViewChangesList()) {
        ReplicaMessage body = ViewChangeRules.parse(m);
        if (!body.hasViewChange() || body.getViewChange().getNewView() != v) {
          throw new ViewChangeRules.Invalid("holds a message that is not a VIEW-CHANGE for view " + v);
        }
        if (!senders.add(m.getSender())) {
          throw new ViewChangeRules.Invalid("holds two VIEW-CHANGEs from replica " + m.getSender());
        }
        set.add(rules.check(m.getSender(), body.getViewChange(), m));
      }
      if (set.size() < 2 * f + 1) {
        throw new ViewChangeRules.Invalid("holds " + set.size() + " VIEW-CHANGEs, needs 2f+1 = " + (2 * f + 1));
      }
    } catch (ViewChangeRules.Invalid e) {
      reject("invalid new-view", "from %d for view %d: %s", sender, v, e.getMessage());
      return;
    }
    ViewChangeRules.Plan plan = rules.plan(set);
    List<SignedMessage> given = nv.getPrePreparesList();
    if (planted.contains(PlantedBug.NEW_VIEW_NOT_RECOMPUTED)) {
      plan = rules.planAsGiven(plan, given);
    }
    if (given.size() != plan.prePrepares().size()) {
      reject("new-view with wrong pre-prepares", "view %d: %d pre-prepares, recomputed %d", v, given.size(),
          plan.prePrepares().size());
      return;
    }
    for (int i = 0; i < given.size(); i++) {
      ViewChangeRules.Planned expected = plan.prePrepares().get(i);
      PrePrepare pp;
      try {
        ReplicaMessage body = ViewChangeRules.parse(given.get(i));
        if (!body.hasPrePrepare() || given.get(i).getSender() != sender) {
          throw new ViewChangeRules.Invalid("not a pre-prepare of the new primary");
        }
        pp = body.getPrePrepare();
      } catch (ViewChangeRules.Invalid e) {
        reject("new-view with wrong pre-prepares", "view %d: %s", v, e.getMessage());
        return;
      }
      ByteString batchDigest = ByteString.copyFrom(Digests.batchDigest(pp.getBatch().getRequestsList()));
      if (pp.getView() != v || pp.getSequence() != expected.sequence() || !pp.getDigest().equals(expected.digest())
          || !batchDigest.equals(expected.digest())) {
        reject("new-view with wrong pre-prepares", "view %d: pre-prepare for n=%d differs from the recomputed one",
            v, expected.sequence());
        return;
      }
    }
    if (v > view) {
      view = v; // 2f + 1 replicas moved there: follow without a VIEW-CHANGE of our own
    }
    log.info("replica {}: accepted NEW-VIEW for view {} from {}", id, v, sender);
    lastNewView = signed;
    record(WalRecord.newBuilder().setAcceptedNewView(signed).build());
    enterView(plan, given);
  }

  /** Opens the view: adopt its stable checkpoint, install its pre-prepares, prepare them. */
  private void enterView(ViewChangeRules.Plan plan, List<SignedMessage> prePrepares) {
    viewChanging = false;
    timerDeadlineMs = -1;
    viewChanges.values().removeIf(c -> c.message().getNewView() <= view);
    long minS = plan.stableSequence();
    learnStable(minS, plan.stableDigest(), plan.checkpointProof());
    long maxS = minS + plan.prePrepares().size();
    for (Slot slot : slots.values()) {
      if (slot.sequence > minS && !slot.executed) {
        slot.forgetPrePrepare();
      }
    }
    for (int i = 0; i < plan.prePrepares().size(); i++) {
      ViewChangeRules.Planned p = plan.prePrepares().get(i);
      if (p.sequence() <= lowWatermark || p.sequence() > highWatermark()) {
        continue;
      }
      Slot slot = slot(p.sequence());
      if (primary() == id) {
        slot.accept(view, p.digest(), p.batch(), prePrepares.get(i));
        checkPrepared(slot);
      } else {
        acceptPrePrepareAsBackup(slot, view, p.digest(), p.batch(), prePrepares.get(i));
      }
    }
    lastAssigned = Math.max(maxS, lastExecuted());
    // Pre-prepares of this view that overtook its NEW-VIEW.
    TreeMap<Long, SignedMessage> fromPrimary = earlyPrePrepares.get(primary());
    List<SignedMessage> early = fromPrimary == null ? List.of() : new ArrayList<>(fromPrimary.values());
    earlyPrePrepares.clear();
    for (SignedMessage m : early) {
      try {
        ReplicaMessage body = ReplicaMessage.parseFrom(m.getPayload());
        if (body.getPrePrepare().getView() == view && body.getPrePrepare().getSequence() > maxS) {
          onPrePrepare(m.getSender(), body.getPrePrepare(), m);
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("a verified message stopped parsing", e);
      }
    }
    // Requests that waited during the view change go to the new primary.
    for (SignedRequest r : awaiting.values()) {
      Request request = parseRequest(r);
      inProgress.put(request.getClientId(), request.getTimestamp());
      routeToPrimary(r);
    }
    updateTimer();
    proposeBatches();
  }

  // ------------------------------------------------------------------ durability

  /**
   * Everything the log must still hold once checkpoint {@code lowWatermark} is stable: the
   * stable point with its view, the NEW-VIEW of the current view, this replica's VIEW-CHANGE if
   * it is changing views, and for every sequence number above the checkpoint the pre-prepare it
   * accepted or sent, its own votes, its prepared certificate and the batch if it executed it.
   */
  private List<WalRecord> liveRecords() {
    List<WalRecord> live = new ArrayList<>();
    live.add(WalRecord.newBuilder().setStable(StablePoint.newBuilder().setSequence(lowWatermark)
        .setStateDigest(lastStableDigest).addAllProof(stableProof).setView(view).setViewChanging(viewChanging))
        .build());
    if (lastNewView != null) {
      live.add(WalRecord.newBuilder().setAcceptedNewView(lastNewView).build());
    }
    ViewChangeRules.Checked mine = viewChanges.get(id);
    if (viewChanging && mine != null) {
      live.add(WalRecord.newBuilder().setSent(mine.signed()).build());
    }
    for (Slot slot : slots.values()) {
      if (slot.prePrepare != null) {
        live.add(slot.prePrepare.getSender() == id
            ? WalRecord.newBuilder().setSent(slot.prePrepare).build()
            : WalRecord.newBuilder().setAcceptedPrePrepare(slot.prePrepare).build());
      }
      for (Map<Integer, Slot.Vote> votes : List.of(slot.prepares, slot.commits)) {
        Slot.Vote own = votes.get(id);
        if (own != null) {
          live.add(WalRecord.newBuilder().setSent(own.signed()).build());
        }
      }
      if (slot.certificate != null) {
        live.add(WalRecord.newBuilder().setPrepared(slot.certificate).build());
      }
      if (slot.executed) {
        live.add(WalRecord.newBuilder().setCommitted(CommittedBatch.newBuilder().setSequence(slot.sequence)
            .setView(slot.view).setDigest(slot.digest).setBatch(slot.batch)).build());
      }
    }
    return live;
  }

  /**
   * Rebuilds this replica after a restart: the application recovered its own checkpoint at
   * {@code appSequence} (with {@code clientTable}, saved beside it), and {@code records} holds the
   * records the replica wrote since its last compaction. Restores its view, stable checkpoint,
   * the pre-prepares it accepted and the votes it sent (so that it never contradicts them), its
   * prepared certificates, and re-executes the batches it had executed after the checkpoint.
   * What it still lacks, it gets from its peers (heartbeats, state transfer).
   */
  public void recover(long appSequence, byte[] clientTable, List<WalRecord> records) {
    if (appSequence > 0 || clientTable.length > 0) {
      execution.recoverAt(appSequence, clientTable);
    }
    TreeMap<Long, CommittedBatch> committed = new TreeMap<>();
    for (WalRecord r : records) {
      try {
        switch (r.getEntryCase()) {
          case STABLE -> recoverStable(r.getStable());
          case SENT -> recoverSent(r.getSent());
          case ACCEPTED_PRE_PREPARE -> {
            PrePrepare pp = ViewChangeRules.parse(r.getAcceptedPrePrepare()).getPrePrepare();
            view = Math.max(view, pp.getView());
            Slot slot = slot(pp.getSequence());
            if (slot.view <= pp.getView()) {
              slot.accept(pp.getView(), pp.getDigest(), pp.getBatch(), r.getAcceptedPrePrepare());
            }
          }
          case PREPARED -> {
            PrePrepare pp = ViewChangeRules.parse(r.getPrepared().getPrePrepare()).getPrePrepare();
            Slot slot = slot(pp.getSequence());
            if (pp.getView() >= slot.certificateView) {
              slot.certificate = r.getPrepared();
              slot.certificateView = pp.getView();
            }
          }
          case ACCEPTED_NEW_VIEW -> recoverNewView(r.getAcceptedNewView());
          case COMMITTED -> committed.put(r.getCommitted().getSequence(), r.getCommitted());
          default -> throw new IllegalStateException("unknown log record " + r.getEntryCase());
        }
      } catch (ViewChangeRules.Invalid e) {
        throw new IllegalStateException("own log record does not parse: " + e.getMessage(), e);
      }
    }
    slots.headMap(lowWatermark, true).clear();
    for (Slot slot : slots.values()) {
      slot.prepared = slot.certificate != null && slot.certificateView == slot.view;
    }
    for (CommittedBatch c : committed.tailMap(lastExecuted(), false).values()) {
      if (c.getSequence() <= lowWatermark && c.getSequence() <= lastExecuted()) {
        continue;
      }
      Slot slot = slot(c.getSequence());
      slot.accept(c.getView(), c.getDigest(), c.getBatch(), slot.prePrepare);
      slot.prepared = true;
      slot.committed = true;
      slot.prepareSent = true;
      slot.commitSent = true;
    }
    lastAssigned = Math.max(lastAssigned, lastExecuted());
    log.info("replica {}: recovered view {}{}, stable checkpoint {}, application at {}, {} batches to replay",
        id, view, viewChanging ? " (changing)" : "", lowWatermark, appSequence,
        committed.tailMap(lastExecuted(), false).size());
    if (lastExecuted() < lowWatermark) {
      transfer.start(lowWatermark, lastStableDigest, stableProof);
    } else {
      executeReady();
    }
    if (viewChanging) {
      armNewViewTimer();
    }
  }

  private void recoverStable(StablePoint p) {
    if (p.getSequence() >= lowWatermark) {
      lowWatermark = p.getSequence();
      lastStableDigest = p.getStateDigest();
      stableProof = List.copyOf(p.getProofList());
    }
    if (p.getView() > view || (p.getView() == view && p.getViewChanging())) {
      view = p.getView();
      viewChanging = p.getViewChanging();
    }
  }

  private void recoverNewView(SignedMessage signed) throws ViewChangeRules.Invalid {
    NewView nv = ViewChangeRules.parse(signed).getNewView();
    if (nv.getView() < view) {
      return;
    }
    view = nv.getView();
    viewChanging = false;
    lastNewView = signed;
    for (SignedMessage m : nv.getPrePreparesList()) {
      PrePrepare pp = ViewChangeRules.parse(m).getPrePrepare();
      Slot slot = slot(pp.getSequence());
      if (slot.view <= pp.getView()) {
        slot.accept(pp.getView(), pp.getDigest(), pp.getBatch(), m);
      }
    }
  }

  private void recoverSent(SignedMessage signed) throws ViewChangeRules.Invalid {
    ReplicaMessage m = ViewChangeRules.parse(signed);
    switch (m.getBodyCase()) {
      case PRE_PREPARE -> {
        PrePrepare pp = m.getPrePrepare();
        view = Math.max(view, pp.getView());
        Slot slot = slot(pp.getSequence());
        if (slot.view <= pp.getView()) {
          slot.accept(pp.getView(), pp.getDigest(), pp.getBatch(), signed);
        }
        lastAssigned = Math.max(lastAssigned, pp.getSequence());
      }
      case PREPARE -> {
        Prepare p = m.getPrepare();
        view = Math.max(view, p.getView());
        Slot slot = slot(p.getSequence());
        slot.prepares.put(id, new Slot.Vote(p.getView(), p.getDigest(), signed));
        slot.prepareSent = true;
      }
      case COMMIT -> {
        Commit c = m.getCommit();
        view = Math.max(view, c.getView());
        Slot slot = slot(c.getSequence());
        slot.commits.put(id, new Slot.Vote(c.getView(), c.getDigest(), signed));
        slot.commitSent = true;
      }
      case CHECKPOINT -> {
        Checkpoint cp = m.getCheckpoint();
        if (cp.getSequence() > lowWatermark) {
          checkpoints.record(id, cp.getSequence(), cp.getStateDigest(), signed);
        }
      }
      case VIEW_CHANGE -> {
        ViewChange vc = m.getViewChange();
        if (vc.getNewView() > view || (vc.getNewView() == view && viewChanging)) {
          view = vc.getNewView();
          viewChanging = true;
          viewChanges.put(id, rules.check(id, vc, signed));
        }
      }
      case NEW_VIEW -> recoverNewView(signed);
      default -> { }
    }
  }

  // ------------------------------------------------------------------ helpers

  private boolean inWindow(long s) {
    return s > lowWatermark && s <= highWatermark();
  }

  private Slot slot(long s) {
    return slots.computeIfAbsent(s, Slot::new);
  }

  static Request parseRequest(SignedRequest r) {
    try {
      return Request.parseFrom(r.getRequest());
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  private static long timestampOf(SignedRequest r) {
    Request request = parseRequest(r);
    return request == null ? Long.MIN_VALUE : request.getTimestamp();
  }

  SignedMessage sign(ReplicaMessage message) {
    byte[] payload = message.toByteArray();
    return SignedMessage.newBuilder().setSender(id).setPayload(ByteString.copyFrom(payload))
        .setSignature(ByteString.copyFrom(signer.sign(payload))).build();
  }

  private SignedMessage broadcast(ReplicaMessage message) {
    SignedMessage signed = sign(message);
    recordSent(message, signed);
    effects.messages().add(new Effects.Outgoing(Effects.Outgoing.ALL, signed));
    return signed;
  }

  void send(int to, ReplicaMessage message) {
    SignedMessage signed = sign(message);
    recordSent(message, signed);
    effects.messages().add(new Effects.Outgoing(to, signed));
  }

  /** What this replica says in the protocol must survive a crash, so it never says otherwise. */
  private void recordSent(ReplicaMessage message, SignedMessage signed) {
    switch (message.getBodyCase()) {
      case PRE_PREPARE, PREPARE, COMMIT, CHECKPOINT, VIEW_CHANGE, NEW_VIEW ->
          record(WalRecord.newBuilder().setSent(signed).build());
      default -> { }
    }
  }

  void reject(String reason, String detailFormat, Object... args) {
    rejections.count(reason);
    if (log.isDebugEnabled()) {
      log.debug("replica {}: dropped ({}): {}", id, reason, String.format(detailFormat, args));
    }
  }

  /** Invariants that must hold after every event; a violation is a bug, never bad input. */
  public void checkInvariants() {
    if (lastExecuted() < lowWatermark && !transfer.active()) {
      throw new IllegalStateException("executed " + lastExecuted() + " below stable checkpoint " + lowWatermark);
    }
    if (!slots.isEmpty() && slots.firstKey() <= lowWatermark) {
      throw new IllegalStateException("slot " + slots.firstKey() + " kept below low watermark " + lowWatermark);
    }
    if (slots.size() > settings.windowSize()) {
      throw new IllegalStateException("log holds " + slots.size() + " slots, window is " + settings.windowSize());
    }
  }
}

package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.config.ProtocolSettings;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Signer;
import io.pbft.proto.Batch;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.Commit;
import io.pbft.proto.ForwardedRequest;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PBFT protocol of one replica, as a pure event-driven object: events in (verified replica
 * messages, verified client requests), {@link Effects} out. No threads, sockets, clocks, files or
 * randomness: the gRPC runtime and the deterministic simulator drive the same code.
 *
 * <p>Inputs are expected to carry valid signatures already (the runtime verifies them in a pool,
 * off the event loop; see {@code io.pbft.replica.verify.InboundVerifier}). Everything else about
 * them is untrusted: each handler opens with guard clauses that drop and count bad input with a
 * named reason, and only then changes state.
 *
 * <p>This class covers the normal case (section 4.2) and checkpoints with log truncation
 * (section 4.3). View changes plug in as further handlers over the same {@link Slot} log.
 */
public final class ReplicaCore {
  private static final Logger log = LoggerFactory.getLogger(ReplicaCore.class);

  private final int id;
  private final int n;
  private final int f;
  private final ProtocolSettings settings;
  private final Signer signer;
  private final StateMachine app;
  private final IntPredicate knownClient;

  private long view;
  private long lowWatermark;       // h: sequence number of the last stable checkpoint
  private long lastExecuted;
  private long lastAssigned;       // primary: last sequence number it pre-prepared
  private ByteString lastStableDigest = ByteString.EMPTY;

  private final TreeMap<Long, Slot> slots = new TreeMap<>();
  private final ClientTable clients = new ClientTable();
  /** Requests waiting at the primary for a batch, FIFO. */
  private final ArrayDeque<SignedRequest> pending = new ArrayDeque<>();
  /** Per client, the newest timestamp queued, proposed or forwarded and not yet executed. */
  private final Map<Integer, Long> inProgress = new HashMap<>();
  /** Checkpoint votes above the low watermark: sequence -> sender -> state digest. */
  private final TreeMap<Long, Map<Integer, ByteString>> checkpoints = new TreeMap<>();

  private final Rejections rejections = new Rejections();
  private Effects effects = Effects.empty();
  private long executedRequests;

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
    this.app = app;
    this.knownClient = knownClient;
  }

  // ------------------------------------------------------------------ queries

  public int id() {
    return id;
  }

  public long view() {
    return view;
  }

  public int primary() {
    return primaryOf(view);
  }

  public int primaryOf(long v) {
    return (int) (v % n);
  }

  public boolean isPrimary() {
    return primary() == id;
  }

  public long lastExecuted() {
    return lastExecuted;
  }

  public long lowWatermark() {
    return lowWatermark;
  }

  public long highWatermark() {
    return lowWatermark + settings.windowSize();
  }

  public long executedRequests() {
    return executedRequests;
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

  /** The digest a checkpoint at the current point would carry: application plus client table. */
  public byte[] stateDigest() {
    return app.stateDigest();
  }

  public ByteString lastStableCheckpointDigest() {
    return lastStableDigest;
  }

  /** The reply to the last request executed for {@code clientId}, or null. */
  public Reply lastReply(int clientId) {
    return clients.lastReply(clientId);
  }

  /** Hands out everything accumulated since the last call. */
  public Effects takeEffects() {
    Effects out = effects;
    effects = Effects.empty();
    return out;
  }

  // ------------------------------------------------------------------ client requests

  /**
   * A client request whose signature the runtime verified. The primary queues it for a batch; a
   * backup passes it on to the primary (the client sent it to everyone after a timeout).
   */
  public void onClientRequest(SignedRequest signed, Request request) {
    if (!acceptableRequest(request, "client request")) {
      return;
    }
    int c = request.getClientId();
    long t = request.getTimestamp();
    long last = clients.lastTimestamp(c);
    if (t == last) {
      // Retransmission of the request we executed last: send the cached reply again.
      Reply cached = clients.lastReply(c);
      if (cached != null) {
        effects.replies().add(new Effects.ClientReply(c, cached));
      }
      return;
    }
    if (t < last) {
      reject("request timestamp older than last executed", "client %d t=%d last=%d", c, t, last);
      return;
    }
    Long queued = inProgress.get(c);
    if (queued != null && queued >= t) {
      return; // already queued, proposed or forwarded: nothing new to do
    }
    if (isPrimary()) {
      if (pending.size() >= settings.pendingRequestsMax()) {
        reject("pending request queue full", "client %d t=%d", c, t);
        return;
      }
      pending.add(signed);
      inProgress.put(c, t);
      proposeBatches();
    } else {
      inProgress.put(c, t);
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
      case CHECKPOINT -> onCheckpoint(sender, message.getCheckpoint());
      case FORWARDED_REQUEST -> onForwardedRequest(sender, message.getForwardedRequest());
      default -> reject("malformed message", "empty body from %d", sender);
    }
  }

  private void onForwardedRequest(int sender, ForwardedRequest forwarded) {
    if (!isPrimary()) {
      reject("forwarded request at a backup", "from %d", sender);
      return;
    }
    Request request = parseRequest(forwarded.getRequest());
    if (request == null) {
      reject("malformed message", "forwarded request from %d does not parse", sender);
      return;
    }
    onClientRequest(forwarded.getRequest(), request);
  }

  /** Section 4.2: a backup accepts a pre-prepare only under these conditions. */
  private void onPrePrepare(int sender, PrePrepare pp, SignedMessage signed) {
    long v = pp.getView();
    long s = pp.getSequence();
    if (sender != primaryOf(v)) {
      reject("pre-prepare from non-primary", "sender %d is not primary of view %d", sender, v);
      return;
    }
    if (v != view) {
      reject("wrong view", "pre-prepare v=%d n=%d while in view %d", v, s, view);
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
    if (slot.executed) {
      return;
    }
    acceptPrePrepare(slot, v, digest, batch, signed);
    slot.prepareSent = true;
    Prepare prepare = Prepare.newBuilder().setView(v).setSequence(s).setDigest(digest).setReplicaId(id).build();
    SignedMessage mine = broadcast(ReplicaMessage.newBuilder().setPrepare(prepare).build());
    slot.prepares.put(id, new Slot.Vote(v, digest, mine));
    for (SignedRequest r : batch.getRequestsList()) {
      Request request = parseRequest(r);
      inProgress.merge(request.getClientId(), request.getTimestamp(), Math::max);
    }
    checkPrepared(slot);
  }

  private void acceptPrePrepare(Slot slot, long v, ByteString digest, Batch batch, SignedMessage signed) {
    slot.view = v;
    slot.digest = digest;
    slot.batch = batch;
    slot.prePrepare = signed;
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

  /** Guards shared by prepares and commits. */
  private boolean acceptVote(String kind, int sender, long v, long s, ByteString digest) {
    if (v != view) {
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
    if (previous != null && previous.view() == v) {
      if (!previous.digest().equals(digest)) {
        reject("conflicting " + kind, "%s from %d for n=%d names two digests in view %d", kind, sender, 0, v);
      }
      return false;
    }
    votes.put(sender, new Slot.Vote(v, digest, signed));
    return true;
  }

  /** prepared(m, v, n, i): the pre-prepare plus 2f matching prepares from distinct backups. */
  private void checkPrepared(Slot slot) {
    if (slot.prepared || !slot.hasPrePrepare()) {
      return;
    }
    if (slot.matching(slot.prepares) < 2 * f) {
      return;
    }
    slot.prepared = true;
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
    if (slot.matching(slot.commits) < 2 * f + 1) {
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
    while (isPrimary() && !pending.isEmpty()
        && lastAssigned - lastExecuted < settings.pipelineDepthMax()
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
        if (request == null || request.getTimestamp() <= clients.lastTimestamp(request.getClientId())) {
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
      acceptPrePrepare(slot, view, digest, b, signed);
      checkPrepared(slot);
    }
  }

  // ------------------------------------------------------------------ execution

  /** Executes committed batches strictly in sequence order (section 4.2). */
  private void executeReady() {
    while (true) {
      Slot slot = slots.get(lastExecuted + 1);
      if (slot == null || !slot.committed || slot.executed) {
        break;
      }
      execute(slot);
      slot.executed = true;
      lastExecuted = slot.sequence;
      if (lastExecuted % settings.checkpointInterval() == 0) {
        takeCheckpoint();
      }
    }
    proposeBatches();
  }

  private void execute(Slot slot) {
    List<Operation> ops = new ArrayList<>();
    List<Request> requests = new ArrayList<>();
    for (SignedRequest r : slot.batch.getRequestsList()) {
      Request request = parseRequest(r);
      int c = request.getClientId();
      long t = request.getTimestamp();
      if (t <= clients.lastTimestamp(c)) {
        // Ordered twice (a retransmission) or older than what ran: at most once per timestamp.
        if (t == clients.lastTimestamp(c) && clients.lastReply(c) != null) {
          effects.replies().add(new Effects.ClientReply(c, clients.lastReply(c)));
        }
        continue;
      }
      // A later request of the same client in the same batch supersedes the earlier one.
      ops.add(new Operation(c, t, request.getOperation().toByteArray()));
      requests.add(request);
      clients.record(c, t, null);
    }
    if (ops.isEmpty()) {
      return;
    }
    List<byte[]> results = app.execute(new ExecutionContext(slot.sequence, slot.view), ops);
    if (results.size() != ops.size()) {
      throw new IllegalStateException("application returned " + results.size() + " results for " + ops.size() + " operations");
    }
    for (int i = 0; i < requests.size(); i++) {
      Request request = requests.get(i);
      Reply reply = Reply.newBuilder().setView(slot.view).setTimestamp(request.getTimestamp())
          .setClientId(request.getClientId()).setReplicaId(id).setResult(ByteString.copyFrom(results.get(i))).build();
      clients.record(request.getClientId(), request.getTimestamp(), reply);
      Long queued = inProgress.get(request.getClientId());
      if (queued != null && queued <= request.getTimestamp()) {
        inProgress.remove(request.getClientId());
      }
      effects.replies().add(new Effects.ClientReply(request.getClientId(), reply));
    }
    executedRequests += ops.size();
  }

  // ------------------------------------------------------------------ checkpoints (4.3)

  private void takeCheckpoint() {
    ByteString digest = ByteString.copyFrom(stateDigest());
    Checkpoint cp = Checkpoint.newBuilder().setSequence(lastExecuted).setStateDigest(digest).setReplicaId(id).build();
    broadcast(ReplicaMessage.newBuilder().setCheckpoint(cp).build());
    recordCheckpoint(id, lastExecuted, digest);
  }

  private void onCheckpoint(int sender, Checkpoint cp) {
    long s = cp.getSequence();
    if (cp.getReplicaId() != sender) {
      reject("sender does not match signer", "checkpoint names %d, signed by %d", cp.getReplicaId(), sender);
      return;
    }
    if (s <= lowWatermark) {
      return; // old news: already stable
    }
    if (s % settings.checkpointInterval() != 0 || s > highWatermark()) {
      reject("sequence number outside window", "checkpoint n=%d from %d", s, sender);
      return;
    }
    if (cp.getStateDigest().size() != Digests.SIZE_BYTES) {
      reject("malformed message", "checkpoint from %d has a %d-byte digest", sender, cp.getStateDigest().size());
      return;
    }
    recordCheckpoint(sender, s, cp.getStateDigest());
  }

  private void recordCheckpoint(int sender, long s, ByteString digest) {
    checkpoints.computeIfAbsent(s, k -> new HashMap<>()).putIfAbsent(sender, digest);
    ByteString mine = checkpoints.get(s).get(id);
    if (mine == null) {
      return; // not executed that far yet: our own checkpoint will re-check
    }
    int matching = 0;
    for (ByteString d : checkpoints.get(s).values()) {
      if (d.equals(mine)) {
        matching++;
      }
    }
    if (matching >= 2 * f + 1) {
      makeStable(s, mine);
    }
  }

  /** A checkpoint with 2f + 1 matching votes is stable: discard the log up to it. */
  private void makeStable(long s, ByteString digest) {
    lowWatermark = s;
    lastStableDigest = digest;
    slots.headMap(s, true).clear();
    checkpoints.headMap(s, true).clear();
    log.debug("replica {}: checkpoint {} stable, window now ({}, {}]", id, s, lowWatermark, highWatermark());
    proposeBatches();
  }

  // ------------------------------------------------------------------ helpers

  private boolean inWindow(long s) {
    return s > lowWatermark && s <= highWatermark();
  }

  private Slot slot(long s) {
    return slots.computeIfAbsent(s, Slot::new);
  }

  private static Request parseRequest(SignedRequest r) {
    try {
      return Request.parseFrom(r.getRequest());
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  private SignedMessage sign(ReplicaMessage message) {
    byte[] payload = message.toByteArray();
    return SignedMessage.newBuilder().setSender(id).setPayload(ByteString.copyFrom(payload))
        .setSignature(ByteString.copyFrom(signer.sign(payload))).build();
  }

  private SignedMessage broadcast(ReplicaMessage message) {
    SignedMessage signed = sign(message);
    effects.messages().add(new Effects.Outgoing(Effects.Outgoing.ALL, signed));
    return signed;
  }

  private void send(int to, ReplicaMessage message) {
    effects.messages().add(new Effects.Outgoing(to, sign(message)));
  }

  private void reject(String reason, String detailFormat, Object... args) {
    rejections.count(reason);
    if (log.isDebugEnabled()) {
      log.debug("replica {}: dropped ({}): {}", id, reason, String.format(detailFormat, args));
    }
  }

  /** Forgets sequence numbers that will never be used; called by tests and invariants. */
  void checkInvariants() {
    if (lastExecuted < lowWatermark) {
      throw new IllegalStateException("executed " + lastExecuted + " below stable checkpoint " + lowWatermark);
    }
    for (Iterator<Long> it = slots.keySet().iterator(); it.hasNext(); ) {
      long s = it.next();
      if (s <= lowWatermark) {
        throw new IllegalStateException("slot " + s + " kept below low watermark " + lowWatermark);
      }
    }
  }
}

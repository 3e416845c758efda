package io.pbft.replica.core;

import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.WalRecord;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.execution.Execution;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.node.EffectApplier;
import io.pbft.replica.node.InlineReplica;
import io.pbft.replica.verify.Rejections;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * One core under test with its executor run inline (an {@link InlineReplica}): events go in as the
 * runtime would deliver them once verified, and what would leave the replica (messages, replies,
 * log records) piles up until {@link #takeEffects()}. Time stands still between {@link #tick}s.
 */
final class TestReplica {
  private final ReplicaCore core;
  private final Execution execution;
  private final InlineReplica inline;
  private Effects out = new Effects();
  private long nowMs;

  TestReplica(ReplicaCore core, RecordingApp app, CheckpointStore store, EffectApplier.Storage disk) {
    this.core = core;
    this.execution = new Execution(app, store);
    EffectApplier.Storage storage = (records, compaction) -> {
      out.records().addAll(records);
      if (compaction != null) {
        out.compactTo(compaction);
      }
      disk.persist(records, compaction);
    };
    EffectApplier.Transport transport = new EffectApplier.Transport() {
      @Override
      public void send(Effects.Outgoing message) {
        out.messages().add(message);
      }

      @Override
      public void sendLater(Effects.Outgoing message, long delayMs) {
        out.messages().add(message);
      }
    };
    this.inline = new InlineReplica(core, execution, storage, Behaviour.HONEST,
        Behaviour.Signing.of(core.id(), p -> new byte[64]), transport,
        (clientId, reply) -> out.replies().add(new Effects.ClientReply(clientId, reply)));
  }

  ReplicaCore core() {
    return core;
  }

  Execution execution() {
    return execution;
  }

  /** While true, what the executor ran reaches the core only when set false again (at the next event). */
  void executorLags(boolean lag) {
    inline.executorLags(lag);
  }

  void enableDurability() {
    core.enableDurability();
  }

  /** A replica message, as the inbound verifier would pass it on: signature checked, requests parsed. */
  void onMessage(int sender, ReplicaMessage m, SignedMessage signed) {
    inline.run(nowMs, c -> c.onMessage(nowMs, new VerifiedMessage(sender, m, signed, requestsOf(m))));
  }

  void onClientRequest(SignedRequest signed, Request request) {
    inline.run(nowMs, c -> c.onRequest(nowMs, new VerifiedRequest(signed, request)));
  }

  /** The client's first send, to every replica at once (ClientMessage.sent_to_all). */
  void onClientRequestSentToAll(SignedRequest signed, Request request) {
    inline.run(nowMs, c -> c.onRequest(nowMs, new VerifiedRequest(signed, request), true));
  }

  /** A verified read-only request, as the runtime hands it to the executor's side (never to the core). */
  void onReadOnly(SignedRequest signed, Request request) {
    inline.read(new VerifiedRequest(signed, request));
  }

  /** Read-only requests waiting for the executor to reach their floor. */
  int readsWaiting() {
    return inline.reads().waiting();
  }

  void onSessionOpened(int clientId) {
    inline.run(nowMs, c -> c.onSessionOpened(nowMs, clientId));
  }

  /** Ticks between the last tick and {@code now}, as the runtime does. */
  static final long TICK_MS = 20;

  /**
   * Time passes to {@code now}, ticking every {@link #TICK_MS} on the way as the runtime's timer
   * thread does (a replica that does not tick for long takes it as a stall of its own).
   */
  void tick(long now) {
    for (long t = nowMs + TICK_MS; t < now; t += TICK_MS) {
      long at = t;
      nowMs = at;
      inline.run(at, c -> c.tick(at));
    }
    tickOnce(now);
  }

  /**
   * The replica does not run until {@code now}, and the next event it handles is not a tick (a
   * message that waited in its socket while its process was paused).
   */
  void pauseUntil(long now) {
    nowMs = Math.max(nowMs, now);
  }

  /** One tick at {@code now}, however long since the last: this replica stalled in between. */
  void tickOnce(long now) {
    nowMs = Math.max(nowMs, now);
    inline.run(nowMs, c -> c.tick(nowMs));
  }

  /** Runs {@code event} on the core at the current time and carries out what follows, as any input. */
  void run(java.util.function.Consumer<ReplicaCore> event) {
    inline.run(nowMs, event);
  }

  /** After a restart: the application recovered its checkpoint; the core reads its log back. */
  void recover(long appSequence, byte[] clientTable, List<WalRecord> records) {
    if (appSequence > 0 || clientTable.length > 0) {
      execution.recoverAt(appSequence, clientTable);
    }
    inline.run(nowMs, c -> c.recover(nowMs, appSequence, execution.clientTable(), records));
  }

  /** Messages, replies and log records since the last call. */
  Effects takeEffects() {
    Effects taken = out;
    out = new Effects();
    return taken;
  }

  static List<VerifiedRequest> requestsOf(ReplicaMessage m) {
    List<SignedRequest> carried = m.hasPrePrepare() ? m.getPrePrepare().getBatch().getRequestsList()
        : m.hasForwardedRequest() ? List.of(m.getForwardedRequest().getRequest()) : List.of();
    List<VerifiedRequest> out = new ArrayList<>();
    for (SignedRequest r : carried) {
      try {
        // A request with neither signature nor authenticator stands for one this replica could
        // not authenticate (the verifier passes such a request inside a pre-prepare as it is).
        boolean credentials = !r.getSignature().isEmpty() || r.getAuthenticatorCount() > 0;
        out.add(new VerifiedRequest(r, Request.parseFrom(r.getRequest()), credentials));
      } catch (InvalidProtocolBufferException e) {
        return List.of(); // the verifier would have refused it; the core sees the mismatch
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- queries

  int id() {
    return core.id();
  }

  long view() {
    return core.view();
  }

  boolean viewChanging() {
    return core.viewChanging();
  }

  int primaryOf(long v) {
    return core.primaryOf(v);
  }

  long lastExecuted() {
    return core.lastExecuted();
  }

  long lowWatermark() {
    return core.lowWatermark();
  }

  long highWatermark() {
    return core.highWatermark();
  }

  int logSize() {
    return core.logSize();
  }

  int pendingRequests() {
    return core.pendingRequests();
  }

  int suspectedClients() {
    return core.suspectedClients();
  }

  /** How long a request may wait here before this replica suspects its primary. */
  long requestTimeoutMs() {
    return core.requestTimeoutMs();
  }

  long viewChangesStarted() {
    return core.viewChangesStarted();
  }

  boolean fetchingState() {
    return core.fetchingState();
  }

  Rejections rejections() {
    return core.rejections();
  }

  Reply lastReply(int clientId) {
    return core.lastReply(clientId);
  }

  /** The executor's state digest (application and client table). */
  byte[] stateDigest() {
    return execution.stateDigest().toByteArray();
  }
}

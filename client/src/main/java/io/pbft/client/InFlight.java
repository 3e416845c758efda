package io.pbft.client;

import com.google.protobuf.ByteString;
import io.pbft.proto.Reply;
import io.pbft.proto.SignedRequest;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * The one request a client identity has outstanding: its signed bytes, the replies collected
 * so far, and the retransmission state. Guarded by the owning {@link PbftClient}'s lock.
 */
final class InFlight {
  /**
   * Replies from distinct replicas with the same result, enough to accept it, and the view they
   * vouch for; {@code tentative} when it took tentative replies (fewer than f + 1 committed ones).
   */
  record Agreement(byte[] result, long epoch, long view, boolean tentative) {}

  final CompletableFuture<byte[]> future;
  final long timestamp;
  /**
   * Sent as a read-only request: only replies flagged read-only count, 2f + 1 of them must match,
   * and failing that the operation goes again as an ordered request.
   */
  final boolean readOnly;
  /** The operation, kept for a read-only one: its fallback is a new request of the same operation. */
  final byte[] operation;
  /** As last sent; with MACs rebuilt at each send, for the sessions up by then. */
  SignedRequest request;
  final long startNanos;
  final long deadlineNanos;
  private final int quorum;
  /**
   * Matching replies of any kind, tentative ones included, that settle an ordered request: a
   * quorum of the group ({@link io.pbft.config.Quorums}, 2f + 1 when n = 3f + 1). They include
   * f + 1 correct replicas that prepared the batch, so no view change can put another in its
   * place (TOCS 2002, section 5.1.2).
   */
  private final int tentativeQuorum;
  /** Latest authenticated reply per replica: a replica gets one vote, however often it answers. */
  private final Map<Integer, Reply> replies = new HashMap<>();
  /** Replicas with which a session was up at some point during this operation. */
  final BitSet reached = new BitSet();
  /** Replicas the request was handed to (sent, or queued until their session is up). */
  final BitSet sentTo = new BitSet();
  /**
   * Whether its first send went to every replica flagged ClientMessage.sent_to_all: only when
   * the primary's session was up, since backups do not relay a request so flagged.
   */
  boolean flaggedSentToAll;
  /** With MACs: not sent yet, waiting (briefly) for the sessions to come up. */
  boolean waitingForSessions;
  int retransmissions;
  ScheduledFuture<?> timer;

  /** An ordered request: f + 1 matching committed replies, or {@code groupQuorum} of any kind. */
  InFlight(CompletableFuture<byte[]> future, long timestamp, SignedRequest request, long startNanos,
      long timeoutNanos, int quorum, int groupQuorum) {
    this(future, timestamp, request, startNanos, timeoutNanos, quorum, groupQuorum, false, null);
  }

  InFlight(CompletableFuture<byte[]> future, long timestamp, SignedRequest request, long startNanos,
      long timeoutNanos, int quorum, int groupQuorum, boolean readOnly, byte[] operation) {
    this.readOnly = readOnly;
    this.operation = operation;
    this.future = future;
    this.timestamp = timestamp;
    this.request = request;
    this.startNanos = startNanos;
    this.deadlineNanos = startNanos + timeoutNanos;
    this.quorum = quorum;
    this.tentativeQuorum = readOnly ? Integer.MAX_VALUE : groupQuorum;
  }

  /**
   * Counts an authenticated reply for this request (the caller has checked MAC, client, replica
   * and timestamp). Returns the agreement once f + 1 distinct replicas report the same committed
   * result, or 2f + 1 the same result tentative or committed, else null. The (epoch, view) of an
   * agreement is the smallest among the agreeing replies: at least one of them is correct, so a
   * lying replica cannot push the client's view forward.
   */
  Agreement add(int replicaId, Reply reply) {
    reached.set(replicaId);
    replies.put(replicaId, reply);
    ByteString result = reply.getResult();
    int matching = 0;
    int committed = 0;
    long epoch = Long.MAX_VALUE;
    long view = Long.MAX_VALUE;
    for (Reply r : replies.values()) {
      if (r.getResult().equals(result)) {
        matching++;
        if (!r.getTentative()) {
          committed++;
        }
        // The smallest (epoch, view) pair: views start again at 0 in each configuration epoch.
        if (r.getEpoch() < epoch || (r.getEpoch() == epoch && r.getView() < view)) {
          epoch = r.getEpoch();
          view = r.getView();
        }
      }
    }
    if (committed >= quorum) {
      return new Agreement(result.toByteArray(), epoch, view, false);
    }
    return matching >= tentativeQuorum ? new Agreement(result.toByteArray(), epoch, view, true) : null;
  }

  /**
   * Whether no result can reach the quorum any more: the {@code stillAnswerable} replicas that have
   * not replied yet (and may) could not lift the best result to it (the replies split: a concurrent
   * write, a lagging or lying replica; or too many replicas are out of reach).
   */
  boolean cannotAgree(int stillAnswerable) {
    Map<ByteString, Integer> counts = new HashMap<>();
    int best = 0;
    for (Reply r : replies.values()) {
      best = Math.max(best, counts.merge(r.getResult(), 1, Integer::sum));
    }
    return best + stillAnswerable < quorum;
  }

  /** Whether replica {@code id} has replied to this request. */
  boolean replied(int id) {
    return replies.containsKey(id);
  }

  /** Replicas that replied (any result), for error messages. */
  String repliedReplicas() {
    return new java.util.TreeSet<>(replies.keySet()).toString();
  }
}

package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.client.PbftException;
import io.pbft.client.PbftTimeoutException;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.testkit.InvokingKvStore;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A key-value client inside a {@link SimCluster}, behaving as PbftClient does: operations queue
 * and run one at a time with increasing timestamps; a request goes to the primary of the newest
 * view replies named, and after the request timeout again to every replica, the timeout doubling
 * up to its bound; a result counts once f + 1 distinct replicas returned it; an operation fails
 * with {@link PbftTimeoutException} after the operation timeout (virtual time). Futures complete
 * inside the simulation, on its one thread.
 */
final class SimKvStore extends InvokingKvStore {
  private record Queued(byte[] operation, CompletableFuture<byte[]> result) {}

  private final SimCluster cluster;
  private final int id;
  private final Ed25519Keys keys;
  private final ArrayDeque<Queued> queue = new ArrayDeque<>();
  private final Map<Integer, Reply> replies = new HashMap<>();
  private Queued current;
  private SignedRequest signed;
  private long timestamp;
  private long view;
  private long timeoutMs;
  private long deadlineMs;
  private boolean closed;

  SimKvStore(SimCluster cluster, int id, Ed25519Keys keys) {
    this.cluster = cluster;
    this.id = id;
    this.keys = keys;
  }

  @Override
  public int clientId() {
    return id;
  }

  @Override
  protected CompletableFuture<byte[]> invoke(byte[] operation) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    if (closed) {
      result.completeExceptionally(new PbftException("client " + id + " is closed"));
      return result;
    }
    queue.addLast(new Queued(operation.clone(), result));
    startNext();
    return result;
  }

  /** Runs the simulation until {@code operation} completes, then returns its result or throws its failure. */
  @Override
  public <T> T await(CompletableFuture<T> operation) {
    // the operation's own timeout ends it; the bound only guards against a client that never started it
    cluster.runUntil(operation::isDone, cluster.nowMs() + 10 * cluster.operationTimeout().toMillis());
    if (!operation.isDone()) {
      throw new PbftTimeoutException("client " + id + ": the operation did not complete");
    }
    try {
      return operation.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
      throw cause instanceof PbftException p ? p : new PbftException("operation failed: " + cause, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PbftException("interrupted", e);
    }
  }

  private void startNext() {
    if (current != null || queue.isEmpty()) {
      return;
    }
    current = queue.removeFirst();
    timestamp++;
    SimulationConfig config = cluster.config();
    cluster.executionLog().issued(id, timestamp, current.operation());
    byte[] request = Request.newBuilder().setClientId(id).setTimestamp(timestamp)
        .setOperation(ByteString.copyFrom(current.operation())).build().toByteArray();
    signed = SignedRequest.newBuilder().setRequest(ByteString.copyFrom(request))
        .setSignature(ByteString.copyFrom(keys.sign(request))).build();
    replies.clear();
    deadlineMs = cluster.nowMs() + cluster.operationTimeout().toMillis();
    timeoutMs = config.requestTimeoutMs();
    cluster.network().sendRequest(id, (int) (view % config.replicas()), signed);
    armTimeout(timestamp);
  }

  private void armTimeout(long t) {
    cluster.scheduler().after(timeoutMs, () -> onTimeout(t));
  }

  /** No f + 1 answers in time: the primary may be faulty, so tell every replica (or give up). */
  private void onTimeout(long t) {
    if (current == null || t != timestamp) {
      return; // that operation completed meanwhile
    }
    if (cluster.nowMs() >= deadlineMs) {
      finish(null, new PbftTimeoutException("client " + id + ": no f + 1 matching replies within "
          + cluster.operationTimeout().toMillis() + " virtual ms (timestamp " + t + ")"));
      return;
    }
    for (int r = 0; r < cluster.size(); r++) {
      cluster.network().sendRequest(id, r, signed);
    }
    timeoutMs = Math.min(2 * timeoutMs, cluster.config().requestTimeoutMaxMs());
    armTimeout(t);
  }

  void onReply(int from, Reply reply) {
    // the transport authenticates the sending replica (the session MAC), hence `from`
    if (current == null || reply.getTimestamp() != timestamp || reply.getClientId() != id
        || reply.getReplicaId() != from) {
      return;
    }
    replies.put(from, reply);
    int matching = 0;
    long newestView = view;
    for (Reply r : replies.values()) {
      if (r.getResult().equals(reply.getResult())) {
        matching++;
        newestView = Math.max(newestView, r.getView());
      }
    }
    if (matching >= cluster.f() + 1) {
      view = newestView;
      finish(reply.getResult().toByteArray(), null);
    }
  }

  private void finish(byte[] result, RuntimeException failure) {
    Queued done = current;
    current = null;
    // completed in an event of its own: whatever runs on completion (the next put of a writer)
    // must not run inside this client's reply handling
    cluster.scheduler().after(0, () -> {
      if (failure == null) {
        done.result().complete(result);
      } else {
        done.result().completeExceptionally(failure);
      }
      startNext();
    });
  }

  @Override
  public void close() {
    closed = true;
    PbftException gone = new PbftException("client " + id + " is closed");
    if (current != null) {
      current.result().completeExceptionally(gone);
      current = null;
    }
    queue.forEach(q -> q.result().completeExceptionally(gone));
    queue.clear();
  }
}

package io.pbft.client;

import com.google.protobuf.ByteString;
import io.pbft.config.Authentication;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.RequestMacs;
import io.pbft.crypto.SessionHandshake;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.StringJoiner;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Invokes operations on a PBFT replica group as one client identity.
 *
 * <p>Per the protocol a client has at most one request outstanding: replicas remember only the
 * last reply per client, and a newer timestamp makes them drop an older request. So
 * {@link #invoke} queues operations (FIFO, bounded) and sends the next one when the previous
 * one has its result. A request goes to every replica at once (Aardvark's way: the backups then
 * time the primary on every request, so a primary that is slow on purpose or has crashed is
 * suspected without waiting for the client's timeout; they do not relay it), or, with {@code
 * sendToAll(false)}, to the presumed primary alone. If no result arrives within the request
 * timeout it is retransmitted, byte for byte, to all replicas (which relay it), with exponential
 * backoff (capped at {@value #BACKOFF_CAP}x), until the operation timeout. A replica whose
 * session comes up while a request is outstanding is handed that request at once (it may have
 * executed it before it could reply). A result is accepted once f + 1 distinct replicas sent
 * authenticated replies with identical result bytes.
 *
 * <p>{@link #invokeReadOnly} is the read-only optimisation (Castro and Liskov, TOCS 2002, section
 * 5.1.3): the request, flagged read-only inside its authenticated bytes, goes to every replica,
 * each answers from its current state without ordering it, and the result is accepted once 2f + 1
 * replicas answered it alike. When that cannot happen within the read-only timeout (a concurrent
 * write splits the answers, a replica lags, lies or is down) the same operation is sent as an
 * ordered request under a new timestamp, as {@link #invoke} would. Its timestamp comes from the
 * same counter as the ordered ones; replicas never record it, so it neither advances nor disturbs
 * the exactly-once bookkeeping of ordered requests (the counter only grows, and gaps are allowed).
 *
 * <p>Futures are completed on gRPC or pool threads; keep callbacks short or use the async
 * variants of CompletableFuture. Thread-safe.
 */
public final class PbftClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PbftClient.class);
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(1);
  /** How long a read-only operation waits for 2f + 1 matching replies before it is ordered. */
  public static final Duration DEFAULT_READ_ONLY_TIMEOUT = Duration.ofMillis(250);
  public static final Duration DEFAULT_OPERATION_TIMEOUT = Duration.ofSeconds(30);
  public static final int DEFAULT_QUEUE_CAPACITY = 1024;
  static final int BACKOFF_CAP = 8;
  /** With MACs, how long the first request waits for sessions with every replica to come up. */
  static final long SESSIONS_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
  /**
   * With MACs, after {@link #SESSIONS_WAIT_NANOS}, how often the first request checks again
   * whether sessions with a quorum are up, for as long as a handshake may take.
   */
  static final long SESSIONS_RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
  private static final Duration MIN_HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);

  private final ClusterConfig config;
  private final int clientId;
  private final Ed25519Keys keys;
  private final long requestTimeoutNanos;
  private final long operationTimeoutNanos;
  private final long readOnlyTimeoutNanos;
  /** Read-only operations answered by 2f + 1 matching replies, and those that fell back to ordering. */
  private long readOnlyAnswered;
  private long readOnlyFallbacks;
  /** Ordered operations accepted on a quorum of matching replies of which fewer than f + 1 were committed. */
  private long tentativeAccepted;
  /** How long a session handshake may take before the session starts over. */
  private final long handshakeTimeoutNanos;
  private final int queueCapacity;
  private final ClusterChannels channels;
  private final boolean ownsChannels;
  /**
   * A session with each member of the membership this client knows, in the membership's order
   * (the primary of view v is {@code sessions[v mod n]}); replaced whole (under {@link #lock})
   * when the client follows the group to members added or removed.
   */
  private volatile ReplicaSession[] sessions;
  /** The session with each member, by replica id (null for other ids); changed with {@link #sessions}. */
  private final ReplicaSession[] sessionById = new ReplicaSession[io.pbft.config.Membership.ID_LIMIT];
  /** The address each session dials, by replica id (the follower thread's, after the constructor). */
  private final String[] sessionAddress = new String[io.pbft.config.Membership.ID_LIMIT];
  private final SecureRandom random = new SecureRandom();
  private final long retryDelayNanos;

  private final Object lock = new Object();
  private final ArrayDeque<Queued> queue = new ArrayDeque<>();
  private InFlight current;
  private long nextTimestamp;
  /** First sends go to every replica (see the class comment). */
  private final boolean sendToAll;
  /** Requests carry an authenticator of MACs instead of a signature ({@code authentication: macs}). */
  private final boolean macs;
  private final RequestAuthenticator authenticator;
  /** Told of every request sent (see {@link PbftClientBuilder#requestListener}); null for none. */
  private final Consumer<SignedRequest> requestListener;
  private boolean waitedForSessions;
  private long view;
  /** The configuration epoch of {@link #view}. */
  private long epoch;
  private boolean closed;
  /** The membership this client knows, followed through the group's changes (docs/RECONFIGURATION.md). */
  private final MembershipFollower members;
  /** A look at the replicas' chains of changes is under way, and when the last one began. */
  private final java.util.concurrent.atomic.AtomicBoolean following = new java.util.concurrent.atomic.AtomicBoolean();
  private volatile long followedAtNanos = System.nanoTime() - FOLLOW_INTERVAL_NANOS;
  /** At most one look at the replicas' chains of changes per this interval. */
  static final long FOLLOW_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
  private static final java.util.concurrent.ExecutorService FOLLOWERS = java.util.concurrent.Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "pbft-client-membership");
    t.setDaemon(true);
    return t;
  });

  /** An operation waiting its turn; {@code command} set for a reconfiguration (then {@code operation} is its bytes). */
  private record Queued(byte[] operation, CompletableFuture<byte[]> future, boolean readOnly,
      io.pbft.proto.Reconfiguration command) {}

  /** Kept private so that only authenticated replies from the sessions reach the vote count. */
  private final ReplicaSession.Listener events = new ReplicaSession.Listener() {
    @Override
    public void onReply(int replicaId, Reply reply) {
      PbftClient.this.onReply(replicaId, reply);
    }

    @Override
    public void onSessionUp(int replicaId) {
      PbftClient.this.onSessionUp(replicaId);
    }

    @Override
    public void onBadAccept(int replicaId) {
      followMembership("replica " + replicaId + "'s session accept did not check under its known key");
    }
  };

  PbftClient(ClusterConfig config, int clientId, Ed25519Keys keys, Duration requestTimeout,
      Duration operationTimeout, int queueCapacity, ClusterChannels channels, boolean owns, boolean sendToAll,
      Consumer<SignedRequest> requestListener, Duration readOnlyTimeout) {
    this.config = config;
    this.readOnlyTimeoutNanos = readOnlyTimeout.toNanos();
    this.requestListener = requestListener;
    this.sendToAll = sendToAll;
    this.macs = config.authentication() == Authentication.MACS;
    this.authenticator = macs ? new RequestAuthenticator(io.pbft.config.Membership.ID_LIMIT) : null;
    this.clientId = clientId;
    this.keys = keys;
    this.requestTimeoutNanos = requestTimeout.toNanos();
    this.operationTimeoutNanos = operationTimeout.toNanos();
    this.queueCapacity = queueCapacity;
    this.channels = channels;
    this.ownsChannels = owns;
    // Microseconds since the epoch (System.currentTimeMillis() * 1000, at the clock's finer
    // resolution where it has one): a restarted client with the same id keeps increasing,
    // because one-at-a-time operations never run ahead of a microsecond clock.
    this.nextTimestamp = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
    this.handshakeTimeoutNanos = Math.max(MIN_HANDSHAKE_TIMEOUT.toNanos(), requestTimeoutNanos * BACKOFF_CAP);
    this.retryDelayNanos = TimeUnit.MILLISECONDS.toNanos(config.transport().reconnectDelayMs());
    this.members = new MembershipFollower(io.pbft.config.Membership.initial(config));
    List<ReplicaSession> initial = new ArrayList<>();
    for (ReplicaInfo r : config.replicas()) {
      sessionAddress[r.id()] = channels.address(r.id());
      sessionById[r.id()] = session(r, channels.channel(r.id()));
      initial.add(sessionById[r.id()]);
    }
    this.sessions = initial.toArray(new ReplicaSession[0]);
  }

  private ReplicaSession session(ReplicaInfo r, io.grpc.ManagedChannel channel) {
    return new ReplicaSession(r.id(), sessionAddress[r.id()], clientId, keys, r.verifier(),
        ClientServiceGrpc.newStub(channel), random, handshakeTimeoutNanos, retryDelayNanos, events, authenticator);
  }

  /** See {@link PbftClientBuilder}: {@code config} (or {@code channels}) and {@code clientId} are required. */
  public static PbftClientBuilder newBuilder() {
    return new PbftClientBuilder();
  }

  public int clientId() {
    return clientId;
  }

  public ClusterConfig config() {
    return config;
  }

  /**
   * Queues an operation and returns its result once f + 1 replicas agree on it. Fails with
   * {@link PbftTimeoutException} or {@link PbftUnavailableException} after the operation timeout
   * (counted from when the operation is sent, not from when it was queued), or with
   * {@link PbftException} if the queue is full, the operation too large, or the client closed.
   */
  public CompletableFuture<byte[]> invoke(byte[] operation) {
    return enqueue(operation, false);
  }

  /**
   * Queues a read-only operation: sent to every replica flagged read-only, answered from each
   * replica's state without ordering (the application's {@code StateMachine.query}), accepted
   * once 2f + 1 replicas return identical results; otherwise, after the read-only timeout or as
   * soon as the replies can no longer agree, sent again as an ordered operation (as
   * {@link #invoke}). Linearizable either way. Use it only for operations that do not change the
   * state: replicas answer a write sent this way with the application's refusal (the key-value
   * store's BAD_OPERATION), which 2f + 1 of them agree on. Fails as {@link #invoke} does.
   */
  public CompletableFuture<byte[]> invokeReadOnly(byte[] operation) {
    return enqueue(operation, true);
  }

  /**
   * Submits a reconfiguration command (docs/RECONFIGURATION.md; {@code pbft admin} builds and
   * signs one): ordered like any operation, checked by every replica against the group's current
   * membership, and answered with the verdict f + 1 replicas agree on, {@code "reconfiguration
   * accepted: ..."} (it takes effect at the handover checkpoint the verdict names) or {@code
   * "reconfiguration refused: <reason>"}. Fails as {@link #invoke} does.
   */
  public CompletableFuture<String> submitReconfiguration(io.pbft.proto.Reconfiguration command) {
    Objects.requireNonNull(command, "command");
    return enqueue(command.toByteArray(), false, command)
        .thenApply(b -> new String(b, java.nio.charset.StandardCharsets.UTF_8));
  }

  /** {@link #invokeReadOnly} and wait; the failure is rethrown as the PbftException it is. */
  public byte[] invokeReadOnlyBlocking(byte[] operation) {
    return await(invokeReadOnly(operation));
  }

  /**
   * Ordered operations accepted on tentative replies (protocol.tentativeExecution): 2f + 1
   * matching ones, fewer than f + 1 of them committed, so a phase before the commit.
   */
  public long tentativeAccepted() {
    synchronized (lock) {
      return tentativeAccepted;
    }
  }

  /** Read-only operations answered without ordering (2f + 1 matching replies) so far. */
  public long readOnlyAnswered() {
    synchronized (lock) {
      return readOnlyAnswered;
    }
  }

  /** Read-only operations that were sent again as ordered operations so far. */
  public long readOnlyFallbacks() {
    synchronized (lock) {
      return readOnlyFallbacks;
    }
  }

  private CompletableFuture<byte[]> enqueue(byte[] operation, boolean readOnly) {
    return enqueue(operation, readOnly, null);
  }

  private CompletableFuture<byte[]> enqueue(byte[] operation, boolean readOnly, io.pbft.proto.Reconfiguration command) {
    Objects.requireNonNull(operation, "operation");
    CompletableFuture<byte[]> future = new CompletableFuture<>();
    int max = config.protocol().operationBytesMax();
    if (operation.length > max) {
      future.completeExceptionally(new PbftException("operation of " + operation.length
          + " bytes exceeds the cluster's operationBytesMax of " + max + " bytes"));
      return future;
    }
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      if (closed) {
        future.completeExceptionally(new PbftException("client " + clientId + " is closed"));
        return future;
      }
      if (queue.size() >= queueCapacity) {
        future.completeExceptionally(new PbftException("client " + clientId + " already has " + queue.size()
            + " operations queued (queue capacity " + queueCapacity + "); wait for some to complete"));
        return future;
      }
      queue.addLast(new Queued(operation.clone(), future, readOnly, command));
      startNextLocked(after);
    }
    after.forEach(Runnable::run);
    return future;
  }

  /** {@link #invoke} and wait; the failure is rethrown as the PbftException it is. */
  public byte[] invokeBlocking(byte[] operation) {
    return await(invoke(operation));
  }

  private static byte[] await(CompletableFuture<byte[]> future) {
    try {
      return future.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof PbftException p) {
        throw p;
      }
      throw new PbftException("operation failed: " + e.getCause(), e.getCause());
    } catch (CancellationException e) {
      throw new PbftException("operation was cancelled", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PbftException("interrupted while waiting for the result (the operation may still execute)", e);
    }
  }

  /** Sends the next queued operation if none is outstanding. */
  private void startNextLocked(List<Runnable> after) {
    while (current == null && !closed && !queue.isEmpty()) {
      Queued next = queue.pollFirst();
      if (next.future.isDone()) {
        continue; // cancelled by the caller while queued: never sent
      }
      long timestamp = nextTimestamp++;
      SignedRequest signed = requestLocked(timestamp, next.operation, next.readOnly, next.command);
      InFlight op = new InFlight(next.future, timestamp, signed, System.nanoTime(), operationTimeoutNanos,
          next.readOnly ? sessionQuorum() : replyFaults() + 1, replyGroupQuorum(), next.readOnly,
          next.readOnly ? next.operation : null);
      current = op;
      if (macs && !waitedForSessions && sessionsUp() < sessions.length) {
        // The client's first request: sent before the sessions are up it would carry MACs for
        // few replicas, and the backups without one could authenticate it only with help. Let
        // the handshakes finish first (they take milliseconds), but not for longer than
        // SESSIONS_WAIT. Only once: later a replica that is down must not delay every request.
        waitedForSessions = true;
        op.waitingForSessions = true;
        for (ReplicaSession s : sessions) {
          s.connect();
        }
        if (!scheduleLocked(op, Math.min(SESSIONS_WAIT_NANOS, operationTimeoutNanos))) {
          current = null;
          after.add(() -> op.future.completeExceptionally(
              new PbftException("client " + clientId + ": the cluster channels were closed")));
        }
        continue;
      }
      if (!sendFirstLocked(op)) {
        current = null;
        after.add(() -> op.future.completeExceptionally(
            new PbftException("client " + clientId + ": the cluster channels were closed")));
      }
    }
  }

  /**
   * The request for {@code operation} under {@code timestamp}: signed, or with MACs bare (its
   * authenticator is made at each send, for the sessions up by then).
   */
  private SignedRequest requestLocked(long timestamp, byte[] operation, boolean readOnly,
      io.pbft.proto.Reconfiguration command) {
    Request.Builder b = Request.newBuilder().setClientId(clientId).setTimestamp(timestamp).setReadOnly(readOnly);
    if (command != null) {
      b.setReconfiguration(command);
    } else {
      b.setOperation(ByteString.copyFrom(operation));
    }
    byte[] request = b.build().toByteArray();
    return macs ? SignedRequest.newBuilder().setRequest(ByteString.copyFrom(request)).build()
        : SignedRequest.newBuilder()
            .setRequest(ByteString.copyFrom(request))
            .setSignature(ByteString.copyFrom(keys.sign(request)))
            .build();
  }

  /**
   * A read-only operation got no 2f + 1 matching replies: the same operation becomes an ordered
   * request under a new timestamp, with the same future and the same operation deadline.
   */
  private void fallBackLocked(InFlight read, List<Runnable> after) {
    if (read.timer != null) {
      read.timer.cancel(false);
    }
    readOnlyFallbacks++;
    long timestamp = nextTimestamp++;
    InFlight op = new InFlight(read.future, timestamp, requestLocked(timestamp, read.operation, false, null), read.startNanos,
        read.deadlineNanos - read.startNanos, replyFaults() + 1, replyGroupQuorum());
    op.reached.or(read.reached);
    current = op;
    if (!sendFirstLocked(op)) {
      current = null;
      after.add(() -> op.future.completeExceptionally(
          new PbftException("client " + clientId + ": the cluster channels were closed")));
      startNextLocked(after);
    }
  }

  /** The first send of {@code op}, and its request timer; false if the timer could not be set. */
  private boolean sendFirstLocked(InFlight op) {
    op.waitingForSessions = false;
    if (macs) {
      op.request = authenticator.authenticate(op.request.getRequest());
    }
    SignedRequest signed = op.request;
    sentLocked(signed);
    if (op.readOnly) {
      // To every replica: each answers from its own state, and 2f + 1 must agree.
      for (ReplicaSession s : sessions) {
        s.send(signed, false);
        op.sentTo.set(s.replicaId());
        if (s.isUp()) {
          op.reached.set(s.replicaId());
        }
      }
      return scheduleLocked(op, Math.max(0, Math.min(readOnlyTimeoutNanos, op.deadlineNanos - System.nanoTime())));
    }
    {
      ReplicaSession[] members = sessions;
      int primary = members[(int) Long.remainderUnsigned(view, members.length)].replicaId();
      // The flag tells backups that the primary has the request from the client, so that they
      // watch it without relaying it. Without a session to the primary (it is down, or it has not
      // accepted this client yet) the backups must relay it: the send goes unflagged.
      op.flaggedSentToAll = sendToAll && sessionById[primary].isUp();
      for (ReplicaSession s : members) {
        // Every replica answers the client directly, so all sessions must be up. With
        // sendToAll every replica gets the request now, so that the backups time the primary
        // on it from the start; otherwise only the primary does until the request timeout.
        if (sendToAll) {
          s.send(signed, op.flaggedSentToAll);
          op.sentTo.set(s.replicaId());
        } else if (s.replicaId() == primary) {
          s.send(signed, false);
          op.sentTo.set(primary);
        } else {
          s.connect();
        }
        if (s.isUp()) {
          op.reached.set(s.replicaId());
        }
      }
    }
    return scheduleLocked(op, Math.min(requestTimeoutNanos, operationTimeoutNanos));
  }

  /** Tells the request listener, if any, that {@code request} is being sent. */
  private void sentLocked(SignedRequest request) {
    if (requestListener != null) {
      requestListener.accept(request);
    }
  }

  private boolean scheduleLocked(InFlight op, long delayNanos) {
    try {
      op.timer = channels.timer().schedule(() -> onTimer(op), delayNanos, TimeUnit.NANOSECONDS);
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  private void onTimer(InFlight op) {
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      if (current != op) {
        return;
      }
      long now = System.nanoTime();
      if (op.waitingForSessions && now - op.deadlineNanos < 0 && sessionsUp() < sessionQuorum()
          && now - op.startNanos < handshakeTimeoutNanos) {
        // Fewer than 2f + 1 sessions: the request would carry MACs for too few replicas. Each
        // backup without an entry prepares its batch only once the primary and f backups that
        // have one vouch for it; with f or fewer such backups (and slow handshakes at a cold start
        // left clients with a session to the primary alone) no batch holding it could prepare
        // until the client's own copies reached the backups, and every batch after it waited
        // too: the backups changed view. Wait on while the handshakes may still finish.
        for (ReplicaSession s : sessions) {
          s.connect();
        }
        if (!scheduleLocked(op, SESSIONS_RECHECK_NANOS)) {
          current = null;
          after.add(() -> op.future.completeExceptionally(
              new PbftException("client " + clientId + ": the cluster channels were closed")));
        }
      } else if (op.waitingForSessions && now - op.deadlineNanos < 0) {
        if (!sendFirstLocked(op)) { // some sessions are still not up: send anyway
          current = null;
          after.add(() -> op.future.completeExceptionally(
              new PbftException("client " + clientId + ": the cluster channels were closed")));
        }
      } else if (op.readOnly && !op.waitingForSessions) {
        fallBackLocked(op, after); // no 2f + 1 matching answers in time
      } else if (now - op.deadlineNanos >= 0) {
        current = null;
        PbftException failure = failure(op);
        after.add(() -> op.future.completeExceptionally(failure));
        startNextLocked(after);
      } else {
        op.retransmissions++;
        if (macs) {
          op.request = authenticator.authenticate(op.request.getRequest()); // sessions may have changed since
        }
        sentLocked(op.request);
        for (ReplicaSession s : sessions) {
          s.send(op.request, false);
          op.sentTo.set(s.replicaId());
          if (s.isUp()) {
            op.reached.set(s.replicaId());
          }
        }
        long backoff = requestTimeoutNanos * Math.min(1L << Math.min(op.retransmissions, 3), BACKOFF_CAP);
        if (!scheduleLocked(op, Math.min(backoff, op.deadlineNanos - now))) {
          current = null;
          after.add(() -> op.future.completeExceptionally(
              new PbftException("client " + clientId + ": the cluster channels were closed")));
        }
      }
    }
    if (!after.isEmpty()) {
      // Not on the shared timer thread: a slow callback there would delay every client's timers.
      ForkJoinPool.commonPool().execute(() -> after.forEach(Runnable::run));
    }
  }

  private PbftException failure(InFlight op) {
    long ms = TimeUnit.NANOSECONDS.toMillis(operationTimeoutNanos);
    if (op.reached.isEmpty()) {
      StringJoiner why = new StringJoiner("; ");
      for (ReplicaSession s : sessions) {
        why.add(s.describe());
      }
      return new PbftUnavailableException("could not connect to any of the " + sessions.length
          + " replicas within " + ms + " ms (client " + clientId + "): " + why);
    }
    return new PbftTimeoutException("no reply from f+1 = " + (replyFaults() + 1) + " replicas within " + ms
        + " ms; reachable replicas: " + op.reached.stream().boxed().toList() + "; replies (any result) from " + op.repliedReplicas()
        + " (client " + clientId + ", timestamp " + Long.toUnsignedString(op.timestamp) + ", "
        + op.retransmissions + " retransmissions)");
  }

  private void onReply(int replicaId, Reply reply) {
    CompletableFuture<byte[]> done = null;
    InFlight.Agreement agreement;
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      InFlight op = current;
      // Read-only and ordered replies never count for each other: a replica's read-only answer
      // comes from its state, not from ordering.
      if (op == null || reply.getTimestamp() != op.timestamp || reply.getReadOnly() != op.readOnly) {
        return; // a late reply to an earlier request, or a replica making things up
      }
      agreement = op.add(replicaId, reply);
      if (agreement == null) {
        if (!op.readOnly || op.waitingForSessions || !op.cannotAgree(stillAnswerableLocked(op))) {
          return;
        }
        fallBackLocked(op, after); // the answers split: no need to wait for the timeout
      } else {
        if (op.readOnly) {
          readOnlyAnswered++; // its view stays out of the client's: nothing was ordered in it
        } else {
          if (agreement.epoch() > epoch) {
            epoch = agreement.epoch(); // views start again at 0 in a new configuration epoch
            view = agreement.view();
            if (epoch > members.current().epoch()) {
              after.add(() -> followMembership("replies come from epoch " + agreement.epoch()));
            }
          } else if (agreement.epoch() == epoch) {
            view = Math.max(view, agreement.view());
          }
          tentativeAccepted += agreement.tentative() ? 1 : 0;
        }
        if (op.timer != null) {
          op.timer.cancel(false);
        }
        current = null;
        done = op.future;
        startNextLocked(after);
      }
    }
    if (done != null) {
      done.complete(agreement.result());
    }
    after.forEach(Runnable::run);
  }

  /**
   * The membership this client knows: cluster.yaml's, or a later epoch's once it followed the
   * group's changes (it does so by itself when a session accept or a reply shows it is behind).
   */
  public io.pbft.config.Membership membership() {
    return members.current();
  }

  /**
   * Asks every replica for its chain of changes (the Membership RPC) and follows each as far as it checks
   * against the membership known, then gives the sessions the keys of the epoch reached. At most
   * one look at a time, and one per {@link #FOLLOW_INTERVAL_NANOS}; in the background.
   */
  private void followMembership(String why) {
    long now = System.nanoTime();
    if (now - followedAtNanos < FOLLOW_INTERVAL_NANOS || !following.compareAndSet(false, true)) {
      return;
    }
    followedAtNanos = now;
    try {
      FOLLOWERS.execute(() -> {
        try {
          followMembershipNow(why);
        } finally {
          following.set(false);
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      following.set(false);
    }
  }

  private void followMembershipNow(String why) {
    io.pbft.config.Membership before = members.current();
    List<String> refusals = new ArrayList<>();
    for (ReplicaSession asked : sessions) {
      synchronized (lock) {
        if (closed) {
          return;
        }
      }
      int i = asked.replicaId();
      io.pbft.proto.MembershipResponse chain;
      try {
        // Membership, not Status: with TLS, Status answers only callers with a certificate.
        chain = ClientServiceGrpc.newBlockingStub(channels.channel(i)).withDeadlineAfter(2, TimeUnit.SECONDS)
            .membership(io.pbft.proto.MembershipRequest.getDefaultInstance());
      } catch (RuntimeException e) {
        continue; // down or slow: the others tell as much
      }
      MembershipFollower.Followed f = members.follow(chain.getReconfigurationsList());
      if (f.refusal() != null) {
        refusals.add("replica " + i + ": " + f.refusal());
      }
    }
    io.pbft.config.Membership now = members.current();
    if (now.epoch() == before.epoch()) {
      log.debug("client {}: no later membership than epoch {} ({}){}", clientId, now.epoch(), why,
          refusals.isEmpty() ? "" : "; refused: " + refusals);
      return;
    }
    log.info("client {}: follows the group to epoch {} ({}){}", clientId, now.epoch(), why,
        refusals.isEmpty() ? "" : "; refused: " + refusals);
    List<ReplicaSession> removed = new ArrayList<>();
    synchronized (lock) {
      if (closed) {
        return;
      }
      List<ReplicaSession> next = new ArrayList<>();
      for (io.pbft.config.Member m : now.members()) {
        ReplicaSession s = sessionById[m.id()];
        if (s == null) {
          // A member added to the group: a session with it, at its address under its key.
          io.grpc.ManagedChannel channel = channels.channelTo(m);
          sessionAddress[m.id()] = m.address();
          s = session(m.toReplicaInfo(), channel);
          sessionById[m.id()] = s;
        } else {
          if (!before.hasMember(m.id()) || !java.util.Arrays.equals(before.member(m.id()).publicKey(), m.publicKey())) {
            s.replicaKey(io.pbft.crypto.PublicKeyVerifier.of(m.publicKey()));
          }
          // A member moved to another machine: its session opens again there. The channels may be
          // shared with other clients, which may have followed it first.
          if (!m.address().equalsIgnoreCase(sessionAddress[m.id()])) {
            io.grpc.ManagedChannel channel = channels.channelTo(m);
            sessionAddress[m.id()] = m.address();
            s.moveTo(m.address(), ClientServiceGrpc.newStub(channel));
          }
        }
        next.add(s);
      }
      // A member removed from the group: its session closes, and its replies count no more.
      for (ReplicaSession s : sessions) {
        if (!now.hasMember(s.replicaId())) {
          sessionById[s.replicaId()] = null;
          removed.add(s);
        }
      }
      sessions = next.toArray(new ReplicaSession[0]);
      if (current != null) {
        for (ReplicaSession s : sessions) {
          s.connect();
        }
      }
    }
    for (ReplicaSession s : removed) {
      s.close();
      if (authenticator != null) {
        authenticator.down(s.replicaId());
      }
    }
  }

  /**
   * A session came up while a request is outstanding. A backup may have executed the request
   * before this session existed, and then had nowhere to send its reply: hand it the request
   * now, and it re-sends the reply it keeps (or takes the request like a retransmission). Without
   * this, the first operation on new sessions often waited a whole request timeout.
   */
  private void onSessionUp(int replicaId) {
    SignedRequest resend = null;
    boolean flagged = false;
    synchronized (lock) {
      if (current != null && current.waitingForSessions) {
        int up = sessionsUp();
        if (up == sessions.length
            || (up >= sessionQuorum() && System.nanoTime() - current.startNanos >= SESSIONS_WAIT_NANOS)) {
          if (current.timer != null) {
            current.timer.cancel(false);
          }
          InFlight op = current;
          if (!sendFirstLocked(op)) {
            current = null;
            ForkJoinPool.commonPool().execute(() -> op.future.completeExceptionally(
                new PbftException("client " + clientId + ": the cluster channels were closed")));
          }
        }
        return;
      }
      if (current != null) {
        current.reached.set(replicaId);
        if (!current.sentTo.get(replicaId)) {
          current.sentTo.set(replicaId);
          if (macs) {
            current.request = authenticator.authenticate(current.request.getRequest());
          }
          resend = current.request;
          flagged = current.flaggedSentToAll;
          sentLocked(resend);
        }
      }
    }
    ReplicaSession session = sessionById[replicaId];
    if (resend != null && session != null) {
      session.send(resend, flagged);
    }
  }

  /**
   * Replicas that have not replied to {@code op} and may still: those with a session up. A replica
   * without one cannot answer a read-only request before the client gives up on it (a session that
   * comes up later is handed the request, but by then the read has its answers or is ordered).
   */
  private int stillAnswerableLocked(InFlight op) {
    int n = 0;
    for (ReplicaSession s : sessions) {
      if (!op.replied(s.replicaId()) && s.isUp()) {
        n++;
      }
    }
    return n;
  }

  /** How many replica sessions are up now (diagnostics and tests). */
  /** 2f + 1: with MACs for that many replicas a request's batch prepares with f of them faulty. */
  /**
   * The faults an ordered request's replies are counted against: the most any epoch of the n
   * members this client knows can tolerate, (n - 1) / 3, not that epoch's f. The group may raise f
   * at run time ({@code pbft admin set-faults}), and a reply's epoch is only its sender's word: f + 1
   * matching replies under the known f could then all come from faulty replicas. Replies come only
   * from the members known (the client has sessions with no others), and with n >= 3f + 1 in every
   * epoch the correct ones always suffice for this many (usually it is f itself).
   */
  private int replyFaults() {
    return (members.current().n() - 1) / 3;
  }

  /** Matching replies of any kind that settle an ordered request, for {@link #replyFaults} faults. */
  private int replyGroupQuorum() {
    return io.pbft.config.Quorums.of(members.current().n(), replyFaults());
  }

  /** n - f of the membership known: the sessions (and read-only answers) a quorum needs. */
  private int sessionQuorum() {
    io.pbft.config.Membership m = members.current();
    return m.n() - m.f();
  }

  int sessionsUp() {
    int up = 0;
    for (ReplicaSession s : sessions) {
      up += s.isUp() ? 1 : 0;
    }
    return up;
  }

  /** Fails whatever is queued or outstanding, closes the sessions, and the channels if owned. */
  @Override
  public void close() {
    List<CompletableFuture<byte[]>> abandoned = new ArrayList<>();
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (current != null) {
        if (current.timer != null) {
          current.timer.cancel(false);
        }
        abandoned.add(current.future);
        current = null;
      }
      queue.forEach(q -> abandoned.add(q.future));
      queue.clear();
    }
    for (ReplicaSession s : sessions) {
      s.close();
    }
    if (ownsChannels) {
      channels.close();
    }
    PbftException closedEx = new PbftException("client " + clientId + " was closed before the operation completed");
    abandoned.forEach(f -> f.completeExceptionally(closedEx));
  }
}

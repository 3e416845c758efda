package io.pbft.client;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.HandshakeException;
import io.pbft.crypto.Mac;
import io.pbft.crypto.PublicKeyVerifier;
import io.pbft.crypto.SessionHandshake;
import io.pbft.proto.AuthenticatedReply;
import io.pbft.proto.ClientMessage;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.Reply;
import io.pbft.proto.ReplicaToClient;
import io.pbft.proto.SignedRequest;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client identity's session with one replica: a {@code ClientService.Session} stream that
 * starts with the signed handshake and then carries requests out and MAC-authenticated replies
 * in. The stream is opened lazily and reopened lazily (on the next send) after it breaks.
 *
 * <p>Lock order: the owning {@link PbftClient} may call in here while holding its own lock; this
 * class never calls its {@link Listener} while holding {@link #lock}.
 */
final class ReplicaSession {
  private static final Logger log = LoggerFactory.getLogger(ReplicaSession.class);
  /** Requests waiting for the handshake. One outstanding request per client keeps this tiny. */
  static final int PENDING_MAX = 8;

  /** Where authenticated replies and session events go. Called without the session lock. */
  interface Listener {
    void onReply(int replicaId, Reply reply);

    void onSessionUp(int replicaId);

    /**
     * The replica's session accept did not check under the key this session knows for it: the
     * key may have been rotated by a change the client has not followed yet.
     */
    void onBadAccept(int replicaId);
  }

  private enum State { IDLE, OPENING, UP }

  private final int replicaId;
  private String address;
  private final int clientId;
  private final Ed25519Keys clientKeys;
  /** The replica's key as the client knows it (replaced when the client follows a key rotation). */
  private volatile PublicKeyVerifier replicaVerifier;
  private ClientServiceGrpc.ClientServiceStub stub;
  private final SecureRandom random;
  private final long handshakeTimeoutNanos;
  private final long retryDelayNanos;
  private final Listener listener;

  private final Object lock = new Object();
  private State state = State.IDLE;
  private long generation;
  private ClientCallStreamObserver<ClientMessage> out;
  private SessionHandshake.Client handshake;
  private long openedAtNanos;
  /** After a failure to get a session up, no new attempt before this time (System.nanoTime). */
  private long retryNotBeforeNanos;
  private boolean retryPending;
  private Mac mac;
  /** The session's key for request MACs; null unless up. */
  private SessionHandshake.SessionKey requestKey;
  /** With MACs: where this session publishes its request key; null with signatures. */
  private final RequestAuthenticator authenticator;
  private final ArrayDeque<ClientMessage> pending = new ArrayDeque<>();
  private String lastProblem = "never connected";
  /** The last reason the replica gave for refusing something since the session was last up. */
  private String lastRejection;
  private boolean closed;

  ReplicaSession(int replicaId, String address, int clientId, Ed25519Keys clientKeys,
      PublicKeyVerifier replicaVerifier, ClientServiceGrpc.ClientServiceStub stub, SecureRandom random,
      long handshakeTimeoutNanos, long retryDelayNanos, Listener listener, RequestAuthenticator authenticator) {
    this.authenticator = authenticator;
    this.replicaId = replicaId;
    this.address = address;
    this.clientId = clientId;
    this.clientKeys = clientKeys;
    this.replicaVerifier = replicaVerifier;
    this.stub = stub;
    this.random = random;
    this.handshakeTimeoutNanos = handshakeTimeoutNanos;
    this.retryDelayNanos = retryDelayNanos;
    this.listener = listener;
  }

  int replicaId() {
    return replicaId;
  }

  boolean isUp() {
    synchronized (lock) {
      return state == State.UP;
    }
  }

  /** Why the session is not up, for error messages. */
  String describe() {
    synchronized (lock) {
      String what = state == State.UP ? "connected" : state == State.OPENING ? "handshake pending" : lastProblem;
      return "replica " + replicaId + " at " + address + ": " + what
          + (lastRejection == null ? "" : " (it rejected: " + lastRejection + ")");
    }
  }

  /** The request key of the session while it is up, else null. */
  SessionHandshake.SessionKey requestKey() {
    synchronized (lock) {
      return state == State.UP ? requestKey : null;
    }
  }

  /**
   * With MACs: the message with an authenticator for every session up now. A request queued
   * while the handshakes ran, or authenticated before this session existed, would otherwise carry
   * no valid entry for this replica (which refuses it) or for others (which could then not
   * authenticate it inside a pre-prepare).
   */
  private ClientMessage authenticatedLocked(ClientMessage m) {
    if (authenticator == null || !m.hasRequest()) {
      return m;
    }
    SignedRequest now = authenticator.current(m.getRequest());
    return now == m.getRequest() ? m : m.toBuilder().setRequest(now).build();
  }

  /** Opens the session if it is not open or opening. */
  void connect() {
    synchronized (lock) {
      ensureOpenLocked();
    }
  }

  /**
   * Sends now if the session is up, otherwise queues until the replica accepts the session.
   * {@code sentToAll}: this is the request's first send, to every replica at once (see
   * ClientMessage.sent_to_all); false for a send to the primary alone and for retransmissions.
   */
  void send(SignedRequest request, boolean sentToAll) {
    ClientMessage message = ClientMessage.newBuilder().setRequest(request).setSentToAll(sentToAll).build();
    synchronized (lock) {
      if (closed) {
        return;
      }
      if (state == State.UP) {
        try {
          out.onNext(authenticatedLocked(message));
          return;
        } catch (RuntimeException e) {
          // the call ended under us; its onError is on its way, so treat it as broken now
          resetLocked("stream failed: " + e);
        }
      }
      if (!pending.contains(message)) {
        if (pending.size() >= PENDING_MAX) {
          pending.removeFirst(); // the oldest is the stalest; retransmission covers anything lost
        }
        pending.addLast(message);
      }
      ensureOpenLocked();
    }
  }

  /**
   * The client followed a change of this replica's key: handshakes check the new one from now on,
   * and a session that is down (refused under the old key, say) opens again at once.
   */
  void replicaKey(PublicKeyVerifier verifier) {
    synchronized (lock) {
      replicaVerifier = verifier;
      if (state == State.IDLE && !closed) {
        retryPending = false;
        ensureOpenLocked();
      }
    }
  }

  /**
   * The client followed this replica to a new address: the session opens again there (with the
   * key known by then), and what waits for it goes out on the new session.
   */
  void moveTo(String newAddress, ClientServiceGrpc.ClientServiceStub newStub) {
    synchronized (lock) {
      if (closed) {
        return;
      }
      resetLocked("replica moved from " + address + " to " + newAddress);
      address = newAddress;
      stub = newStub;
      retryPending = false;
      ensureOpenLocked();
    }
  }

  void close() {
    synchronized (lock) {
      closed = true;
      pending.clear();
      resetLocked("client closed");
    }
  }

  private void ensureOpenLocked() {
    if (closed) {
      return;
    }
    long now = System.nanoTime();
    if (state == State.OPENING && now - openedAtNanos > handshakeTimeoutNanos) {
      // The stream is alive but the replica never answered the open: start over right away.
      resetLocked("no session accept within " + handshakeTimeoutNanos / 1_000_000 + " ms");
      retryPending = false;
    }
    if (state != State.IDLE) {
      return;
    }
    if (retryPending && now - retryNotBeforeNanos < 0) {
      // A replica that is down would otherwise cost a handshake per operation. Queued requests
      // wait for the next send after the delay (the retransmission timer makes one).
      return;
    }
    long gen = ++generation;
    handshake = SessionHandshake.start(clientId, replicaId, clientKeys, random);
    openedAtNanos = System.nanoTime();
    state = State.OPENING;
    try {
      stub.session(new Responses(gen));
      out.onNext(ClientMessage.newBuilder().setOpen(handshake.open()).build());
    } catch (RuntimeException e) {
      // e.g. the channel was shut down: stay idle, report it, try again on the next send
      resetLocked("cannot open stream: " + e);
    }
  }

  /** Abandons the current stream (if any); its late callbacks are ignored by generation. */
  private void resetLocked(String why) {
    if (out != null) {
      try {
        out.cancel(why, null);
      } catch (RuntimeException ignored) {
        // already finished
      }
    }
    if (state != State.IDLE) {
      lastProblem = why;
    }
    // A session that was up and broke is reopened at once; one that never came up is not
    // retried before the delay.
    retryPending = state == State.OPENING;
    retryNotBeforeNanos = System.nanoTime() + retryDelayNanos;
    generation++;
    out = null;
    mac = null;
    if (requestKey != null && authenticator != null) {
      authenticator.down(replicaId);
    }
    requestKey = null;
    handshake = null;
    state = State.IDLE;
  }

  /** Callbacks of one stream. gRPC delivers them one at a time per stream. */
  private final class Responses implements ClientResponseObserver<ClientMessage, ReplicaToClient> {
    private final long gen;

    Responses(long gen) {
      this.gen = gen;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ClientMessage> requestStream) {
      // Runs inside stub.session(), i.e. under the lock held by ensureOpenLocked.
      out = requestStream;
    }

    @Override
    public void onNext(ReplicaToClient message) {
      switch (message.getBodyCase()) {
        case ACCEPT -> onAccept(message);
        case REPLY -> onReply(message.getReply());
        case REJECTION -> onRejection(message.getRejection().getReason());
        default -> log.debug("replica {} sent client {} an empty message", replicaId, clientId);
      }
    }

    private void onRejection(String reason) {
      log.debug("replica {} rejected a message of client {}: {}", replicaId, clientId, reason);
      synchronized (lock) {
        if (gen == generation) {
          lastRejection = reason;
        }
      }
    }

    private void onAccept(ReplicaToClient message) {
      boolean badAccept = false;
      synchronized (lock) {
        if (gen != generation || state != State.OPENING) {
          return;
        }
        try {
          mac = new Mac(handshake.finish(message.getAccept(), replicaVerifier));
          requestKey = handshake.requestKey();
          if (authenticator != null) {
            authenticator.up(replicaId, requestKey);
          }
          handshake = null;
          state = State.UP;
          lastProblem = "connected";
          lastRejection = null;
          for (ClientMessage m : pending) {
            out.onNext(authenticatedLocked(m));
          }
          pending.clear();
        } catch (HandshakeException e) {
          log.warn("client {}: refusing session with replica {}: {} (if its key was rotated, the client learns the"
              + " new one from the replicas' chain of changes and tries again)", clientId, replicaId, e.getMessage());
          resetLocked("bad session accept: " + e.getMessage());
          badAccept = true;
        }
      }
      if (badAccept) {
        listener.onBadAccept(replicaId);
      } else {
        listener.onSessionUp(replicaId);
      }
    }

    private void onReply(AuthenticatedReply authenticated) {
      Reply reply;
      synchronized (lock) {
        if (gen != generation || state != State.UP) {
          return;
        }
        byte[] bytes = authenticated.getReply().toByteArray();
        if (!mac.verify(bytes, authenticated.getMac().toByteArray())) {
          log.debug("client {}: dropping reply from replica {} with a bad MAC", clientId, replicaId);
          return;
        }
        try {
          reply = Reply.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
          log.debug("client {}: dropping malformed reply from replica {}", clientId, replicaId);
          return;
        }
      }
      if (reply.getReplicaId() != replicaId || reply.getClientId() != clientId) {
        log.debug("client {}: dropping reply on replica {}'s stream that names replica {} and client {}",
            clientId, replicaId, reply.getReplicaId(), reply.getClientId());
        return;
      }
      listener.onReply(replicaId, reply);
    }

    @Override
    public void onError(Throwable t) {
      Status status = Status.fromThrowable(t);
      String cause = status.getCause() == null ? "" : " (" + status.getCause().getMessage() + ")";
      String tls = ClientTls.handshakeFailure(status.getCause());
      if (tls != null) {
        cause = " (TLS handshake failed: " + tls + "; is tls.caCertFile the CA that issued the replicas'"
            + " certificates, and do they name the host dialled?)";
      }
      ended(status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription()) + cause);
    }

    @Override
    public void onCompleted() {
      ended("replica closed the session");
    }

    private void ended(String why) {
      synchronized (lock) {
        if (gen != generation) {
          return;
        }
        log.debug("client {}: session with replica {} ended: {}", clientId, replicaId, why);
        out = null; // the call is over; nothing to cancel
        resetLocked(why);
        // Queued requests die with the stream; the retransmission timer sends them again.
        pending.clear();
      }
    }
  }
}

package io.pbft.replica.runtime;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.pbft.crypto.HandshakeException;
import io.pbft.crypto.SessionHandshake;
import io.pbft.proto.ClientMessage;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.ReplicaToClient;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedRequest;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Client streams: a signed handshake that agrees a reply MAC key, then signed requests, each
 * verified in the pool before it reaches the core. Also the status RPC. A stream takes a session
 * slot only once its handshake has completed ({@link Hygiene}); until then it is one of the
 * replica's pending streams, and garbage on it (unknown fields, an empty or out-of-order message,
 * a failed handshake) closes it.
 */
final class ClientService extends ClientServiceGrpc.ClientServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(ClientService.class);
  /** Requests up to this size with an authenticator may be checked where they were read (ReplicaServer.checkInline). */
  private static final int INLINE_REQUEST_BYTES_MAX = 4096;
  private final ReplicaServer replica;
  private final SecureRandom random = new SecureRandom();
  private final ClientRates rates;

  ClientService(ReplicaServer replica) {
    this.replica = replica;
    this.rates = new ClientRates(replica.config.transport().clientRequestsPerSecondMax());
  }

  @Override
  public StreamObserver<ClientMessage> session(StreamObserver<ReplicaToClient> responseObserver) {
    ServerCallStreamObserver<ReplicaToClient> out = (ServerCallStreamObserver<ReplicaToClient>) responseObserver;
    // Messages are read one at a time: the handshake, then (once established) one request after
    // another. A stream without a handshake can therefore buffer one message at most.
    out.disableAutoRequest();
    Hygiene hygiene = replica.hygiene;
    ClientSession session = new ClientSession(out, replica.config.transport().clientSendBufferBytes(), connection());
    out.setOnCancelHandler(() -> hygiene.ended(session));
    hygiene.opened(session);
    session.request();
    return new StreamObserver<>() {
      @Override
      public void onNext(ClientMessage message) {
        session.touch();
        String garbage = InboundVerifier.hasUnknownFields(message) ? "unknown fields" : null;
        if (garbage == null && message.getBodyCase() == ClientMessage.BodyCase.BODY_NOT_SET) {
          garbage = "malformed client message: empty";
        }
        if (garbage != null) {
          refuse(session, garbage, "refused: " + garbage);
          return;
        }
        session.spoke();
        switch (message.getBodyCase()) {
          case OPEN -> {
            if (session.established()) {
              refuse(session, "second handshake on a session", "session already established");
            } else if (!replica.verifyPool.submitHandshake(() -> open(session, message), message.getSerializedSize()).queued()) {
              replica.drop("verification queue full");
              session.abort(Status.RESOURCE_EXHAUSTED.withDescription(
                  "replica " + replica.id + " is overloaded; retry later"));
              hygiene.ended(session);
            }
            // the next message is asked for once the handshake is done
          }
          case REQUEST -> {
            if (!session.established()) {
              refuse(session, "request before handshake", "no session: send a signed SessionOpen first");
              return;
            }
            long now = System.nanoTime();
            if (!rates.tryAcquire(session.clientId(), now)) {
              // Before verification: a client over its rate costs a parse, not a signature check;
              // and nothing more is read from its session until it may send again, so that HTTP/2
              // flow control holds it back rather than this replica's CPU.
              replica.drop("client over its request rate");
              replica.readLater(session, rates.nanosUntilToken(session.clientId(), now));
              return;
            } else if (message.getRequest().getSignature().isEmpty()
                && message.getSerializedSize() <= INLINE_REQUEST_BYTES_MAX && replica.checkInline()) {
              replica.runInline(() -> request(session, message)); // an authenticator: one HMAC here
            } else if (!replica.verifyPool.submitClientRequest(session.clientId(), () -> request(session, message),
                message.getSerializedSize(), message.getRequest().getSignature().isEmpty() ? null : message.getRequest())
                .queued()) {
              replica.drop("verification queue full");
              session.reject("replica " + replica.id + " is overloaded; retry later");
            }
            session.request();
          }
          default -> refuse(session, "malformed client message", "malformed client message");
        }
      }

      @Override
      public void onError(Throwable t) {
        hygiene.ended(session);
      }

      @Override
      public void onCompleted() {
        session.closeWith("session closed by client"); // first: ended() marks it closed, after which nothing is sent
        hygiene.ended(session);
      }
    };
  }

  /** The connection of the current call (set by the runtime's interceptor). */
  private static Connection connection() {
    Connection c = Connection.CURRENT.get();
    return c != null ? c : new Connection(null, null);
  }

  /**
   * Garbage on a client stream: counted (and logged at most once per interval per address). A
   * stream still without a handshake is closed; an established one is told and read on.
   */
  private void refuse(ClientSession session, String reason, String tell) {
    replica.hygiene.garbage.count(reason, session.connection.remote,
        session.established() ? "on client " + session.clientId() + "'s session" : "on a stream without handshake");
    if (session.established()) {
      session.reject(tell);
      session.request();
    } else {
      session.abort(Status.INVALID_ARGUMENT.withDescription(tell));
      replica.hygiene.ended(session);
    }
  }

  private void open(ClientSession session, ClientMessage message) {
    if (session.isClosed()) {
      return; // timed out or displaced while it waited for verification
    }
    SessionHandshake.Accepted accepted;
    try {
      // Signed with this replica's key of the epoch it runs: a rotated-out key signs nothing new.
      // A client that knows only an earlier epoch's keys refuses the accept, learns the chain of
      // changes from the Membership RPC and checks it against cluster.yaml (PbftClient,
      // docs/RECONFIGURATION.md).
      accepted = SessionHandshake.accept(message.getOpen(), replica.id, replica.keys,
          replica.verifier::clientVerifier, random);
    } catch (HandshakeException e) {
      replica.drop("bad client handshake");
      replica.hygiene.garbage.count("bad client handshake", session.connection.remote, e.getMessage());
      session.abort(Status.UNAUTHENTICATED.withDescription("handshake refused: " + e.getMessage()));
      replica.hygiene.ended(session);
      return;
    }
    // Registered before the accept is sent, so that the client's first request finds it; the
    // accept goes out only if the session took its slot.
    session.setClient(accepted.clientId(), accepted.macKey());
    replica.requestKeys.add(accepted.clientId(), accepted.requestKey().keyId(), accepted.requestKey().key());
    if (!replica.hygiene.establish(session)) {
      return;
    }
    session.send(ReplicaToClient.newBuilder().setAccept(accepted.accept()).build());
    session.request();
    // The reply to this client's latest request may have been produced before its session to
    // this replica was up (a client may send to the primary first): the core offers it again,
    // through the effects like every reply.
    replica.loop.submit(() -> replica.core.onSessionOpened(replica.nowMs(), accepted.clientId()));
  }

  private void request(ClientSession session, ClientMessage message) {
    if (replica.failure() != null) {
      session.reject("replica " + replica.id + " has stopped: " + replica.failure());
      return;
    }
    if (replica.departed() != null) {
      session.reject(replica.departed() + "; this process takes no further part");
      return;
    }
    Verdict<VerifiedRequest> verdict = replica.verifier.verify(message.getRequest(), session.clientId());
    if (!verdict.isOk()) {
      replica.drop(verdict.reason().label());
      log.debug("replica {}: refused request on client {}'s session: {}", replica.id, session.clientId(),
          verdict.describe());
      session.reject("request refused: " + verdict.describe());
      return;
    }
    VerifiedRequest r = verdict.value();
    if (!replica.behaviour.admitRequest(r.request())) {
      return;
    }
    if (r.request().getReadOnly()) {
      // Answered by the execution thread from the current state, never ordered (see
      // ReadOnlyQueries). It came through the same rate limit and fair verification queue as
      // every request; the execution thread holds a bounded number of them.
      if (!replica.onReadOnly(r)) {
        replica.drop("read-only queue full");
        session.reject("replica " + replica.id + " is overloaded; retry later");
      }
      return;
    }
    boolean sentToAll = message.getSentToAll();
    EventLoop.Admission admitted = replica.loop.submitRequest(session.clientId(), () -> replica.onRequest(r, sentToAll),
        message.getSerializedSize());
    if (admitted == EventLoop.Admission.DISPLACED) {
      replica.drop("client request displaced by its newer one before the event loop");
    } else if (!admitted.queued()) {
      session.reject("replica " + replica.id + " is overloaded; retry later");
    }
  }

  /**
   * Whether a query (Status or Membership, which need no identity) may go on: its remote address
   * has a token left ({@code transport.queriesPerSecondMax}); otherwise it is refused here, before
   * it takes any time from the event loop or the execution thread.
   */
  private boolean admitQuery(StreamObserver<?> responseObserver) {
    TokenBucket bucket = connection().queries;
    if (bucket == null || bucket.take(System.nanoTime())) {
      return true;
    }
    replica.drop("query over its address's rate");
    responseObserver.onError(Status.RESOURCE_EXHAUSTED.withDescription("more than "
        + replica.config.transport().queriesPerSecondMax() + " status and membership queries a second from "
        + "one address (transport.queriesPerSecondMax); retry later").asRuntimeException());
    return false;
  }

  /** Status queries waiting for the event loop and the execution thread, from every caller together. */
  private final java.util.concurrent.atomic.AtomicInteger statusesWaiting = new java.util.concurrent.atomic.AtomicInteger();
  static final int STATUSES_WAITING_MAX = 16;

  @Override
  public void membership(io.pbft.proto.MembershipRequest request,
      StreamObserver<io.pbft.proto.MembershipResponse> responseObserver) {
    if (!admitQuery(responseObserver)) {
      return;
    }
    // From the executed state's summary (published by the execution thread): no event-loop turn,
    // nothing but a copy of a short list.
    io.pbft.replica.execution.Epochs.Summary s = replica.execution.epochs().summary();
    responseObserver.onNext(io.pbft.proto.MembershipResponse.newBuilder().setReplicaId(replica.id)
        .setEpoch(s.epoch()).addAllReconfigurations(s.chain()).setView(replica.viewPublished()).setEpochBeganAt(replica.execution.epochs().beganAt()).build());
    responseObserver.onCompleted();
  }

  @Override
  public void status(StatusRequest request, StreamObserver<StatusResponse> responseObserver) {
    if (!admitQuery(responseObserver)) {
      return;
    }
    if (statusesWaiting.incrementAndGet() > STATUSES_WAITING_MAX) {
      statusesWaiting.decrementAndGet();
      replica.drop("status queries waiting");
      responseObserver.onError(Status.RESOURCE_EXHAUSTED.withDescription(STATUSES_WAITING_MAX
          + " status queries already wait for replica " + replica.id + "; retry later").asRuntimeException());
      return;
    }
    replica.status().orTimeout(5, TimeUnit.SECONDS).whenComplete((status, error) -> {
      statusesWaiting.decrementAndGet();
      if (error != null) {
        responseObserver.onError(io.grpc.Status.UNAVAILABLE.withDescription(error.getMessage()).asRuntimeException());
      } else {
        responseObserver.onNext(status);
        responseObserver.onCompleted();
      }
    });
  }
}

package io.pbft.replica.runtime;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.pbft.crypto.HandshakeException;
import io.pbft.crypto.SessionHandshake;
import io.pbft.proto.ClientMessage;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.ReplicaToClient;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedRequest;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Client streams: a signed handshake that agrees a reply MAC key, then signed requests, each
 * verified in the pool before it reaches the core. Also the status RPC.
 */
final class ClientService extends ClientServiceGrpc.ClientServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(ClientService.class);
  private final ReplicaServer replica;
  private final SecureRandom random = new SecureRandom();

  ClientService(ReplicaServer replica) {
    this.replica = replica;
  }

  @Override
  public StreamObserver<ClientMessage> session(StreamObserver<ReplicaToClient> responseObserver) {
    ServerCallStreamObserver<ReplicaToClient> out = (ServerCallStreamObserver<ReplicaToClient>) responseObserver;
    ClientSession session = new ClientSession(out, replica.config.transport().clientSendBufferBytes());
    if (!replica.sessions.admit()) {
      replica.drop("client session limit reached");
      session.closeWith("replica " + replica.id + " serves its maximum number of client sessions");
      return new Ignoring();
    }
    out.setOnCancelHandler(() -> replica.sessions.closed(session));
    return new StreamObserver<>() {
      @Override
      public void onNext(ClientMessage message) {
        switch (message.getBodyCase()) {
          case OPEN -> replica.verifyPool.execute(() -> open(session, message));
          case REQUEST -> replica.verifyPool.execute(() -> request(session, message));
          default -> {
            replica.drop("malformed client message");
            session.reject("malformed client message");
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        replica.sessions.closed(session);
      }

      @Override
      public void onCompleted() {
        replica.sessions.closed(session);
        session.closeWith("session closed by client");
      }
    };
  }

  private void open(ClientSession session, ClientMessage message) {
    if (session.established()) {
      replica.drop("second handshake on a session");
      session.reject("session already established");
      return;
    }
    try {
      SessionHandshake.Accepted accepted = SessionHandshake.accept(message.getOpen(), replica.id, replica.keys,
          replica.verifier::clientVerifier, random);
      session.establish(accepted.clientId(), accepted.macKey(),
          ReplicaToClient.newBuilder().setAccept(accepted.accept()).build());
      replica.sessions.register(session);
      // The reply to this client's latest request may have been produced before its session to
      // this replica was up (the client sends to the primary first): the core offers it again,
      // through the effects like every reply.
      replica.loop.submit(() -> replica.core.onSessionOpened(replica.nowMs(), accepted.clientId()));
    } catch (HandshakeException e) {
      replica.drop("bad client handshake");
      log.debug("replica {}: refused client handshake: {}", replica.id, e.getMessage());
      session.reject("handshake refused: " + e.getMessage());
    }
  }

  private void request(ClientSession session, ClientMessage message) {
    if (replica.failure() != null) {
      session.reject("replica " + replica.id + " has stopped: " + replica.failure());
      return;
    }
    if (!session.established()) {
      replica.drop("request before handshake");
      session.reject("no session: send a signed SessionOpen first");
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
    if (!replica.loop.submit(() -> replica.core.onRequest(replica.nowMs(), r))) {
      session.reject("replica " + replica.id + " is overloaded; retry later");
    }
  }

  @Override
  public void status(StatusRequest request, StreamObserver<StatusResponse> responseObserver) {
    replica.status().orTimeout(5, TimeUnit.SECONDS).whenComplete((status, error) -> {
      if (error != null) {
        responseObserver.onError(io.grpc.Status.UNAVAILABLE.withDescription(error.getMessage()).asRuntimeException());
      } else {
        responseObserver.onNext(status);
        responseObserver.onCompleted();
      }
    });
  }

  private static final class Ignoring implements StreamObserver<ClientMessage> {
    @Override
    public void onNext(ClientMessage value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}

package io.pbft.replica.runtime;

import io.grpc.stub.StreamObserver;
import io.pbft.proto.Ack;
import io.pbft.proto.ReplicaServiceGrpc;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Incoming peer streams. Anyone may connect and claim any sender id: the signature check in
 * the verification pool decides; only verified messages reach the event loop.
 */
final class PeerService extends ReplicaServiceGrpc.ReplicaServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(PeerService.class);
  private final ReplicaServer replica;

  PeerService(ReplicaServer replica) {
    this.replica = replica;
  }

  @Override
  public StreamObserver<SignedMessage> stream(StreamObserver<Ack> responseObserver) {
    return new StreamObserver<>() {
      @Override
      public void onNext(SignedMessage message) {
        if (replica.failure() != null) {
          return; // stopped taking part
        }
        replica.verifyPool.execute(() -> {
          Verdict<VerifiedMessage> verdict = replica.verifier.verify(message, replica.position());
          if (!verdict.isOk()) {
            replica.drop(verdict.reason().label());
            log.debug("replica {}: dropped message claiming sender {}: {}", replica.id, message.getSender(),
                verdict.describe());
            return;
          }
          VerifiedMessage m = verdict.value();
          if (!replica.behaviour.admitMessage(m.sender(), m.message())) {
            return;
          }
          replica.loop.submit(() -> replica.core.onMessage(replica.nowMs(), m));
        });
      }

      @Override
      public void onError(Throwable t) {
        log.debug("replica {}: inbound peer stream ended: {}", replica.id, t.toString());
      }

      @Override
      public void onCompleted() {
        try {
          responseObserver.onNext(Ack.getDefaultInstance());
          responseObserver.onCompleted();
        } catch (RuntimeException ignored) {
          // the peer went away first
        }
      }
    };
  }
}

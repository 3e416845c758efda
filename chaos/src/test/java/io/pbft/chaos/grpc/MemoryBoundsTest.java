package io.pbft.chaos.grpc;

import io.pbft.chaos.outsider.Outsider;
import static io.pbft.chaos.grpc.ConnectionHygieneTest.garbage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.pbft.config.ClusterConfig;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.ClientMessage;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.StateChunk;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Polling;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What outsiders' messages can make a replica hold: messages with unknown fields are refused on
 * arrival, before anything is queued for them, and large messages with valid signatures (replayed
 * or from a faulty peer) fill the inbound queues up to their byte bounds and no further.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class MemoryBoundsTest {
  @TempDir
  Path dir;

  @Test
  void messagesWithUnknownFieldsAreRefusedAndCountedWithoutBeingQueued() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 1);
        Outsider outsiders = new Outsider()) {
      ClusterConfig config = cluster.config();
      ManagedChannel toOne = outsiders.channel(config.replica(1).port());

      // 1. unknown fields in the signed envelope: refused on arrival
      Outsider.Streams streams = new Outsider.Streams();
      ClientCallStreamObserver<SignedMessage> peer = outsiders.peerStream(toOne, streams);
      peer.onNext(Outsider.unknownFields(1 << 20));

      // 2. unknown fields inside a validly signed payload: refused by the verifier
      Ed25519Keys zero = config.replicaKeys(0);
      ReplicaMessage withUnknown = ReplicaMessage.newBuilder()
          .setStateChunk(StateChunk.newBuilder().setSequence(1).setReplicaId(0)
              .setUnknownFields(Outsider.withUnknownField(1000)))
          .build();
      peer.onNext(signed(zero, 0, withUnknown.toByteString()));
      Polling.until(() -> cluster.status(1), st -> st.getDropped().getByReasonOrDefault("unknown fields", 0) == 2, Duration.ofSeconds(10));
      peer.onCompleted();

      StatusResponse one = cluster.status(1);
      assertEquals(2, garbage(one, "unknown fields on a peer stream"), () -> GrpcCluster.describe(List.of(one)));
      assertEquals(2, one.getDropped().getByReasonOrDefault("unknown fields", 0), () -> GrpcCluster.describe(List.of(one)));
      // the 1 MiB message was never queued for verification (peers' own messages are small)
      assertTrue(one.getQueuedBytes().getVerificationHigh() < 256 << 10, () -> GrpcCluster.describe(List.of(one)));

      // 3. unknown fields in a client's message: the stream without handshake is closed
      ManagedChannel toZero = outsiders.channel(config.replica(0).port());
      Outsider.Streams client = outsiders.handshakeless(toZero, 1, new Outsider.Streams());
      @SuppressWarnings("unchecked")
      ClientCallStreamObserver<ClientMessage> call = (ClientCallStreamObserver<ClientMessage>) client.calls.get(0);
      call.onNext(ClientMessage.newBuilder().setUnknownFields(Outsider.withUnknownField(1 << 20)).build());
      Polling.until(client.ended::get, n -> n == 1, Duration.ofSeconds(10));
      assertEquals(1, client.ended.get());

      // 4. unknown fields in a signed request on an established session: refused by the verifier
      Outsider.Session session = outsiders.session(toZero, config, 0, 0);
      session.accepted.get(10, TimeUnit.SECONDS);
      Request request = Request.newBuilder().setClientId(0).setTimestamp(1)
          .setUnknownFields(Outsider.withUnknownField(100)).build();
      session.call.onNext(ClientMessage.newBuilder().setRequest(SignedRequest.newBuilder()
          .setRequest(request.toByteString())
          .setSignature(ByteString.copyFrom(config.clientKeys(0).sign(request.toByteArray())))).build());
      Polling.until(() -> session.rejections.size(), n -> n > 0, Duration.ofSeconds(10));
      assertTrue(session.rejections.get(0).contains("unknown fields"), session.rejections::toString);

      StatusResponse zeroStatus = cluster.status(0);
      assertEquals(1, garbage(zeroStatus, "unknown fields"), () -> GrpcCluster.describe(List.of(zeroStatus)));
      assertEquals(1, zeroStatus.getDropped().getByReasonOrDefault("unknown fields", 0), () -> GrpcCluster.describe(List.of(zeroStatus)));
      session.close();
      // the cluster works on
      cluster.kvClient(0).put("still", "fine");
    }
  }

  /**
   * A burst of large messages that carry a valid signature but are of no use (state chunks nobody
   * asked for, as a faulty peer or a replay could send): the verification and event-loop queues
   * hold at most inboundQueueBytesMax bytes each, whatever is sent.
   */
  @Test
  void aBurstOfLargeValidlySignedMessagesStaysWithinTheByteBounds() throws Exception {
    int queueBytes = 4 << 20;
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 1, c -> c
            .withProtocol(c.protocol().toBuilder().batchBytesMax(1 << 20).operationBytesMax(512 << 10)
                .stateChunkBytesMax(512 << 10).build())
            .withTransport(c.transport().toBuilder().messageBytesMax(2 << 20).inboundQueueBytesMax(queueBytes)
                .peerQueueBytesMax(queueBytes).unauthenticatedBytesMax(32 << 20).verifyThreads(1).build()));
        Outsider outsiders = new Outsider()) {
      ClusterConfig config = cluster.config();
      Ed25519Keys zero = config.replicaKeys(0);
      SignedMessage big = signed(zero, 0, ReplicaMessage.newBuilder()
          .setStateChunk(StateChunk.newBuilder().setSequence(1_000_000).setReplicaId(0).setTotalBytes(1 << 30)
              .setData(ByteString.copyFrom(new byte[(2 << 20) - 4096])))
          .build().toByteString());
      int streams = 4;
      int perStream = 50;
      Thread[] senders = new Thread[streams];
      for (int i = 0; i < streams; i++) {
        ClientCallStreamObserver<SignedMessage> call = outsiders.peerStream(
            outsiders.channel(config.replica(1).port()), new Outsider.Streams());
        senders[i] = new Thread(() -> {
          for (int m = 0; m < perStream; m++) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!call.isReady() && System.nanoTime() < deadline) {
              Thread.onSpinWait();
            }
            call.onNext(big);
          }
          call.onCompleted();
        });
        senders[i].start();
      }
      for (Thread t : senders) {
        t.join(TimeUnit.SECONDS.toMillis(60));
      }
      long sent = (long) streams * perStream * big.getSerializedSize();
      StatusResponse one = Polling.until(() -> cluster.status(1),
          st -> st.getQueuedBytes().getVerification() == 0 && st.getQueuedBytes().getEventLoop() == 0,
          Duration.ofSeconds(30));
      String why = GrpcCluster.describe(List.of(one));
      assertTrue(sent > 20L * queueBytes, "the burst is much larger than the bound");
      assertTrue(one.getQueuedBytes().getVerificationHigh() <= queueBytes, why);
      assertTrue(one.getQueuedBytes().getEventLoopHigh() <= queueBytes, why);
      assertTrue(one.getQueuedBytes().getVerificationHigh() > 0, why);
      // what did not fit was dropped and counted, not buffered
      long verified = one.getRejectedOrDefault("unexpected state chunk", 0);
      long dropped = one.getDropped().getVerificationQueueBytesFull() + one.getDropped().getVerificationQueueFull()
          + one.getDropped().getEventLoopBytesFull();
      assertTrue(verified + dropped >= 1, why);
      cluster.kvClient(0).put("after", "burst");
    }
  }

  static SignedMessage signed(Ed25519Keys keys, int sender, ByteString payload) {
    return SignedMessage.newBuilder().setSender(sender).setPayload(payload)
        .setSignature(ByteString.copyFrom(keys.sign(payload.toByteArray()))).build();
  }
}

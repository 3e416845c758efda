package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.pbft.client.ClusterChannels;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.Ack;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.ReplicaServiceGrpc;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Polling;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Four real replicas on 127.0.0.1 ports in this JVM, clients over gRPC. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class GrpcClusterTest {
  @TempDir
  Path dir;

  private GrpcCluster cluster;
  private ClusterConfig config;

  @BeforeEach
  void start() throws IOException {
    cluster = GrpcCluster.start(dir, 4, 32);
    config = cluster.config();
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void keyValueOperationsThroughFourReplicas() {
    try (KvClient kv = KvClient.owning(PbftClient.newBuilder().config(config).clientId(0).build())) {
      kv.put(bytes("a"), bytes("1"));
      assertEquals("1", new String(kv.get(bytes("a")).orElseThrow(), StandardCharsets.UTF_8));
      assertEquals(Optional.empty(), kv.get(bytes("missing")));
      assertFalse(kv.compareAndSet(bytes("a"), bytes("wrong"), bytes("2")));
      assertTrue(kv.compareAndSet(bytes("a"), bytes("1"), bytes("2")));
      assertTrue(kv.compareAndSet(bytes("new"), null, bytes("x")), "cas on an absent key");
      assertTrue(kv.delete(bytes("a")));
      assertFalse(kv.delete(bytes("a")));
      assertEquals(Optional.empty(), kv.get(bytes("a")));
    }
    assertReplicasAgree();
  }

  @Test
  void manyConcurrentClientsShareChannelsAndReplicasAgree() throws Exception {
    int clients = 32;
    int opsEach = 25;
    try (ClusterChannels channels = ClusterChannels.open(config)) {
      List<KvClient> kvs = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        kvs.add(KvClient.owning(PbftClient.newBuilder().config(config).clientId(c).channels(channels)
            .operationTimeout(Duration.ofSeconds(60)).build()));
      }
      List<CompletableFuture<Void>> runs = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        KvClient kv = kvs.get(c);
        String key = "client-" + c;
        runs.add(CompletableFuture.runAsync(() -> {
          for (int i = 1; i <= opsEach; i++) {
            kv.put(bytes(key), bytes(Integer.toString(i)));
          }
        }));
      }
      CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
      long getsOrdered = 0;
      for (int c = 0; c < clients; c++) {
        assertEquals(Integer.toString(opsEach),
            new String(kvs.get(c).get(bytes("client-" + c)).orElseThrow(), StandardCharsets.UTF_8));
        getsOrdered += kvs.get(c).pbftClient().readOnlyFallbacks();
      }
      for (KvClient kv : kvs) {
        kv.close();
      }
      List<StatusResponse> status = assertReplicasAgree();
      long executed = status.get(0).getExecutedRequests();
      // The gets are read-only: executed only if they fell back to ordering.
      assertEquals((long) clients * opsEach + getsOrdered, executed, "every operation executed exactly once");
      assertTrue(status.get(0).getLastExecuted() < executed, "requests were batched");
    }
  }

  @Test
  void forgedPeerMessagesAreDroppedAndTheClusterKeepsWorking() throws Exception {
    ReplicaInfo target = config.replica(1);
    ManagedChannel channel = NettyChannelBuilder.forAddress(target.host(), target.port()).usePlaintext().build();
    try {
      CompletableFuture<Void> closed = new CompletableFuture<>();
      StreamObserver<SignedMessage> stream = ReplicaServiceGrpc.newStub(channel).stream(new StreamObserver<>() {
        @Override
        public void onNext(Ack value) {}

        @Override
        public void onError(Throwable t) {
          closed.complete(null);
        }

        @Override
        public void onCompleted() {
          closed.complete(null);
        }
      });
      byte[] payload = ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(0).setSequence(1)
          .setDigest(ByteString.copyFrom(new byte[32])).setReplicaId(2)).build().toByteArray();
      Ed25519Keys impostor = Ed25519Keys.generate(new SecureRandom());
      stream.onNext(SignedMessage.newBuilder().setSender(2).setPayload(ByteString.copyFrom(payload))
          .setSignature(ByteString.copyFrom(impostor.sign(payload))).build());
      stream.onNext(SignedMessage.newBuilder().setSender(42).setPayload(ByteString.copyFrom(payload))
          .setSignature(ByteString.copyFrom(impostor.sign(payload))).build());
      stream.onNext(SignedMessage.newBuilder().setSender(2).setPayload(ByteString.copyFrom(new byte[] {1, 2, 3}))
          .setSignature(ByteString.copyFrom(new byte[5])).build());
      stream.onCompleted();
      closed.get(10, TimeUnit.SECONDS);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    StatusResponse s = Polling.until(() -> status(1),
        r -> r.getDropped().getByReasonOrDefault("bad signature", 0) >= 2, Duration.ofSeconds(20));
    assertEquals(2, s.getDropped().getByReasonOrDefault("bad signature", 0));
    assertEquals(1, s.getDropped().getByReasonOrDefault("unknown sender", 0));
    assertEquals(0, s.getLastExecuted(), "nothing changed");
    try (KvClient kv = KvClient.owning(PbftClient.newBuilder().config(config).clientId(3).build())) {
      kv.put(bytes("after"), bytes("ok"));
      assertEquals("ok", new String(kv.get(bytes("after")).orElseThrow(), StandardCharsets.UTF_8));
    }
    assertReplicasAgree();
  }

  private StatusResponse status(int i) {
    return cluster.status(i);
  }

  private List<StatusResponse> assertReplicasAgree() {
    return cluster.assertRunningReplicasAgree();
  }
}

package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ClientInfo;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.ReplicaInfo;
import io.pbft.config.TransportSettings;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.kv.KvOperations;
import io.pbft.replica.app.kv.KvStateMachine;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Four (and seven) cores wired together in memory: many closed-loop clients, batches and
 * pipelining under random message interleavings. Every operation completes with f + 1 matching
 * replies, runs exactly once, and all replicas end in the same state.
 */
class InMemoryClusterTest {

  private record Setup(ClusterConfig config, List<Ed25519Keys> replicaKeys, List<Ed25519Keys> clientKeys) {}

  private static Setup setup(int n, int clients, ProtocolSettings settings, long seed) {
    Random r = new Random(seed);
    SecureRandom keyRandom = new SecureRandom() {
      @Override
      public void nextBytes(byte[] bytes) {
        r.nextBytes(bytes);
      }
    };
    List<Ed25519Keys> rk = new ArrayList<>();
    List<ReplicaInfo> replicas = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Ed25519Keys k = Ed25519Keys.generate(keyRandom);
      rk.add(k);
      replicas.add(new ReplicaInfo(i, "127.0.0.1", 9000 + i, k.publicKey(), null));
    }
    List<Ed25519Keys> ck = new ArrayList<>();
    List<ClientInfo> cs = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      Ed25519Keys k = Ed25519Keys.generate(keyRandom);
      ck.add(k);
      cs.add(new ClientInfo(c, k.publicKey(), null));
    }
    return new Setup(new ClusterConfig(replicas, cs, (n - 1) / 3, settings, TransportSettings.defaults(), null), rk, ck);
  }

  @ParameterizedTest(name = "n = {0}")
  @ValueSource(ints = {4, 7})
  void manyClientsCompleteEveryOperationExactlyOnceAndReplicasAgree(int n) {
    int clients = 24;
    int opsPerClient = 40;
    // A small window and checkpoint interval so the run crosses many stable checkpoints.
    ProtocolSettings settings = ProtocolSettings.newBuilder().batchSizeMax(8).batchBytesMax(1 << 20).windowSize(16)
        .pipelineDepthMax(3).checkpointInterval(4).pendingRequestsMax(1000).operationBytesMax(1 << 16)
        .viewChangeTimeoutMs(1000).stateChunkBytesMax(1 << 20).build();
    Setup s = setup(n, clients, settings, 7 + n);
    InMemoryCluster cluster = new InMemoryCluster(s.config(), s.replicaKeys(), i -> new KvStateMachine(), 1234 + n);
    int f = s.config().f();

    long[] timestamp = new long[clients];
    int[] done = new int[clients];
    // clientId -> replica -> result for the outstanding request
    Map<Integer, Map<Integer, ByteString>> votes = new HashMap<>();
    List<Set<Long>> completedTimestamps = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      completedTimestamps.add(new HashSet<>());
    }
    Runnable[] sendNext = new Runnable[clients];
    for (int c = 0; c < clients; c++) {
      int client = c;
      sendNext[c] = () -> {
        timestamp[client]++;
        votes.put(client, new HashMap<>());
        // Every client increments its own counter key by writing its op count.
        byte[] op = KvOperations.put(("k" + client).getBytes(StandardCharsets.UTF_8),
            ("v" + timestamp[client]).getBytes(StandardCharsets.UTF_8));
        cluster.clientSends(0, InMemoryCluster.sign(s.clientKeys().get(client), client, timestamp[client], op));
      };
    }
    cluster.onReply((clientId, reply) -> {
      if (reply.getTimestamp() != timestamp[clientId]) {
        return; // a late duplicate of an earlier reply
      }
      Map<Integer, ByteString> v = votes.get(clientId);
      v.put(reply.getReplicaId(), reply.getResult());
      long matching = v.values().stream().filter(x -> x.equals(reply.getResult())).count();
      if (matching == f + 1 && completedTimestamps.get(clientId).add(reply.getTimestamp())) {
        done[clientId]++;
        if (done[clientId] < opsPerClient) {
          sendNext[clientId].run();
        }
      }
    });
    for (int c = 0; c < clients; c++) {
      sendNext[c].run();
    }
    cluster.runUntilQuiet(50_000_000);

    for (int c = 0; c < clients; c++) {
      assertEquals(opsPerClient, done[c], "client " + c + " completed all its operations");
    }
    long executed = cluster.core(0).lastExecuted();
    assertTrue(executed > 0);
    byte[] digest = cluster.stateDigest(0);
    for (int i = 0; i < n; i++) {
      assertEquals(executed, cluster.core(i).lastExecuted(), "replica " + i + " executed as far as replica 0");
      assertArrayEquals(digest, cluster.stateDigest(i), "replica " + i + " has the same state");
      assertEquals((long) clients * opsPerClient, cluster.core(i).executedRequests(), "each request ran exactly once");
      assertTrue(cluster.core(i).lowWatermark() > 0, "checkpoints became stable and the log was truncated");
      assertTrue(cluster.core(i).logSize() <= settings.windowSize());
      assertEquals(0, cluster.core(i).rejections().total(), "no correct replica rejects a correct one: " + cluster.core(i).rejections().snapshot());
    }
    assertTrue(executed < (long) clients * opsPerClient, "requests were batched: " + executed + " batches");
    // Final state: each client's key holds its last value.
    KvStateMachine kv = (KvStateMachine) cluster.app(1);
    for (int c = 0; c < clients; c++) {
      KvResult r = parse(kv.query(KvOperations.get(("k" + c).getBytes(StandardCharsets.UTF_8))));
      assertEquals("v" + opsPerClient, r.getValue().toStringUtf8());
    }
  }

  private static KvResult parse(byte[] bytes) {
    try {
      return KvResult.parseFrom(bytes);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }
}

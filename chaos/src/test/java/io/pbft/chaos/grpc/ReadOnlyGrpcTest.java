package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.chaos.traitor.Traitors;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.app.kv.KvStateMachine;
import io.pbft.replica.runtime.ReplicaServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Read-only reads over gRPC, four replicas in this JVM: a read returns the latest acknowledged
 * write without being ordered; with a replica that lies about reads and another one down, the
 * answers cannot agree and the read is ordered instead, still returning the latest write; and
 * reads concurrent with writes see the register move forward only, within real time.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ReadOnlyGrpcTest {
  @TempDir
  Path dir;

  private GrpcCluster cluster;
  private ClusterConfig config;
  private final List<KvClient> clients = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    cluster = GrpcCluster.start(dir, 4, 8);
    config = cluster.config();
  }

  @AfterEach
  void stop() {
    clients.forEach(KvClient::close);
    cluster.close();
  }

  /**
   * A client whose read-only timeout is long: a read falls back only when the answers cannot
   * agree, never because a busy machine was slow, so what the test counts does not depend on timing.
   */
  private KvClient client(int id) {
    return client(id, Duration.ofSeconds(60));
  }

  private KvClient client(int id, Duration readOnlyTimeout) {
    KvClient kv = KvClient.owning(PbftClient.newBuilder().config(config).clientId(id).channels(cluster.channels())
        .readOnlyTimeout(readOnlyTimeout).operationTimeout(Duration.ofSeconds(90)).build());
    clients.add(kv);
    return kv;
  }

  /** Replica {@code id} restarted (empty, before any write) as a traitor answering reads with stale or made-up values. */
  private void staleReader(int id) throws Exception {
    cluster.stop(id);
    cluster.restartWith(id, () -> ReplicaServer.start(config, id, config.replicaKeys(id), new KvStateMachine(),
        Traitors.create("stale-reads", new Traitors.Context(id, 4, 1, 42))));
  }

  @Test
  void aReadReturnsTheLatestAcknowledgedWriteWithoutBeingOrdered() {
    KvClient writer = client(0);
    KvClient reader = client(1);
    for (int i = 1; i <= 5; i++) {
      writer.put("k", "v" + i);
      assertEquals(Optional.of("v" + i), reader.get("k"), "a read after the put completed");
      assertEquals(Optional.of("v" + i), writer.get("k"), "the writer's own read");
    }
    assertEquals(Optional.empty(), reader.get("missing"));
    assertEquals(11, reader.pbftClient().readOnlyAnswered() + writer.pbftClient().readOnlyAnswered());
    assertEquals(0, reader.pbftClient().readOnlyFallbacks() + writer.pbftClient().readOnlyFallbacks());
    assertEquals(Optional.of("v5"), reader.getOrdered("k"), "the ordered read agrees");
    List<StatusResponse> status = cluster.assertRunningReplicasAgree();
    assertEquals(5 + 1, status.get(0).getExecutedRequests(), "five puts and the ordered get: no read-only one ran");
  }

  @Test
  void oneLyingReplicaIsOutvotedAndWithAnotherDownTheReadIsOrdered() throws Exception {
    staleReader(3);
    KvClient writer = client(0);
    // With replica 2 down the answers cannot agree: the client orders the read as soon as it knows
    // (replica 2's session is down), or after this timeout while its session still looked up.
    KvClient reader = client(1, Duration.ofSeconds(3));
    for (int i = 1; i <= 3; i++) {
      writer.put("k", "v" + i);
      assertEquals(Optional.of("v" + i), reader.get("k"));
    }
    // Three correct replicas agree without the liar (one that had not yet prepared a write when
    // it completed answers the value before it, and then the read is ordered: either way right).
    long answered = reader.pbftClient().readOnlyAnswered();
    long fellBack = reader.pbftClient().readOnlyFallbacks();
    assertEquals(3, answered + fellBack);

    cluster.stop(2); // two correct replicas left: no 2f + 1 matching answers, the liar never tells the truth
    for (int i = 4; i <= 6; i++) {
      writer.put("k", "v" + i);
      assertEquals(Optional.of("v" + i), reader.get("k"), "ordered instead, still the latest write");
    }
    assertEquals(answered, reader.pbftClient().readOnlyAnswered(), "none answered read-only");
    assertEquals(fellBack + 3, reader.pbftClient().readOnlyFallbacks(), "all three ordered");
  }

  @Test
  void readsConcurrentWithWritesMoveForwardOnlyWithinRealTime() throws Exception {
    KvClient writer = client(0);
    writer.put("r", "0");
    int writes = 40;
    AtomicInteger acknowledged = new AtomicInteger(0); // the last value whose put completed
    AtomicInteger invoked = new AtomicInteger(0);      // the last value a put was started for
    AtomicBoolean done = new AtomicBoolean();
    List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<Integer>> readers = new ArrayList<>();
    for (int c = 1; c <= 3; c++) {
      KvClient reader = client(c);
      readers.add(CompletableFuture.supplyAsync(() -> {
        int last = 0;
        int reads = 0;
        while (!done.get() || reads == 0) {
          int floor = acknowledged.get();
          int value = Integer.parseInt(reader.get("r").orElseThrow());
          int ceiling = invoked.get();
          reads++;
          if (value < floor || value > ceiling) {
            problems.add("read " + value + " outside [" + floor + ", " + ceiling + "] of its real time");
          }
          if (value < last) {
            problems.add("read " + value + " after reading " + last);
          }
          last = value;
        }
        return reads;
      }));
    }
    for (int i = 1; i <= writes; i++) {
      invoked.set(i);
      writer.put("r", Integer.toString(i));
      acknowledged.set(i);
    }
    done.set(true);
    int reads = 0;
    for (CompletableFuture<Integer> r : readers) {
      reads += r.get(120, TimeUnit.SECONDS);
    }
    assertEquals(List.of(), problems);
    assertTrue(reads >= 3);
    assertEquals(Optional.of(Integer.toString(writes)), client(4).get("r"));
    reads++;
    long answered = 0;
    long fellBack = 0;
    for (KvClient kv : clients) {
      answered += kv.pbftClient().readOnlyAnswered();
      fellBack += kv.pbftClient().readOnlyFallbacks();
    }
    assertEquals(reads, answered + fellBack, "every read answered read-only or ordered");
    List<StatusResponse> status = cluster.assertRunningReplicasAgree();
    assertEquals(1 + writes + fellBack, status.get(0).getExecutedRequests(),
        "the puts, and the reads that fell back, each executed once");
  }
}

package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.bench.UnreplicatedServer;
import io.pbft.cli.bench.UnreplicatedTarget;
import io.pbft.cli.cluster.ClusterStatus;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.kv.KvOperations;
import io.pbft.testkit.StatusProbe;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class UnreplicatedServerTest {
  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void answersPutAndGetAndStatus() throws Exception {
    try (UnreplicatedServer server = UnreplicatedServer.start("127.0.0.1", 0);
        UnreplicatedTarget target = new UnreplicatedTarget("127.0.0.1", server.port(), 2, Duration.ofSeconds(10))) {
      KvResult put = KvResult.parseFrom(target.execute(0, KvOperations.put(utf8("k"), utf8("v"))));
      assertEquals(KvResult.Status.OK, put.getStatus());

      KvResult get = KvResult.parseFrom(target.execute(1, KvOperations.get(utf8("k"))));
      assertEquals(KvResult.Status.OK, get.getStatus());
      assertTrue(get.getFound());
      assertEquals("v", get.getValue().toStringUtf8());

      KvResult missing = KvResult.parseFrom(target.execute(1, KvOperations.get(utf8("other"))));
      assertEquals(KvResult.Status.NOT_FOUND, missing.getStatus());

      try (ClusterStatus status = ClusterStatus.open(List.of(new StatusProbe.Target(0, "127.0.0.1", server.port())))) {
        ClusterStatus.Snapshot s = status.poll(Duration.ofSeconds(5));
        assertTrue(s.allReachable(), s.toString());
        assertEquals(3, s.replicas().get(0).lastExecuted());
        assertEquals(32, s.replicas().get(0).stateDigest().length);
      }
    }
  }
}

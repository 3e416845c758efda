package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pbft.client.KvClient;
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
 * Each replica counts its open client streams to enforce transport.clientSessionsMax. A client
 * that closes cancels its streams, and the replica hears of it twice (the call's cancel handler
 * and the request observer's onError); it must count the session out once, or the count goes
 * negative and the bound on client sessions no longer holds.
 *
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ClientSessionCountTest {
  private static final int CLIENTS = 3;

  @TempDir
  Path dir;

  @Test
  void closedClientsLeaveNoSessionsCounted() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, CLIENTS)) {
      for (int c = 0; c < CLIENTS; c++) {
        try (KvClient kv = cluster.kvClient(c)) {
          kv.put("k" + c, "v");
        }
      }
      // Every stream was closed; wait for the replicas to notice, then no session is left open.
      List<StatusResponse> all = Polling.until(() -> cluster.statuses(cluster.running()),
          s -> s.stream().allMatch(r -> r.getClientSessions() <= 0), Duration.ofSeconds(20));
      for (StatusResponse s : all) {
        assertEquals(0, s.getClientSessions(),
            "open client sessions counted at replica " + s.getReplicaId());
      }
    }
  }
}

package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.testkit.Ports;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A replica whose configured queue byte bounds cannot fit in its heap refuses to start, saying why. */
class ReplicaHeapTest {
  @TempDir
  Path dir;

  @Test
  void byteBoundsBeyondTheHeapStopTheReplicaWithAClearMessage() {
    int gib = 1 << 30;
    long need = 6L * gib; // 2 inbound queues, 3 peers and the unauthenticated budget, 1 GiB each
    assumeTrue(need > Runtime.getRuntime().maxMemory() * 3 / 4, "this JVM's heap is large enough for 6 GiB of bounds");
    ClusterConfig generated = ClusterSetup.generate(dir, 4, 1, "127.0.0.1", Ports.consecutive(4), -1,
        new SecureRandom());
    generated.withTransport(generated.transport().toBuilder().inboundQueueBytesMax(gib).peerQueueBytesMax(gib)
        .unauthenticatedBytesMax(gib).build()).write(dir.resolve("cluster.yaml"));
    Run run = Run.of("replica", "--config", dir.resolve("cluster.yaml").toString(), "--id", "0");
    assertEquals(2, run.exitCode(), run.toString());
    assertTrue(run.err().contains("replica 0 cannot start: its queue bounds need 6144 MiB"), run.toString());
    assertTrue(run.err().contains("PBFT_HEAP"), run.toString());
    assertFalse(run.err().contains("\tat "), run.toString());
  }
}

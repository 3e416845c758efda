package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ClusterSetup;
import io.pbft.testkit.Ports;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplicaCommandTest {
  @TempDir
  Path dir;

  @Test
  void portInUseExitsOneWithAClearMessage() throws Exception {
    int base = Ports.consecutive(4);
    ClusterSetup.generate(dir, 4, 1, "127.0.0.1", base, -1, new SecureRandom());
    try (ServerSocket squatter = new ServerSocket()) {
      squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), base));
      Run run = Run.of("replica", "--config", dir.resolve("cluster.yaml").toString(), "--id", "0");
      assertEquals(1, run.exitCode(), run.toString());
      assertTrue(run.err().contains("address 127.0.0.1:" + base + " already in use"), run.toString());
      assertFalse(run.err().contains("\tat "), run.toString());
    }
  }
}

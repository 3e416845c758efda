package io.pbft.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PortsTest {

  private static int ephemeralLow() throws IOException {
    Path range = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    return Files.exists(range) ? Integer.parseInt(Files.readAllLines(range).get(0).trim().split("\\s+")[0]) : 32_768;
  }

  @Test
  void portsComeFromBelowTheEphemeralRangeSoNoOutgoingConnectionCanHoldThem() throws IOException {
    int low = ephemeralLow();
    for (int i = 0; i < 20; i++) {
      for (int p : Ports.free(4)) {
        assertTrue(p >= 10_000 && p < low, p + " is outside [10000, " + low + ")");
      }
      int base = Ports.consecutive(5);
      assertTrue(base >= 10_000 && base + 4 < low, base + " .. " + (base + 4) + " reach the ephemeral range");
    }
  }

  @Test
  void freePortsAreDistinctAndBindable() throws IOException {
    int[] ports = Ports.free(8);
    assertEquals(8, Arrays.stream(ports).distinct().count());
    for (int p : ports) {
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p));
      }
    }
  }

  @Test
  void consecutivePortsAreAllBindable() throws IOException {
    int base = Ports.consecutive(4);
    for (int p = base; p < base + 4; p++) {
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p));
      }
    }
  }
}

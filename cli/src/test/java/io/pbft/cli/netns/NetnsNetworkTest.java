package io.pbft.cli.netns;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The namespaces' network itself, without replicas: a TCP connect to a port nobody listens on
 * takes one round trip (SYN there, RST back), so it measures what the links add.
 */
class NetnsNetworkTest {
  private static final int CLOSED_PORT = 9;

  @Test
  void delayIsAddedInTheKernelPathBothWays() throws IOException {
    LinkConditions conditions = LinkConditions.delayed(Duration.ofMillis(25));
    NetnsCluster.assumeAvailable(conditions);
    try (NetnsNetwork network = NetnsNetwork.create(2, conditions)) {
      double[] rttMs = new double[10];
      for (int i = 0; i < rttMs.length; i++) {
        rttMs[i] = refusedConnectMs(network.host(1), 2000);
      }
      Arrays.sort(rttMs);
      System.out.printf("[netns] round trip to a replica's namespace through 25 ms links: min %.2f, median %.2f, "
          + "max %.2f ms%n", rttMs[0], rttMs[rttMs.length / 2], rttMs[rttMs.length - 1]);
      assertTrue(rttMs[0] >= 50, "every round trip takes at least 2 x 25 ms: " + Arrays.toString(rttMs));
      assertTrue(rttMs[rttMs.length / 2] < 100, "and not much more, in the median: " + Arrays.toString(rttMs));
    }
  }

  @Test
  void isolationDropsPacketsAndHealingRestoresThem() throws IOException {
    NetnsCluster.assumeAvailable(LinkConditions.NONE);
    try (NetnsNetwork network = NetnsNetwork.create(2, LinkConditions.NONE)) {
      assertTrue(refusedConnectMs(network.host(0), 2000) < 50, "a fast link answers at once");
      network.isolate(0);
      assertThrows(SocketTimeoutException.class, () -> refusedConnectMs(network.host(0), 500),
          "an isolated replica's namespace drops the SYN: no answer, not even a refusal");
      network.heal();
      assertTrue(refusedConnectMs(network.host(0), 2000) < 50, "healed, it answers again");
    }
  }

  /** Milliseconds until a connect to {@code host}'s closed port is refused; throws on a timeout. */
  private static double refusedConnectMs(String host, int timeoutMs) throws IOException {
    long start = System.nanoTime();
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, CLOSED_PORT), timeoutMs);
      throw new AssertionError("something listens on " + host + ":" + CLOSED_PORT);
    } catch (ConnectException refused) {
      return (System.nanoTime() - start) / 1e6;
    }
  }
}

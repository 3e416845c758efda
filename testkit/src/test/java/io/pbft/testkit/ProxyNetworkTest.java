package io.pbft.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Three echo servers standing in for replicas behind a ProxyNetwork: what gets through, what does not. */
class ProxyNetworkTest {
  private final List<ServerSocket> servers = new ArrayList<>();
  private ProxyNetwork net;

  @BeforeEach
  void start() throws IOException {
    int[] ports = new int[3];
    for (int i = 0; i < 3; i++) {
      ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      servers.add(s);
      ports[i] = s.getLocalPort();
      Thread t = new Thread(() -> echo(s), "echo " + i);
      t.setDaemon(true);
      t.start();
    }
    net = ProxyNetwork.start(ports);
  }

  @AfterEach
  void stop() throws IOException {
    net.close();
    for (ServerSocket s : servers) {
      s.close();
    }
  }

  private static void echo(ServerSocket server) {
    while (true) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException closed) {
        return;
      }
      Thread t = new Thread(() -> {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
          in.transferTo(out);
        } catch (IOException ignored) {
          // the proxy broke the connection
        }
      });
      t.setDaemon(true);
      t.start();
    }
  }

  private static Socket dial(int port) throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
    s.setSoTimeout(1_000);
    return s;
  }

  /** Sends bytes and returns what came back within the socket's timeout (null if nothing did, or the connection closed). */
  private static byte[] roundTrip(Socket s, byte[] bytes) throws IOException {
    s.getOutputStream().write(bytes);
    s.getOutputStream().flush();
    byte[] back = new byte[bytes.length];
    int read = 0;
    try {
      while (read < back.length) {
        int r = s.getInputStream().read(back, read, back.length - read);
        if (r < 0) {
          return null;
        }
        read += r;
      }
    } catch (SocketTimeoutException silent) {
      return null;
    }
    return back;
  }

  @Test
  void everyLinkForwardsToItsReplica() throws IOException {
    assertEquals(servers.get(2).getLocalPort(), net.replicaPort(2));
    assertEquals(servers.get(1).getLocalPort(), net.peerPort(1, 1), "a replica reaches itself directly");
    for (int from = 0; from < 3; from++) {
      for (int to = 0; to < 3; to++) {
        try (Socket s = dial(net.peerPort(from, to))) {
          assertArrayEquals(new byte[] {(byte) from, (byte) to}, roundTrip(s, new byte[] {(byte) from, (byte) to}));
        }
      }
    }
    try (Socket s = dial(net.clientPort(0))) {
      assertArrayEquals(new byte[] {7}, roundTrip(s, new byte[] {7}));
    }
  }

  @Test
  void isolationBreaksAndRefusesEveryLinkOfTheReplicaUntilHealed() throws IOException {
    Socket open = dial(net.peerPort(0, 1));
    assertArrayEquals(new byte[] {1}, roundTrip(open, new byte[] {1}));
    net.isolate(1);
    assertEquals(null, readAfterCut(open), "the connection it had is broken");
    for (int port : new int[] {net.peerPort(0, 1), net.peerPort(1, 2), net.peerPort(2, 1), net.clientPort(1)}) {
      try (Socket s = dial(port)) {
        assertEquals(null, roundTrip(s, new byte[] {2}), "a link of the isolated replica");
      }
    }
    try (Socket s = dial(net.peerPort(0, 2))) {
      assertArrayEquals(new byte[] {3}, roundTrip(s, new byte[] {3}), "links between the others still work");
    }
    net.heal();
    try (Socket s = dial(net.peerPort(2, 1)); Socket c = dial(net.clientPort(1))) {
      assertArrayEquals(new byte[] {4}, roundTrip(s, new byte[] {4}));
      assertArrayEquals(new byte[] {5}, roundTrip(c, new byte[] {5}));
    }
  }

  private static byte[] readAfterCut(Socket s) {
    try {
      return roundTrip(s, new byte[] {9});
    } catch (IOException broken) {
      return null;
    }
  }

  @Test
  void pauseHoldsBytesOnOpenConnectionsUntilResumed() throws IOException {
    try (Socket s = dial(net.peerPort(2, 0))) {
      assertArrayEquals(new byte[] {1}, roundTrip(s, new byte[] {1}));
      net.pause(0);
      assertEquals(null, roundTrip(s, new byte[] {2, 3}), "nothing comes through while paused");
      net.resume(0);
      byte[] late = new byte[2];
      int read = 0;
      while (read < 2) {
        read += s.getInputStream().read(late, read, 2 - read);
      }
      assertArrayEquals(new byte[] {2, 3}, late, "what was held arrives, in order, on the same connection");
    }
  }

  @Test
  void idsAreChecked() {
    assertThrows(IllegalArgumentException.class, () -> net.isolate(3));
    assertThrows(IllegalArgumentException.class, () -> net.peerPort(0, -1));
    assertTrue(Arrays.stream(Ports.free(5)).distinct().count() == 5, "free ports are distinct");
  }
}

package io.pbft.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * Free TCP ports on 127.0.0.1 for clusters started on this machine. A port is free when it is
 * found; another process may still take it before it is used, so callers fail clearly (or retry)
 * when a bind fails.
 */
public final class Ports {
  private static final int ATTEMPTS = 100;

  private Ports() {}

  /** One free port, chosen by the kernel. */
  public static int free() {
    return free(1)[0];
  }

  /** {@code count} distinct free ports, all held open until every one is found. */
  public static int[] free(int count) {
    List<ServerSocket> held = new ArrayList<>();
    try {
      while (held.size() < count) {
        held.add(bind(0));
      }
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        ports[i] = held.get(i).getLocalPort();
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find free ports on 127.0.0.1", e);
    } finally {
      held.forEach(Ports::closeQuietly);
    }
  }

  /**
   * A base port P such that P .. P + count - 1 are all free right now: P comes from binding port
   * 0, the ports after it are checked by binding them.
   */
  public static int consecutive(int count) {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      List<ServerSocket> held = new ArrayList<>();
      try {
        ServerSocket first = bind(0);
        held.add(first);
        int base = first.getLocalPort();
        if (base + count - 1 > 65535) {
          continue;
        }
        boolean allFree = true;
        for (int p = base + 1; p < base + count && allFree; p++) {
          try {
            held.add(bind(p));
          } catch (IOException taken) {
            allFree = false;
          }
        }
        if (allFree) {
          return base;
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot bind any port on 127.0.0.1: " + e.getMessage(), e);
      } finally {
        held.forEach(Ports::closeQuietly);
      }
    }
    throw new IllegalStateException("found no " + count + " consecutive free ports on 127.0.0.1 in "
        + ATTEMPTS + " attempts");
  }

  private static ServerSocket bind(int port) throws IOException {
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true); // lets the replica bind right after we release it
    try {
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    } catch (IOException e) {
      s.close();
      throw e;
    }
    return s;
  }

  private static void closeQuietly(ServerSocket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // nothing to release
    }
  }
}

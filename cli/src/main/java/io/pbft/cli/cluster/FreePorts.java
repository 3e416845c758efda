package io.pbft.cli.cluster;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/** Finds runs of free TCP ports on 127.0.0.1 for clusters started on this machine. */
public final class FreePorts {
  private static final int ATTEMPTS = 100;

  private FreePorts() {}

  /**
   * A base port P such that P .. P + count - 1 are all free right now. P comes from binding
   * port 0 (the kernel picks an unused one); the ports after it are checked by binding them.
   * Another process may still take one before we use it: callers fail clearly in that case.
   */
  public static int findConsecutive(int count) {
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
        held.forEach(FreePorts::closeQuietly);
      }
    }
    throw new IllegalStateException("found no " + count + " consecutive free ports on 127.0.0.1 in "
        + ATTEMPTS + " attempts");
  }

  private static ServerSocket bind(int port) throws IOException {
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true); // lets the replica rebind right after we release it
    try {
      s.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
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

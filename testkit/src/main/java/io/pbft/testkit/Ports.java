package io.pbft.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free TCP ports on 127.0.0.1 for clusters started on this machine.
 *
 * <p>Ports are drawn at random from below the kernel's ephemeral range (on Linux
 * {@code /proc/sys/net/ipv4/ip_local_port_range}, usually 32768-60999), never by binding port 0.
 * A port the kernel hands out for port 0 comes from the same range as the source ports of outgoing
 * connections, so between our check and the replica's bind, any gRPC channel on the machine could
 * take it as its source port; that race failed CI ("address 127.0.0.1:34649 already in use"). A
 * port below the range is only ever taken by another listener, which the random choice makes
 * unlikely, and every port is checked by binding it before it is returned.
 */
public final class Ports {
  private static final int ATTEMPTS = 200;
  private static final int LOWEST = 10_000;
  private static final int EPHEMERAL_LOW = ephemeralLow();

  private Ports() {}

  /** One free port. */
  public static int free() {
    return free(1)[0];
  }

  /** {@code count} distinct free ports, all held open until every one is found. */
  public static int[] free(int count) {
    List<ServerSocket> held = new ArrayList<>();
    try {
      for (int attempt = 0; attempt < ATTEMPTS * count && held.size() < count; attempt++) {
        ServerSocket s = tryBind(randomPort(1));
        if (s != null) {
          held.add(s);
        }
      }
      if (held.size() < count) {
        throw new IllegalStateException("found no " + count + " free ports on 127.0.0.1 between "
            + LOWEST + " and " + (EPHEMERAL_LOW - 1));
      }
      return held.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } finally {
      held.forEach(Ports::closeQuietly);
    }
  }

  /** A base port P such that P .. P + count - 1 are all free right now. */
  public static int consecutive(int count) {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      int base = randomPort(count);
      List<ServerSocket> held = new ArrayList<>();
      try {
        for (int p = base; p < base + count; p++) {
          ServerSocket s = tryBind(p);
          if (s == null) {
            break;
          }
          held.add(s);
        }
        if (held.size() == count) {
          return base;
        }
      } finally {
        held.forEach(Ports::closeQuietly);
      }
    }
    throw new IllegalStateException("found no " + count + " consecutive free ports on 127.0.0.1 in "
        + ATTEMPTS + " attempts");
  }

  /** A random P with P .. P + span - 1 all below the ephemeral range. */
  private static int randomPort(int span) {
    return ThreadLocalRandom.current().nextInt(LOWEST, EPHEMERAL_LOW - span + 1);
  }

  private static ServerSocket tryBind(int port) {
    ServerSocket s = null;
    try {
      s = new ServerSocket();
      s.setReuseAddress(true); // lets the replica bind right after we release it
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return s;
    } catch (IOException taken) {
      if (s != null) {
        closeQuietly(s);
      }
      return null;
    }
  }

  /** The lowest ephemeral port, or 32768 (Linux's default) when the kernel does not say. */
  private static int ephemeralLow() {
    try {
      // readAllLines, not readString: procfs reports a size of 0, and readString then read one byte
      String[] range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim()
          .split("\\s+");
      int low = Integer.parseInt(range[0]);
      return low > LOWEST + 1_000 ? low : 32_768;
    } catch (IOException | RuntimeException e) {
      return 32_768;
    }
  }

  private static void closeQuietly(ServerSocket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // nothing to release
    }
  }
}

package io.pbft.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One TCP proxy on 127.0.0.1: every connection made to {@link #port} is forwarded, both ways, to
 * {@code target}. {@link #cut} breaks the connections it carries and refuses new ones (they are
 * accepted and closed at once, as a peer behind a broken network looks); {@link #hold} stops
 * bytes flowing while the connections stay open, as to a frozen process. A thread accepts, and
 * two threads pump each connection.
 */
final class ProxyLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProxyLink.class);
  private static final int CONNECT_TIMEOUT_MS = 2_000;

  private final String name;
  private final InetSocketAddress target;
  private final ServerSocket server;
  private final Thread acceptor;
  private final Set<Socket> open = new HashSet<>(); // guarded by this
  private boolean cut;                              // guarded by this
  private boolean held;                             // guarded by this
  private boolean closed;                           // guarded by this

  ProxyLink(String name, InetSocketAddress target) throws IOException {
    this.name = name;
    this.target = target;
    this.server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    this.acceptor = new Thread(this::accept, "proxy " + name);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  String name() {
    return name;
  }

  /** Breaks every connection and refuses new ones until {@link #restore}. */
  void cut() {
    List<Socket> broken;
    synchronized (this) {
      cut = true;
      broken = List.copyOf(open);
      open.clear();
      notifyAll();
    }
    broken.forEach(ProxyLink::closeQuietly);
  }

  synchronized void restore() {
    cut = false;
  }

  /** Stops forwarding (connections stay open, bytes wait) until {@link #release}. */
  synchronized void hold() {
    held = true;
  }

  synchronized void release() {
    held = false;
    notifyAll();
  }

  private void accept() {
    while (true) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      synchronized (this) {
        if (closed || cut) {
          closeQuietly(client);
          continue;
        }
      }
      Socket upstream = new Socket();
      try {
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
        upstream.connect(target, CONNECT_TIMEOUT_MS);
      } catch (IOException e) {
        // the replica is down: the dialler sees its connection closed, as it would have seen it refused
        closeQuietly(client);
        closeQuietly(upstream);
        continue;
      }
      synchronized (this) {
        if (closed || cut) {
          closeQuietly(client);
          closeQuietly(upstream);
          continue;
        }
        open.add(client);
        open.add(upstream);
      }
      pump(client, upstream, "->");
      pump(upstream, client, "<-");
    }
  }

  private void pump(Socket from, Socket to, String direction) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[64 * 1024];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        while (true) {
          int read = in.read(buffer);
          if (read < 0) {
            to.shutdownOutput();
            return;
          }
          if (!awaitFlowing(from)) {
            return;
          }
          out.write(buffer, 0, read);
          out.flush();
        }
      } catch (SocketException broken) {
        // cut, closed, or the other end went away
      } catch (IOException e) {
        log.debug("proxy {}: {}", name, e.toString());
      } finally {
        closePair(from, to);
      }
    }, "proxy " + name + " " + direction);
    t.setDaemon(true);
    t.start();
  }

  /** Waits while the link is held; false if it was cut or closed meanwhile (or {@code s} is gone). */
  private synchronized boolean awaitFlowing(Socket s) {
    while (held && !cut && !closed && open.contains(s)) {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return !cut && !closed && open.contains(s);
  }

  private void closePair(Socket a, Socket b) {
    synchronized (this) {
      open.remove(a);
      open.remove(b);
      notifyAll();
    }
    closeQuietly(a);
    closeQuietly(b);
  }

  @Override
  public void close() {
    List<Socket> all;
    synchronized (this) {
      closed = true;
      all = List.copyOf(open);
      open.clear();
      notifyAll();
    }
    closeQuietly(server);
    all.forEach(ProxyLink::closeQuietly);
    try {
      acceptor.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // already closed
    }
  }
}

package io.pbft.testkit;

import io.pbft.config.ClusterConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A network of TCP proxies for a cluster on this machine, so that a test can cut a replica off
 * or freeze its traffic without touching the replica: replica {@code from} reaches replica
 * {@code to} through a proxy of that link alone, {@link #peerPort}{@code (from, to)}, and
 * clients reach replica {@code to} through {@link #clientPort}{@code (to)}. Each replica therefore
 * runs with a configuration of its own ({@link #replicaView}: its peers at their proxies, itself
 * at its real address), clients with {@link #clientView}.
 *
 * <p>{@link #isolate} breaks and refuses every connection into and out of a replica, client
 * connections included, until {@link #heal}; {@link #pause} holds them open but lets no byte
 * through until {@link #resume}. Status probes that dial a replica's real address are not
 * affected.
 */
public final class ProxyNetwork implements AutoCloseable {
  private final int n;
  private final int[] replicaPorts;
  /** links[from][to]: replica from dialling replica to; links[n][to]: clients dialling replica to. */
  private final ProxyLink[][] links;
  private final Set<Integer> isolated = new TreeSet<>();
  private final Set<Integer> paused = new TreeSet<>();

  private ProxyNetwork(int[] replicaPorts) {
    this.n = replicaPorts.length;
    this.replicaPorts = replicaPorts.clone();
    this.links = new ProxyLink[n + 1][n];
  }

  /** Proxies in front of replicas listening on 127.0.0.1 at {@code replicaPorts[i]}. */
  public static ProxyNetwork start(int[] replicaPorts) {
    ProxyNetwork net = new ProxyNetwork(replicaPorts);
    try {
      for (int from = 0; from <= net.n; from++) {
        for (int to = 0; to < net.n; to++) {
          if (from != to) {
            String name = (from == net.n ? "clients" : "r" + from) + "->r" + to;
            net.links[from][to] = new ProxyLink(name, new InetSocketAddress("127.0.0.1", replicaPorts[to]));
          }
        }
      }
    } catch (IOException e) {
      net.close();
      throw new UncheckedIOException("cannot open the proxies of a cluster", e);
    }
    return net;
  }

  /** Where replica {@code from} dials replica {@code to}. */
  public int peerPort(int from, int to) {
    check(from);
    check(to);
    if (from == to) {
      return replicaPorts[to];
    }
    return links[from][to].port();
  }

  /** Where clients dial replica {@code to}. */
  public int clientPort(int to) {
    check(to);
    return links[n][to].port();
  }

  /** The real port replica {@code id} listens on. */
  public int replicaPort(int id) {
    check(id);
    return replicaPorts[id];
  }

  /** {@code config} as replica {@code id} must see it: its peers at their link proxies, itself at its port. */
  public ClusterConfig replicaView(ClusterConfig config, int id) {
    return ClusterConfigs.withAddresses(config, i -> "127.0.0.1", to -> peerPort(id, to));
  }

  /** {@code config} as clients must see it: every replica at its client proxy. */
  public ClusterConfig clientView(ClusterConfig config) {
    return ClusterConfigs.withAddresses(config, i -> "127.0.0.1", this::clientPort);
  }

  /** Breaks and refuses every connection into and out of replica {@code id} until {@link #heal}. */
  public synchronized void isolate(int id) {
    check(id);
    isolated.add(id);
    linksOf(id).forEach(ProxyLink::cut);
  }

  /** Lets every isolated replica be reached again (and reach the others), except through a pause. */
  public synchronized void heal() {
    for (int id : List.copyOf(isolated)) {
      isolated.remove(id);
      for (ProxyLink l : linksOf(id)) {
        if (!isolated.contains(otherEnd(l, id))) {
          l.restore();
        }
      }
    }
  }

  /** Holds every connection into and out of replica {@code id}: open, but silent. */
  public synchronized void pause(int id) {
    check(id);
    paused.add(id);
    linksOf(id).forEach(ProxyLink::hold);
  }

  public synchronized void resume(int id) {
    check(id);
    paused.remove(id);
    for (ProxyLink l : linksOf(id)) {
      if (!paused.contains(otherEnd(l, id))) {
        l.release();
      }
    }
  }

  public synchronized Set<Integer> isolated() {
    return Set.copyOf(isolated);
  }

  /** Every link with replica {@code id} at one end (client links into it included). */
  private List<ProxyLink> linksOf(int id) {
    List<ProxyLink> all = new ArrayList<>();
    for (int other = 0; other < n; other++) {
      if (other != id) {
        all.add(links[id][other]);
        all.add(links[other][id]);
      }
    }
    all.add(links[n][id]);
    return all;
  }

  /** The replica at the other end of {@code l} from {@code id} (-1 for the client side). */
  private int otherEnd(ProxyLink l, int id) {
    for (int from = 0; from <= n; from++) {
      for (int to = 0; to < n; to++) {
        if (links[from][to] == l) {
          int other = from == id ? to : from;
          return other == n ? -1 : other;
        }
      }
    }
    return -1;
  }

  private void check(int id) {
    if (id < 0 || id >= n) {
      throw new IllegalArgumentException("no replica " + id + " (ids 0.." + (n - 1) + ")");
    }
  }

  @Override
  public synchronized void close() {
    for (ProxyLink[] row : links) {
      for (ProxyLink l : row) {
        if (l != null) {
          l.close();
        }
      }
    }
  }
}

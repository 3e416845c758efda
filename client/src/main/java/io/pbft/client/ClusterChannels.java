package io.pbft.client;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.tls.TlsMaterial;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One gRPC channel per replica plus one timer thread, shared by any number of
 * {@link PbftClient}s in a process. gRPC multiplexes every client's session stream over the
 * channel's single HTTP/2 connection, so hundreds of client identities cost hundreds of streams,
 * not hundreds of connections or threads. Their callbacks (replies, handshakes) run on a fixed
 * pool of {@link #callbackThreads()} daemon threads shared by every channel, not on gRPC's default
 * cached pool, which grows a thread per concurrently active call (dozens under load) and pays a
 * hand-off for each.
 *
 * <p>Whoever creates an instance closes it, after the clients that use it.
 */
public final class ClusterChannels implements AutoCloseable {
  private static final AtomicInteger TIMER_THREADS = new AtomicInteger();

  private final ClusterConfig config;
  /**
   * The channel to each replica, by id (null for ids no member has had); replaced when the client
   * follows a replica to a new address, added when it follows the group to a new member.
   */
  private final java.util.concurrent.atomic.AtomicReferenceArray<ManagedChannel> channels;
  /** The address each channel dials, by replica id. */
  private final String[] addresses;
  /** Channels replaced by {@link #channelTo}, closed with the rest. */
  private final List<ManagedChannel> moved = new ArrayList<>();
  private final SslContext tls;
  /**
   * Where to dial a replica's address (HOST:PORT as the membership names it): the address itself,
   * or where it is published to this host (replicas in containers, see {@link #open(ClusterConfig,
   * TlsMaterial, java.util.function.UnaryOperator)}).
   */
  private final java.util.function.UnaryOperator<String> dialed;
  private final ScheduledThreadPoolExecutor timer;
  private final ExecutorService callbacks;
  private static final AtomicInteger CALLBACK_THREADS = new AtomicInteger();

  /** Threads running the channels' callbacks: one per core, at least two. */
  static int callbackThreads() {
    return Math.max(2, Runtime.getRuntime().availableProcessors());
  }

  private ClusterChannels(ClusterConfig config, TlsMaterial identity, java.util.function.UnaryOperator<String> dialed) {
    this.config = config;
    this.dialed = dialed;
    this.tls = ClientTls.context(config, identity);
    this.addresses = new String[io.pbft.config.Membership.ID_LIMIT];
    this.callbacks = Executors.newFixedThreadPool(callbackThreads(), r -> {
      Thread t = new Thread(r, "pbft-client-" + CALLBACK_THREADS.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.channels = new java.util.concurrent.atomic.AtomicReferenceArray<>(io.pbft.config.Membership.ID_LIMIT);
    for (ReplicaInfo r : config.replicas()) {
      channels.set(r.id(), build(r));
      addresses[r.id()] = r.address();
    }
    // Retransmission timers only hand work to gRPC, so one thread serves every client.
    this.timer = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "pbft-client-timer-" + TIMER_THREADS.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.timer.setRemoveOnCancelPolicy(true);
  }

  /**
   * Creates channels to every replica of {@code config}. Connections are made on first use. With
   * TLS on, the replicas are authenticated against the configured CA, and this side presents no
   * certificate.
   */
  public static ClusterChannels open(ClusterConfig config) {
    return open(config, null);
  }

  /**
   * As above, presenting {@code identity} in the TLS handshake (say, {@code config.clientTls(id)});
   * null for none. Ignored with TLS off.
   */
  public static ClusterChannels open(ClusterConfig config, TlsMaterial identity) {
    if (config == null) {
      throw new IllegalArgumentException("config is required");
    }
    return new ClusterChannels(config, identity, java.util.function.UnaryOperator.identity());
  }

  /**
   * As above, dialing each replica where {@code dialed} maps its address (HOST:PORT as the
   * membership names it, for members added later too) instead: for replicas in containers, whose
   * addresses resolve only inside their network, reached from this host at published ports. The
   * configuration and the chain of changes keep the members' own addresses, so the client follows
   * the group as any other; with TLS each replica's certificate is still checked against the host
   * name the membership gives it.
   */
  public static ClusterChannels open(ClusterConfig config, TlsMaterial identity,
      java.util.function.UnaryOperator<String> dialed) {
    if (config == null || dialed == null) {
      throw new IllegalArgumentException("config and dialed are required");
    }
    return new ClusterChannels(config, identity, dialed);
  }

  public ClusterConfig config() {
    return config;
  }

  private ManagedChannel build(ReplicaInfo r) {
    String to = dialed.apply(r.address());
    io.pbft.config.HostPort at = io.pbft.config.HostPort.parse(to);
    io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder b = to.equalsIgnoreCase(r.address())
        ? ClientTls.builder(r, tls)
        : ClientTls.builder(r.withAddress(at.host(), at.port()), tls).overrideAuthority(r.address());
    return b.executor(callbacks)
        .maxInboundMessageSize(config.transport().messageBytesMax())
        .build();
  }

  /** The channel to replica {@code replicaId}. */
  public ManagedChannel channel(int replicaId) {
    ManagedChannel c = replicaId < 0 || replicaId >= channels.length() ? null : channels.get(replicaId);
    if (c == null) {
      throw new IllegalArgumentException("no channel to replica " + replicaId + " (cluster.yaml has ids 0.."
          + (config.n() - 1) + "; channelTo opens one to a member added since)");
    }
    return c;
  }

  /** The address the channel to replica {@code replicaId} dials. */
  public synchronized String address(int replicaId) {
    return addresses[replicaId];
  }

  /**
   * The channel to {@code member} at its address: the one in use if it dials there, else a new
   * one, which replaces it for every client of these channels (a change moved the replica to
   * another machine, or added it to the group: docs/RECONFIGURATION.md). A replaced channel is
   * shut down once its calls end.
   */
  public synchronized ManagedChannel channelTo(io.pbft.config.Member member) {
    int id = member.id();
    if (id < 0 || id >= channels.length()) {
      throw new IllegalArgumentException("replica id " + id + " is out of range (ids are below " + channels.length() + ")");
    }
    ManagedChannel old = channels.get(id);
    if (old != null && (member.address().equalsIgnoreCase(addresses[id]) || isClosed())) {
      return old;
    }
    ManagedChannel next = build(member.toReplicaInfo());
    channels.set(id, next);
    addresses[id] = member.address();
    if (old != null) {
      moved.add(old);
      old.shutdown();
    }
    if (isClosed()) {
      next.shutdownNow();
    }
    return next;
  }

  ScheduledExecutorService timer() {
    return timer;
  }

  public boolean isClosed() {
    return timer.isShutdown();
  }

  /** Shuts the channels down, waiting up to a second for in-flight calls before cutting them. */
  @Override
  public void close() {
    timer.shutdownNow();
    List<ManagedChannel> all = new ArrayList<>();
    synchronized (this) {
      for (int i = 0; i < channels.length(); i++) {
        if (channels.get(i) != null) {
          all.add(channels.get(i));
        }
      }
      all.addAll(moved);
    }
    for (ManagedChannel c : all) {
      c.shutdown();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
    for (ManagedChannel c : all) {
      try {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !c.awaitTermination(left, TimeUnit.NANOSECONDS)) {
          c.shutdownNow();
        }
      } catch (InterruptedException e) {
        c.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
    callbacks.shutdown(); // what is queued still runs; the threads end after it
  }
}

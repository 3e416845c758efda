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
  private final List<ManagedChannel> channels;
  private final ScheduledThreadPoolExecutor timer;
  private final ExecutorService callbacks;
  private static final AtomicInteger CALLBACK_THREADS = new AtomicInteger();

  /** Threads running the channels' callbacks: one per core, at least two. */
  static int callbackThreads() {
    return Math.max(2, Runtime.getRuntime().availableProcessors());
  }

  private ClusterChannels(ClusterConfig config, TlsMaterial identity) {
    this.config = config;
    SslContext tls = ClientTls.context(config, identity);
    List<ManagedChannel> list = new ArrayList<>(config.n());
    this.callbacks = Executors.newFixedThreadPool(callbackThreads(), r -> {
      Thread t = new Thread(r, "pbft-client-" + CALLBACK_THREADS.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    for (ReplicaInfo r : config.replicas()) {
      list.add(ClientTls.builder(r, tls)
          .executor(callbacks)
          .maxInboundMessageSize(config.transport().messageBytesMax())
          .build());
    }
    this.channels = List.copyOf(list);
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
    return new ClusterChannels(config, identity);
  }

  public ClusterConfig config() {
    return config;
  }

  /** The channel to replica {@code replicaId}. */
  public ManagedChannel channel(int replicaId) {
    if (replicaId < 0 || replicaId >= channels.size()) {
      throw new IllegalArgumentException("no replica " + replicaId + " (the cluster has ids 0.."
          + (channels.size() - 1) + ")");
    }
    return channels.get(replicaId);
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
    for (ManagedChannel c : channels) {
      c.shutdown();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
    for (ManagedChannel c : channels) {
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

package io.pbft.cli.durability;

import io.pbft.client.ClusterChannels;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Load that remembers what it was promised: {@code clients} client identities, each on a thread
 * of its own putting values to keys only it writes, one operation at a time. For every key it
 * keeps the last value whose put was acknowledged (f + 1 matching replies) and the values
 * attempted since (a put that timed out may still have executed, or execute later in place of
 * nothing newer). {@link #verify} then reads every key back through the cluster.
 *
 * <p>Since a client's timestamps only grow and replicas ignore a request older than the last
 * one they executed for that client, a key's final value must be its last acknowledged value or
 * a value attempted after it: anything else means an acknowledged put was lost or undone.
 */
final class AckedPuts implements AutoCloseable {
  private final ClusterConfig config;
  private final int clients;
  private final int keysPerClient;
  private final String prefix;
  private final Duration operationTimeout;
  private final ClusterChannels channels;
  private final List<Thread> threads = new ArrayList<>();
  private final ConcurrentHashMap<String, KeyHistory> keys = new ConcurrentHashMap<>();
  private final AtomicLong acked = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicReference<String> firstFailure = new AtomicReference<>();
  private volatile boolean stopping;
  private volatile long pauseMs;

  /** Per key: its last acknowledged value and what was attempted after it. Owned by one thread. */
  private static final class KeyHistory {
    volatile String lastAcked;
    final List<String> attemptedSince = new ArrayList<>();
  }

  /** Uses client ids {@code 0 .. clients - 1} of {@code config}. */
  AckedPuts(ClusterConfig config, int clients, int keysPerClient, String prefix, Duration operationTimeout) {
    this.config = config;
    this.clients = clients;
    this.keysPerClient = keysPerClient;
    this.prefix = prefix;
    this.operationTimeout = operationTimeout;
    this.channels = ClusterChannels.open(config);
  }

  /**
   * Each client waits this long after each put: a paced load leaves CPU for replicas that restart
   * and catch up on a two-core machine, where a closed loop as fast as it goes starves them.
   */
  AckedPuts pausing(Duration pause) {
    this.pauseMs = pause.toMillis();
    return this;
  }

  void start() {
    for (int c = 0; c < clients; c++) {
      int client = c;
      Thread t = new Thread(() -> run(client), "acked-puts-" + c);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  private void run(int client) {
    try (KvClient kv = KvClient.owning(PbftClient.newBuilder().config(config).clientId(client).channels(channels)
        .operationTimeout(operationTimeout).build())) {
      for (long n = 0; !stopping; n++) {
        String key = key(client, (int) (n % keysPerClient));
        String value = "client-" + client + "-put-" + n;
        KeyHistory h = keys.computeIfAbsent(key, k -> new KeyHistory());
        synchronized (h) {
          h.attemptedSince.add(value);
        }
        try {
          kv.put(key, value);
          synchronized (h) {
            h.lastAcked = value;
            h.attemptedSince.clear();
          }
          acked.incrementAndGet();
        } catch (RuntimeException e) {
          failed.incrementAndGet();
          firstFailure.compareAndSet(null, e.toString());
        }
        if (pauseMs > 0) {
          try {
            Thread.sleep(pauseMs);
          } catch (InterruptedException e) {
            return;
          }
        }
      }
    }
  }

  private String key(int client, int k) {
    return prefix + "-c" + client + "-k" + k;
  }

  long acked() {
    return acked.get();
  }

  long failed() {
    return failed.get();
  }

  String firstFailure() {
    return firstFailure.get();
  }

  /** Waits until {@code more} puts beyond those acknowledged so far are acknowledged; false on timeout. */
  boolean awaitMore(long more, Duration timeout) throws InterruptedException {
    long target = acked.get() + more;
    long deadline = System.nanoTime() + timeout.toNanos();
    while (acked.get() < target) {
      if (System.nanoTime() - deadline >= 0) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }

  /** Stops the clients after the operation each has outstanding, and waits for them. */
  void stop() throws InterruptedException {
    stopping = true;
    for (Thread t : threads) {
      t.join(operationTimeout.toMillis() * 2 + 10_000);
      if (t.isAlive()) {
        throw new IllegalStateException(t.getName() + " did not finish its last operation");
      }
    }
  }

  /**
   * Reads every key written back as client {@code readerId} and returns what is wrong: keys whose
   * value is neither the last acknowledged one nor one attempted after it. Empty if all is well.
   */
  List<String> verify(int readerId) {
    List<String> problems = new ArrayList<>();
    try (KvClient kv = KvClient.owning(PbftClient.newBuilder().config(config).clientId(readerId).channels(channels)
        .operationTimeout(operationTimeout).build())) {
      for (var e : keys.entrySet()) {
        KeyHistory h = e.getValue();
        Optional<String> found = kv.get(e.getKey());
        synchronized (h) {
          boolean ok = found.map(v -> v.equals(h.lastAcked) || h.attemptedSince.contains(v))
              .orElse(h.lastAcked == null);
          if (!ok) {
            problems.add(e.getKey() + " = " + found.orElse("(absent)") + ", but the last acknowledged put was "
                + h.lastAcked + " and only " + h.attemptedSince + " were attempted after it");
          }
        }
      }
    }
    return problems;
  }

  /** Keys with an acknowledged put. */
  long keysAcked() {
    return keys.values().stream().filter(h -> h.lastAcked != null).count();
  }

  @Override
  public void close() {
    stopping = true;
    channels.close();
  }
}

package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pbft.client.KvClient;
import io.pbft.testkit.Polling;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Closed-loop put clients running in the background, one thread per client identity, each
 * writing fresh keys {@code NAME/cC/I}. Every put the cluster acknowledged is recorded, so a test
 * can check afterwards that each of them is still there with its value, whatever failed
 * meanwhile. Values are derived from the key, so even large ones need not be kept in memory.
 */
final class PutLoad implements AutoCloseable {
  /** One acknowledged put. */
  record Put(int client, long index, long completedNanos) {}

  private final String name;
  private final int valueBytes;
  private final List<KvClient> clients = new ArrayList<>();
  private final List<Integer> clientIds;
  private final List<Thread> threads = new ArrayList<>();
  private final ConcurrentLinkedQueue<Put> acknowledged = new ConcurrentLinkedQueue<>();
  private final AtomicLong acknowledgedCount = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicReference<Throwable> firstFailure = new AtomicReference<>();
  private volatile boolean stopping;

  private PutLoad(GrpcCluster cluster, String name, List<Integer> clientIds, int valueBytes) {
    this.name = name;
    this.valueBytes = valueBytes;
    this.clientIds = List.copyOf(clientIds);
    for (int id : clientIds) {
      clients.add(cluster.kvClient(id));
    }
  }

  /** Starts one closed-loop client per identity in {@code clientIds}. */
  static PutLoad start(GrpcCluster cluster, String name, List<Integer> clientIds, int valueBytes) {
    PutLoad load = new PutLoad(cluster, name, clientIds, valueBytes);
    for (int c = 0; c < clientIds.size(); c++) {
      int client = c;
      Thread t = new Thread(() -> load.run(client), "put-load-" + name + "-" + clientIds.get(c));
      t.setDaemon(true);
      load.threads.add(t);
      t.start();
    }
    return load;
  }

  /** Client identities {@code from} .. {@code from + count - 1}. */
  static List<Integer> ids(int from, int count) {
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add(from + i);
    }
    return ids;
  }

  private void run(int client) {
    KvClient kv = clients.get(client);
    for (long i = 0; !stopping; i++) {
      try {
        kv.put(key(client, i), value(client, i));
        acknowledged.add(new Put(client, i, System.nanoTime()));
        acknowledgedCount.incrementAndGet();
      } catch (RuntimeException e) {
        if (stopping) {
          return; // the client was closed under it
        }
        failures.incrementAndGet();
        firstFailure.compareAndSet(null, e);
      }
    }
  }

  byte[] key(int client, long index) {
    return (name + "/c" + clientIds.get(client) + "/" + index).getBytes(StandardCharsets.UTF_8);
  }

  /** The value put under {@code key(client, index)}: the key's text, then pseudo-random bytes. */
  byte[] value(int client, long index) {
    byte[] text = ("v:" + name + "/" + clientIds.get(client) + "/" + index).getBytes(StandardCharsets.UTF_8);
    if (valueBytes <= text.length) {
      return text;
    }
    byte[] value = Arrays.copyOf(text, valueBytes);
    byte[] rest = new byte[valueBytes - text.length];
    new SplittableRandom(((long) clientIds.get(client) << 40) ^ index ^ name.hashCode()).nextBytes(rest);
    System.arraycopy(rest, 0, value, text.length, rest.length);
    return value;
  }

  long acknowledgedCount() {
    return acknowledgedCount.get();
  }

  long failures() {
    return failures.get();
  }

  Throwable firstFailure() {
    return firstFailure.get();
  }

  List<Put> acknowledged() {
    return List.copyOf(acknowledged);
  }

  /** Waits until {@code total} puts in all were acknowledged; fails the test after {@code limit}. */
  void awaitAcknowledged(long total, Duration limit) {
    long seen = Polling.until(this::acknowledgedCount, n -> n >= total, limit);
    if (seen < total) {
      fail("only " + seen + " of " + total + " puts acknowledged within " + limit.toSeconds() + " s; "
          + failures() + " failed" + (firstFailure() == null ? "" : ", first: " + firstFailure()));
    }
  }

  /** Stops issuing puts and waits for the operations in flight to finish. */
  void stop() {
    stopping = true;
    for (Thread t : threads) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(90));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      assertTrue(!t.isAlive(), t.getName() + " did not finish its last put");
    }
  }

  /**
   * The longest stretch without a completed put from {@code fromNanos} on: from it to the first
   * completion after it, or between two consecutive completions, in milliseconds.
   */
  long maxCompletionGapMsAfter(long fromNanos) {
    long[] times = acknowledged.stream().mapToLong(Put::completedNanos).filter(t -> t >= fromNanos).sorted().toArray();
    long previous = fromNanos;
    long max = 0;
    for (long t : times) {
      max = Math.max(max, t - previous);
      previous = t;
    }
    return TimeUnit.NANOSECONDS.toMillis(max);
  }

  /**
   * Reads back every acknowledged put (each client its own keys, in parallel) and asserts the
   * value is there, byte for byte. Call after {@link #stop}.
   */
  void assertEveryAcknowledgedPutIsRead() throws InterruptedException {
    List<Put> all = acknowledged();
    AtomicReference<AssertionError> failure = new AtomicReference<>();
    List<Thread> readers = new ArrayList<>();
    for (int c = 0; c < clients.size(); c++) {
      int client = c;
      List<Put> mine = all.stream().filter(p -> p.client() == client).toList();
      Thread t = new Thread(() -> {
        try {
          for (Put p : mine) {
            Optional<byte[]> read = clients.get(client).get(key(client, p.index()));
            assertTrue(read.isPresent(), "acknowledged put " + new String(key(client, p.index()),
                StandardCharsets.UTF_8) + " is lost");
            assertArrayEquals(value(client, p.index()), read.get(), "value of acknowledged put "
                + new String(key(client, p.index()), StandardCharsets.UTF_8));
          }
        } catch (AssertionError | RuntimeException e) {
          failure.compareAndSet(null, e instanceof AssertionError a ? a : new AssertionError(e));
        }
      }, "put-load-reader-" + clientIds.get(c));
      t.setDaemon(true);
      readers.add(t);
      t.start();
    }
    for (Thread t : readers) {
      t.join();
    }
    if (failure.get() != null) {
      throw failure.get();
    }
  }

  @Override
  public void close() {
    stopping = true;
    for (KvClient kv : clients) {
      kv.close();
    }
  }
}

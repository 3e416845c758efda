package io.pbft.testkit.scenarios;

import io.pbft.testkit.Cluster;
import io.pbft.testkit.KvStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Closed-loop writers: each client identity puts fresh keys {@code NAME/cC/I} one after the
 * other, the next as soon as the previous completed, until {@link #stop}. Every put the cluster
 * acknowledged is remembered, so that {@link #lost} can read each of them back afterwards. A put
 * that failed (timed out) is counted and not remembered: it may or may not have executed, and
 * since no key is written twice, either is fine.
 *
 * <p>Writers run on the clients' callbacks (no thread of their own), so they run the same way on
 * a real cluster and inside the simulator's single thread.
 */
public final class Writers {
  private final Cluster cluster;
  private final String name;
  private final List<KvStore> stores = new ArrayList<>();
  private final Map<String, String> acknowledged = new ConcurrentHashMap<>();
  private final AtomicLong acked = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicReference<Throwable> firstFailure = new AtomicReference<>();
  private final long[] next;
  private volatile boolean stopping;

  private Writers(Cluster cluster, String name, int[] clientIds) {
    this.cluster = cluster;
    this.name = name;
    for (int id : clientIds) {
      stores.add(cluster.kv(id));
    }
    this.next = new long[clientIds.length];
  }

  /** Starts one closed-loop writer per client identity. */
  public static Writers start(Cluster cluster, String name, int... clientIds) {
    Writers w = new Writers(cluster, name, clientIds);
    for (int c = 0; c < clientIds.length; c++) {
      w.running.incrementAndGet();
      w.issue(c);
    }
    return w;
  }

  private void issue(int c) {
    if (stopping) {
      running.decrementAndGet();
      return;
    }
    KvStore store = stores.get(c);
    long i = next[c]++; // one writer's puts run one after the other: no race on its slot
    String key = name + "/c" + store.clientId() + "/" + i;
    String value = "v" + i + "-" + name;
    CompletableFuture<Void> put;
    try {
      put = store.putAsync(utf8(key), utf8(value));
    } catch (RuntimeException e) {
      put = CompletableFuture.failedFuture(e);
    }
    if (put.isCompletedExceptionally()) {
      // refused at once (the client is closed, or its queue full): this writer ends here
      // rather than spinning through refusals
      failed.incrementAndGet();
      put.exceptionally(error -> {
        firstFailure.compareAndSet(null, error);
        return null;
      });
      running.decrementAndGet();
      return;
    }
    put.whenComplete((ok, error) -> {
      if (error == null) {
        acknowledged.put(key, value);
        acked.incrementAndGet();
      } else {
        failed.incrementAndGet();
        firstFailure.compareAndSet(null, error);
      }
      issue(c);
    });
  }

  public long acked() {
    return acked.get();
  }

  public long failed() {
    return failed.get();
  }

  public Throwable firstFailure() {
    return firstFailure.get();
  }

  /** Every acknowledged put: key to value. */
  public Map<String, String> acknowledged() {
    return new TreeMap<>(acknowledged);
  }

  /** Waits (in the cluster's time) until {@code more} puts beyond those acknowledged now are acknowledged. */
  public void awaitMore(long more, Duration timeout) {
    long target = acked() + more;
    cluster.await(target + " puts acknowledged (" + name + ", " + failed() + " failed so far"
        + (firstFailure() == null ? "" : ", first: " + firstFailure()) + ")", () -> acked() >= target, timeout);
  }

  /** Stops issuing puts and waits until the last put of every writer completed. */
  public void stop(Duration timeout) {
    stopping = true;
    cluster.await("the writers' last puts complete (" + name + ")", () -> running.get() == 0, timeout);
  }

  /**
   * Reads every acknowledged put back through {@code readers} (spread over them, all at once) and
   * returns the ones that are lost or hold another value: "KEY = what was read, acknowledged V".
   */
  public List<String> lost(List<KvStore> readers, Duration timeout) {
    Map<String, String> expected = acknowledged();
    Map<String, CompletableFuture<Optional<byte[]>>> reads = new TreeMap<>();
    int i = 0;
    for (String key : expected.keySet()) {
      KvStore reader = readers.get(i++ % readers.size());
      reads.put(key, reader.getAsync(utf8(key)));
    }
    cluster.await("reads of " + reads.size() + " acknowledged puts complete",
        () -> reads.values().stream().allMatch(CompletableFuture::isDone), timeout);
    List<String> wrong = new ArrayList<>();
    reads.forEach((key, read) -> {
      Optional<String> value = readers.get(0).await(read).map(v -> new String(v, StandardCharsets.UTF_8));
      if (!value.equals(Optional.of(expected.get(key)))) {
        wrong.add(key + " = " + value.orElse("(absent)") + ", acknowledged " + expected.get(key));
      }
    });
    return wrong;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}

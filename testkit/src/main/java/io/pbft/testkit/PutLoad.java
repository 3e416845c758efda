package io.pbft.testkit;

import io.pbft.client.KvClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Closed-loop puts from one thread per client, each over a ring of {@code keys} keys of its own
 * ("c{client}/{n % keys}"), until {@link #close}: the load a reconfiguration test runs its changes
 * under. Every acknowledged value is kept by key, for reading back afterwards. A put that fails
 * ends its thread with the failure, which {@link #close} reports.
 */
public final class PutLoad implements AutoCloseable {
  /** The last acknowledged value of each key. */
  public final Map<String, String> acknowledged = new ConcurrentHashMap<>();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();
  private final Map<String, Throwable> failures = new ConcurrentHashMap<>();

  /** Starts a thread per client in {@code clients} (client i writes keys "c{i}/..."). */
  public PutLoad(List<KvClient> clients, int keys) {
    for (int i = 0; i < clients.size(); i++) {
      KvClient kv = clients.get(i);
      int client = i;
      Thread t = new Thread(() -> {
        try {
          for (int n = 0; !stop.get(); n++) {
            String key = "c" + client + "/" + (n % keys);
            String value = "v" + n;
            kv.put(key, value);
            acknowledged.put(key, value);
          }
        } catch (RuntimeException e) {
          failures.put(Thread.currentThread().getName(), e);
        }
      }, "load-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  /**
   * Stops the load and waits up to a minute for each thread's last put.
   *
   * @throws IllegalStateException if a put failed or a thread did not finish
   */
  @Override
  public void close() throws InterruptedException {
    stop.set(true);
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(60));
      if (t.isAlive()) {
        throw new IllegalStateException(t.getName() + " did not finish its last put");
      }
    }
    if (!failures.isEmpty()) {
      throw new IllegalStateException("puts failed under the load: " + failures);
    }
  }
}

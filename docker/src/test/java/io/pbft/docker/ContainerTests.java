package io.pbft.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.pbft.client.KvClient;
import io.pbft.client.PbftException;
import io.pbft.proto.StatusResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;

/** What every container test shares: the Docker check, a ledger of acknowledged puts, writers, settling. */
final class ContainerTests {
  static final String IMAGE = System.getProperty("pbft.image", PbftCluster.DEFAULT_IMAGE);
  /** Set by CI: a missing Docker engine or image fails the tests instead of skipping them. */
  static final boolean REQUIRED = Boolean.getBoolean("pbft.docker.required");
  static final String HOW = "to run them: start a Docker engine, build the image with docker/build-image.sh, then "
      + "`mvn -pl docker verify -Dsurefire.excludedGroups= -Dgroups=container` (README: Running in Docker)";

  private ContainerTests() {}

  private static volatile String unavailable;
  private static volatile boolean checked;

  /**
   * Skips the calling test (each test, so that the report counts them as skipped) or, under
   * -Dpbft.docker.required=true, fails it, when there is no Docker engine or no image. Docker is
   * asked once per JVM.
   */
  static void requireDockerAndImage() {
    if (!checked) {
      synchronized (ContainerTests.class) {
        if (!checked) {
          if (!PbftCluster.dockerAvailable()) {
            unavailable = "no Docker engine is reachable, so the container tests are SKIPPED; " + HOW;
          } else if (!PbftCluster.imageAvailable(IMAGE)) {
            unavailable = "the image " + IMAGE + " is not built, so the container tests are SKIPPED; " + HOW;
          }
          if (unavailable != null) {
            System.err.println("[container tests] " + unavailable);
          }
          checked = true;
        }
      }
    }
    if (unavailable != null) {
      if (REQUIRED) {
        fail(unavailable + " (-Dpbft.docker.required=true)");
      }
      Assumptions.abort(unavailable);
    }
  }

  /** A cluster tuned for short tests: checkpoints every 16 sequence numbers. */
  static PbftCluster cluster(int n) {
    return new PbftCluster(n).withImage(IMAGE)
        .withProtocol(p -> p.withCheckpointInterval(16))
        .withOperationTimeout(Duration.ofSeconds(40));
  }

  static PbftCluster started(PbftCluster cluster) {
    long t0 = System.nanoTime();
    cluster.start();
    System.out.printf("[container tests] cluster of %d started in %d ms%n", cluster.size(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    return cluster;
  }

  /** Every put a client saw acknowledged (unique keys), and how many failed (those may or may not have executed). */
  static final class Ledger {
    final Map<String, String> acknowledged = new ConcurrentHashMap<>();
    final AtomicInteger failed = new AtomicInteger();

    boolean put(KvClient kv, String key, String value) {
      try {
        kv.put(key, value);
        acknowledged.put(key, value);
        return true;
      } catch (PbftException e) {
        failed.incrementAndGet();
        return false;
      }
    }

    /** Reads every acknowledged key back through the cluster (ordered reads, several clients at once). */
    void verify(PbftCluster cluster, int... clientIds) throws Exception {
      List<String> keys = new ArrayList<>(acknowledged.keySet());
      ExecutorService pool = Executors.newFixedThreadPool(clientIds.length);
      try {
        List<Future<List<String>>> parts = new ArrayList<>();
        for (int c = 0; c < clientIds.length; c++) {
          int part = c;
          KvClient kv = cluster.kvClient(clientIds[c]);
          parts.add(pool.submit(() -> {
            List<String> wrong = new ArrayList<>();
            try (kv) {
              for (int i = part; i < keys.size(); i += clientIds.length) {
                String key = keys.get(i);
                Optional<String> v = kv.get(key);
                if (!v.equals(Optional.of(acknowledged.get(key)))) {
                  wrong.add(key + " = " + v + ", acknowledged " + acknowledged.get(key));
                }
              }
            }
            return wrong;
          }));
        }
        List<String> wrong = new ArrayList<>();
        for (Future<List<String>> p : parts) {
          wrong.addAll(p.get(5, TimeUnit.MINUTES));
        }
        assertEquals(List.of(), wrong, "acknowledged puts lost or changed (" + wrong.size() + " of " + keys.size() + ")");
      } finally {
        pool.shutdownNow();
      }
      System.out.printf("[container tests] %d acknowledged puts read back intact (%d puts failed or timed out)%n",
          keys.size(), failed.get());
    }
  }

  /** {@code clients.length} writers, each putting {@code count} unique keys in turn with its own identity. */
  static void write(PbftCluster cluster, Ledger ledger, String phase, int count, int... clients) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients.length);
    try {
      List<Future<?>> all = new ArrayList<>();
      for (int c : clients) {
        KvClient kv = cluster.kvClient(c);
        all.add(pool.submit(() -> {
          try (kv) {
            for (int i = 0; i < count; i++) {
              ledger.put(kv, phase + "/c" + c + "/" + i, "v" + i + "-" + phase);
            }
          }
          return null;
        }));
      }
      for (Future<?> f : all) {
        f.get(10, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Waits until the replicas {@code ids} agree on last executed (at least what the most advanced of
   * them had when this began) and state digest. A replica that missed messages catches up at
   * the next stable checkpoint; if the replicas do not agree within a round, one more
   * checkpoint interval of puts is written (counted and printed) and the wait repeats.
   */
  static List<StatusResponse> settle(PbftCluster cluster, List<Integer> ids, Ledger ledger, int nudgeClient,
      Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    long atLeast = 0;
    for (int id : ids) {
      atLeast = Math.max(atLeast, cluster.tryStatus(id, Duration.ofSeconds(2)).map(StatusResponse::getLastExecuted)
          .orElse(0L));
    }
    int nudges = 0;
    while (true) {
      try {
        List<StatusResponse> agreed = cluster.awaitAgreement(ids, atLeast, Duration.ofSeconds(15));
        System.out.printf("[container tests] replicas %s agree at last executed %d%s%s%n", ids,
            agreed.get(0).getLastExecuted(), nudges == 0 ? "" : " after " + nudges + " extra checkpoint interval(s) of puts",
            PbftCluster.describe(ids, agreed));
        return agreed;
      } catch (IllegalStateException notYet) {
        if (System.nanoTime() > deadline) {
          throw notYet;
        }
        System.out.println("[container tests] not in agreement yet, writing one more checkpoint interval:"
            + notYet.getMessage().substring(notYet.getMessage().indexOf(':') + 1));
        nudges++;
        write(cluster, ledger, "nudge" + nudges, 16, nudgeClient);
      }
    }
  }
}

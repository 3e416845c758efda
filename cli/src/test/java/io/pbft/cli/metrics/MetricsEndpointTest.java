package io.pbft.cli.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.MetricsAddress;
import io.pbft.replica.app.kv.RocksKvStateMachine;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.runtime.ReplicaServer;
import io.pbft.testkit.Polling;
import io.pbft.testkit.Ports;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Four durable in-process replicas, each with its Prometheus endpoint on a free loopback port:
 * after a known number of puts, every replica's {@code /metrics} has the series with the values
 * the run implies (requests counted = requests run, view 0, one histogram sample per batch), and
 * a later scrape never shows a counter lower.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class MetricsEndpointTest {
  private static final int OPS = 40;

  @TempDir
  Path dir;

  private final List<ReplicaServer> replicas = new ArrayList<>();

  @AfterEach
  void stop() {
    replicas.forEach(ReplicaServer::close);
  }

  @Test
  void everyReplicaServesTheSeriesWithValuesThatMatchTheRun() throws Exception {
    ClusterConfig config = ClusterSetup.generate(dir, 4, 2, "127.0.0.1", Ports.consecutive(4), -1,
        new SecureRandom()).withMetrics(i -> new MetricsAddress("127.0.0.1", 0)); // any free port
    for (int i = 0; i < 4; i++) {
      replicas.add(ReplicaServer.startDurable(config, i, config.replicaKeys(i), Behaviour.HONEST, null,
          dir.resolve("data-" + i), RocksKvStateMachine::open));
    }
    try (KvClient kv = KvClient.owning(PbftClient.newBuilder().config(config).clientId(0).build())) {
      for (int i = 0; i < OPS; i++) {
        kv.put("key-" + i, "value-" + i);
      }
      // Backups may execute the last batch a moment after the client has its f + 1 replies.
      List<MetricsText> scrapes = new ArrayList<>();
      Polling.await("every replica counts " + OPS + " requests executed", () -> {
        scrapes.clear();
        for (ReplicaServer r : replicas) {
          scrapes.add(scrape(r));
        }
        return scrapes.stream().allMatch(m -> m.get("pbft_requests_executed_total") == OPS);
      }, Duration.ofSeconds(60));
      for (int i = 0; i < 4; i++) {
        checkReplica(i, scrapes.get(i));
      }
      assertTrue(scrapes.stream().mapToDouble(m -> m.get("pbft_client_sessions")).sum() >= 3,
          "the client keeps a session with (at least) a quorum");

      for (int i = 0; i < 5; i++) {
        kv.put("more-" + i, "x");
      }
      for (int i = 0; i < 4; i++) {
        assertNothingCountsBackwards(i, scrapes.get(i), scrape(replicas.get(i)));
      }
    }
  }

  private static MetricsText scrape(ReplicaServer r) {
    assertTrue(r.metricsPort() > 0, "replica " + r.id() + " serves metrics");
    try {
      return MetricsText.scrape(r.metricsPort());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void checkReplica(int id, MetricsText m) {
    String who = "replica " + id + ": ";
    assertTrue(m.contentType.startsWith("text/plain; version=0.0.4"), m.contentType);
    assertEquals(1, m.get("pbft_status_available"), who);
    assertEquals(1, m.get("pbft_replica_info{f=\"1\",replica=\"" + id + "\",replicas=\"4\"}"), who);
    assertEquals(0, m.get("pbft_view"), who);
    assertEquals(0, m.get("pbft_primary"), who);
    assertEquals(0, m.get("pbft_view_changing"), who);
    assertEquals(0, m.get("pbft_view_changes_total"), who);
    assertEquals(0, m.get("pbft_state_transfers_total"), who);
    assertEquals(0, m.get("pbft_storage_failed"), who);
    assertEquals(0, m.get("pbft_tentative_rollbacks_total"), who);
    assertEquals(0, m.get("pbft_last_executed_tentative"), who + "tentative execution is off");
    assertEquals(0, m.get("pbft_application_failures_total"), who);
    assertTrue(m.get("pbft_log_disk_bytes") > 0, who + "durable: the log is on disk");
    assertEquals(3, m.get("pbft_peer_streams"), who + "a verified stream from each peer");
    assertTrue(m.get("pbft_connections") >= 3, who);
    assertEquals(0, m.get("pbft_dropped_total{reason=\"event loop full\"}"), who);
    assertTrue(m.has("pbft_queue_messages{queue=\"event_loop\"}") && m.has("pbft_queue_bytes{queue=\"peers\"}")
        && m.has("pbft_queue_messages{queue=\"pending_requests\"}"), who + "queue depths");

    // One batch-size sample per batch executed, and every request in one of them.
    double batches = m.get("pbft_last_executed_sequence");
    assertTrue(batches >= 1 && batches <= OPS, who + batches + " batches");
    assertEquals(batches, m.get("pbft_batch_requests_count"), who + "a batch-size sample per batch executed");
    assertTrue(m.get("pbft_batch_requests_sum") >= OPS, who + "every request was in a batch");
    checkHistogram(m, "pbft_batch_requests", "");

    // Each phase timed at most once per batch (per request for the first), plausibly.
    for (String phase : List.of("request_to_pre_prepare", "pre_prepare_to_commit", "commit_to_execution")) {
      String labels = "phase=\"" + phase + "\"";
      double count = m.get("pbft_phase_duration_seconds_count{" + labels + "}");
      double bound = phase.equals("request_to_pre_prepare") ? m.get("pbft_batch_requests_sum") : batches;
      assertTrue(count <= bound, who + phase + ": " + count + " samples for " + bound);
      double sum = m.get("pbft_phase_duration_seconds_sum{" + labels + "}");
      assertTrue(sum >= 0 && (count == 0 || sum / count < 10), who + phase + ": mean " + sum / count + " s");
      checkHistogram(m, "pbft_phase_duration_seconds", labels);
    }
    assertTrue(m.get("pbft_phase_duration_seconds_count{phase=\"pre_prepare_to_commit\"}") >= 1, who);
    assertTrue(m.get("pbft_phase_duration_seconds_count{phase=\"commit_to_execution\"}") >= 1, who);
    if (id == 0) {
      assertTrue(m.get("pbft_phase_duration_seconds_count{phase=\"request_to_pre_prepare\"}") >= 1,
          who + "the primary batches the requests it was handed");
    }
    assertTrue(m.get("pbft_wal_sync_duration_seconds_count") >= batches, who + "durable: a sync per burst");
    assertTrue(m.get("pbft_wal_sync_duration_seconds_sum") > 0, who);
    checkHistogram(m, "pbft_wal_sync_duration_seconds", "");
  }

  /** Cumulative buckets never decrease, and the +Inf bucket is the count. */
  private static void checkHistogram(MetricsText m, String name, String labels) {
    String prefix = name + "_bucket{" + (labels.isEmpty() ? "" : labels + ",") + "le=\"";
    double last = 0;
    int buckets = 0;
    for (Map.Entry<String, Double> e : m.samples.entrySet()) { // in exposition order: ascending le
      if (e.getKey().startsWith(prefix)) {
        assertTrue(e.getValue() >= last, e.getKey() + " below the bucket before it");
        last = e.getValue();
        buckets++;
      }
    }
    assertTrue(buckets > 5, name + "{" + labels + "}: " + buckets + " buckets");
    String count = name + "_count" + (labels.isEmpty() ? "" : "{" + labels + "}");
    assertEquals(m.get(count), m.get(prefix + "+Inf\"}"), count);
  }

  /** Counters, histogram buckets, counts and sums: a later scrape never shows less. */
  private static void assertNothingCountsBackwards(int id, MetricsText before, MetricsText after) {
    int checked = 0;
    for (Map.Entry<String, Double> e : before.samples.entrySet()) {
      String name = e.getKey().replaceAll("\\{.*", "");
      if (name.endsWith("_total") || name.endsWith("_bucket") || name.endsWith("_count") || name.endsWith("_sum")) {
        assertTrue(after.get(e.getKey()) >= e.getValue(), "replica " + id + ": " + e.getKey() + " went from "
            + e.getValue() + " to " + after.get(e.getKey()));
        checked++;
      }
    }
    assertTrue(checked > 20, checked + " monotonic series");
  }
}

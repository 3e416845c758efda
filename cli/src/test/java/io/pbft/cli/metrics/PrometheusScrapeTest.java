package io.pbft.cli.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pbft.cli.cluster.ProcessCluster;
import io.pbft.client.KvClient;
import io.pbft.testkit.Polling;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus server scrapes four {@code pbft replica --data-dir} processes on loopback, as
 * an operator would run it: the series arrive in its database with the values the run implies, and
 * every query of the Grafana dashboard in docs/ runs against them. Skipped where Debian's
 * {@code prometheus} package is missing, unless PBFT_REQUIRE_PROMETHEUS is set (.ci/run sets it).
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class PrometheusScrapeTest {
  private static final int OPS = 30;
  private static final Path DASHBOARD = Path.of("..", "docs", "grafana-dashboard.json");
  /** Reasons that have no series until such input arrives: their dashboard queries may return nothing. */
  private static final List<String> EMPTY_WHILE_QUIET = List.of("pbft_rejected_total", "pbft_garbage_total");

  @TempDir
  Path dir;

  private ProcessCluster cluster;
  private PrometheusServer prometheus;

  @AfterEach
  void stop() {
    try {
      if (prometheus != null) {
        prometheus.close();
      }
    } finally {
      if (cluster != null) {
        cluster.close();
      }
    }
  }

  @Test
  void prometheusScrapesEveryReplicaAndTheDashboardQueriesRun() throws Exception {
    PrometheusServer.assumeInstalled();
    cluster = ProcessCluster.create("metrics", 2, p -> p).withMetrics().start();
    List<String> targets = new ArrayList<>();
    for (int i = 0; i < cluster.size(); i++) {
      targets.add(cluster.metricsAddress(i).toString());
    }
    prometheus = PrometheusServer.start(dir, targets);
    KvClient kv = cluster.kvClient(0);
    for (int i = 0; i < OPS; i++) {
      kv.put("key-" + i, "value-" + i);
    }

    Polling.await("Prometheus has every replica's " + OPS + " requests", () ->
        prometheus.scalar("sum(pbft_requests_executed_total)") >= 4 * OPS, Duration.ofSeconds(60));
    assertEquals(4, prometheus.scalar("count(up{job=\"pbft\"} == 1)"), "all four targets up\n" + prometheus.log());
    assertEquals(4, prometheus.scalar("count(pbft_view == 0)"), "every replica in view 0");
    assertEquals(0, prometheus.scalar("sum(pbft_view_changes_total)"));
    JsonNode executed = prometheus.query("pbft_requests_executed_total");
    assertEquals(4, executed.size(), executed.toString());
    for (JsonNode series : executed) {
      assertEquals(OPS, series.path("value").get(1).asDouble(), 0, "requests executed at " + series.path("metric"));
    }
    assertEquals(4, prometheus.scalar("count(pbft_replica_info{replicas=\"4\", f=\"1\"})"));
    assertTrue(prometheus.scalar("sum(pbft_wal_sync_duration_seconds_count)") > 0, "durable replicas fsync");
    assertEquals(4, prometheus.scalar("count(pbft_phase_duration_seconds_count{phase=\"commit_to_execution\"} > 0)"));
    double p99 = prometheus.scalar("histogram_quantile(0.99, sum by (le) "
        + "(pbft_phase_duration_seconds_bucket{phase=\"pre_prepare_to_commit\"}))");
    assertTrue(p99 > 0 && p99 <= 10, "p99 pre-prepare to commit since the start: " + p99 + " s");

    // Every query of the dashboard runs, and returns series (but for reasons nothing has shown
    // yet). Rates need two samples within their window: wait until every replica has a few.
    Polling.await("three scrapes of every replica in the last 30 s", () ->
        prometheus.scalar("count(count_over_time(pbft_view[30s]) >= 3)") == 4, Duration.ofSeconds(60));
    JsonNode dashboard = new ObjectMapper().readTree(Files.readString(DASHBOARD));
    int queries = 0;
    for (JsonNode panel : dashboard.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        String expr = target.path("expr").asText();
        String promql = expr.replace("$__rate_interval", "30s").replace("$job", PrometheusServer.JOB);
        JsonNode result = prometheus.query(promql);
        if (EMPTY_WHILE_QUIET.stream().noneMatch(expr::contains)) {
          assertFalse(result.isEmpty(), "panel '" + panel.path("title").asText() + "': " + promql
              + " returned no series");
        }
        queries++;
      }
    }
    assertTrue(queries >= 25, queries + " dashboard queries");
  }
}

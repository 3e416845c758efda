package io.pbft.cli.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pbft.testkit.Polling;
import io.pbft.testkit.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;

/**
 * A real Prometheus server (Debian's {@code prometheus} package) started by a test: its
 * configuration scrapes the given targets every second, its data lives in a directory of the
 * test's, it listens on a free 127.0.0.1 port, and {@link #close} stops it (SIGTERM, then SIGKILL;
 * a shutdown hook does the same if the test JVM exits first).
 */
final class PrometheusServer implements AutoCloseable {
  static final Path BINARY = Path.of("/usr/bin/prometheus");
  /** Set (as .ci/run does) where the package must be installed: the test then fails instead of skipping. */
  static final String REQUIRE_ENV = "PBFT_REQUIRE_PROMETHEUS";
  static final String JOB = "pbft";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  private final Process process;
  private final Path log;
  private final int port;
  private final Thread hook;

  private PrometheusServer(Process process, Path log, int port) {
    this.process = process;
    this.log = log;
    this.port = port;
    this.hook = new Thread(process::destroyForcibly, "prometheus-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Skips the calling test when Prometheus is not installed, unless {@link #REQUIRE_ENV} is set. */
  static void assumeInstalled() {
    if (Files.isExecutable(BINARY)) {
      return;
    }
    if (System.getenv(REQUIRE_ENV) != null) {
      throw new AssertionError(REQUIRE_ENV + " is set but " + BINARY + " is missing (apt-get install prometheus)");
    }
    Assumptions.abort("no " + BINARY + " (apt-get install prometheus)");
  }

  /**
   * Writes {@code dir/prometheus.yml} scraping {@code targets} (HOST:PORT) as job {@link #JOB}
   * every second, starts Prometheus on it and waits until it is ready.
   */
  static PrometheusServer start(Path dir, List<String> targets) throws IOException, InterruptedException {
    Path config = dir.resolve("prometheus.yml");
    Files.writeString(config, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        + "scrape_configs:\n  - job_name: " + JOB + "\n    static_configs:\n      - targets: ["
        + targets.stream().map(t -> "'" + t + "'").collect(Collectors.joining(", ")) + "]\n");
    int port = Ports.free();
    Path log = dir.resolve("prometheus.log");
    Process p = new ProcessBuilder(BINARY.toString(), "--config.file=" + config,
        "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port,
        "--storage.tsdb.retention.time=1h")
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .start();
    PrometheusServer server = new PrometheusServer(p, log, port);
    try {
      Polling.await("Prometheus ready on 127.0.0.1:" + port, () -> {
        if (!p.isAlive()) {
          throw new AssertionError("prometheus exited with " + p.exitValue() + ":\n" + server.log());
        }
        return server.ready();
      }, Duration.ofSeconds(60));
      return server;
    } catch (RuntimeException | Error e) {
      server.close();
      throw e;
    }
  }

  private boolean ready() {
    try {
      return HTTP.send(HttpRequest.newBuilder(uri("/-/ready")).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  /**
   * The result of an instant query ({@code /api/v1/query}): its {@code data.result} array (a
   * vector: one element per series, each {@code {metric: {...}, value: [time, "v"]}}). Throws
   * with Prometheus's error when the query does not run (a syntax error, say).
   */
  JsonNode query(String promql) {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(uri("/api/v1/query?query="
          + URLEncoder.encode(promql, StandardCharsets.UTF_8))).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      JsonNode body = JSON.readTree(r.body());
      if (r.statusCode() != 200 || !"success".equals(body.path("status").asText())) {
        throw new AssertionError("query " + promql + ": HTTP " + r.statusCode() + " " + r.body());
      }
      return body.path("data").path("result");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The single value an aggregating query returns, or NaN when it returns no series. */
  double scalar(String promql) {
    JsonNode result = query(promql);
    if (result.isEmpty()) {
      return Double.NaN;
    }
    if (result.size() != 1) {
      throw new AssertionError(promql + " returned " + result.size() + " series: " + result);
    }
    return Double.parseDouble(result.get(0).path("value").get(1).asText());
  }

  /** What Prometheus printed (its own log). */
  String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is shutting down: the hook runs anyway
    }
  }
}

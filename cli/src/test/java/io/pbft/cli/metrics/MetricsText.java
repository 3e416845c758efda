package io.pbft.cli.metrics;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * One scrape of a Prometheus text exposition, as a map from series ({@code name{labels}} exactly
 * as written) to value, with the content type it came with. Enough of the format for tests: one
 * sample per line, no timestamps, label values without escaped quotes.
 */
final class MetricsText {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  final String contentType;
  final String body;
  final Map<String, Double> samples;

  private MetricsText(String contentType, String body, Map<String, Double> samples) {
    this.contentType = contentType;
    this.body = body;
    this.samples = samples;
  }

  /** GET http://127.0.0.1:PORT/metrics; fails on anything but 200. */
  static MetricsText scrape(int port) throws IOException, InterruptedException {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("GET /metrics on port " + port + ": HTTP " + r.statusCode() + "\n" + r.body());
    }
    return parse(r.headers().firstValue("Content-Type").orElse(""), r.body());
  }

  static MetricsText parse(String contentType, String body) {
    Map<String, Double> samples = new LinkedHashMap<>();
    for (String line : body.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      String value = line.substring(space + 1);
      samples.put(line.substring(0, space), value.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(value));
    }
    return new MetricsText(contentType, body, samples);
  }

  /** The value of {@code series} (e.g. {@code pbft_view} or {@code pbft_dropped_total{reason="x"}}); fails if absent. */
  double get(String series) {
    Double v = samples.get(series);
    if (v == null) {
      throw new AssertionError("no series " + series + " in the scrape:\n" + body);
    }
    return v;
  }

  boolean has(String series) {
    return samples.containsKey(series);
  }

  /** Every series whose name (before any label) is {@code name}, with its value. */
  Map<String, Double> family(String name) {
    Map<String, Double> out = new TreeMap<>();
    samples.forEach((series, v) -> {
      if (series.equals(name) || series.startsWith(name + "{")) {
        out.put(series, v);
      }
    });
    return out;
  }
}

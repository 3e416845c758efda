package io.pbft.cli.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Scrapes the replicas' metrics endpoints every so often, as a Prometheus server would, while
 * bench measures with {@code --metrics}: so that what metrics cost includes serving the scrapes,
 * not only counting. One daemon thread; the bodies are read and dropped.
 */
public final class MetricsScraper implements AutoCloseable {
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build(); // plain HTTP/1.1, as Prometheus scrapes: no h2c upgrade
  private final List<URI> endpoints;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "pbft-bench-scraper");
    t.setDaemon(true);
    return t;
  });
  private final AtomicLong scrapes = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private volatile String firstFailure;

  private MetricsScraper(List<URI> endpoints) {
    this.endpoints = List.copyOf(endpoints);
  }

  /** Scrapes every endpoint once per {@code interval}, starting after one interval. */
  public static MetricsScraper start(List<URI> endpoints, Duration interval) {
    MetricsScraper s = new MetricsScraper(endpoints);
    s.timer.scheduleWithFixedDelay(s::scrapeAll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    return s;
  }

  private void scrapeAll() {
    for (URI uri : endpoints) {
      try {
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() == 200) {
          scrapes.incrementAndGet();
          bytes.addAndGet(r.body().length);
        } else {
          failed(uri + ": HTTP " + r.statusCode());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (java.io.IOException e) {
        failed(uri + ": " + e);
      }
    }
  }

  private void failed(String why) {
    if (failures.getAndIncrement() == 0) {
      firstFailure = why;
    }
  }

  /** One line: scrapes made, failed (and why the first did), and the average size of a scrape. */
  public String describe() {
    long n = scrapes.get();
    return String.format("%d scrapes of %d endpoints, %d failed%s, %d bytes each on average", n, endpoints.size(),
        failures.get(), firstFailure == null ? "" : " (first: " + firstFailure + ")", n == 0 ? 0 : bytes.get() / n);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}

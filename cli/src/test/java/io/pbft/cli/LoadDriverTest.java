package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.bench.LatencySummary;
import io.pbft.cli.bench.LoadDriver;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LoadDriverTest {
  @Test
  void countedPlanRunsExactlyTheOperationsAndCountsErrors() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    LoadDriver.Result r = new LoadDriver(LoadDriver.Plan.counted(3, 100), client -> {
      if (calls.incrementAndGet() % 10 == 0) {
        throw new IllegalStateException("boom\nsecond line");
      }
    }, new PrintWriter(new StringWriter())).run();
    assertEquals(100, calls.get());
    assertEquals(10, r.errors());
    assertEquals(90, r.operations(), "only successful operations are measured");
    assertEquals("boom", r.firstError(), "errors are reported as one line");
  }

  @Test
  void timedPlanMeasuresOnlyAfterTheWarmup() throws Exception {
    StringWriter progress = new StringWriter();
    LoadDriver.Result r = new LoadDriver(LoadDriver.Plan.timed(2, Duration.ofMillis(1200), Duration.ofMillis(1000)),
        client -> Thread.sleep(5), new PrintWriter(progress)).run();
    assertEquals(1.0, r.seconds(), 1e-9);
    // two clients at ~5 ms per operation for 1 s: ~400, generously bounded for slow machines
    assertTrue(r.operations() > 50 && r.operations() < 500, "operations: " + r.operations());
    LatencySummary latency = LatencySummary.of(r.latencyMicros());
    assertTrue(latency.p50() >= 5 && latency.p50() < 100, latency.toString());
    assertTrue(progress.toString().contains("warm-up"), progress.toString());
  }
}

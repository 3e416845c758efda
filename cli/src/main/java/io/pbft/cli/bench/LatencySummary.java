package io.pbft.cli.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.HdrHistogram.Histogram;

/** Latency percentiles in milliseconds, from a histogram recorded in microseconds. */
public record LatencySummary(double p50, double p99, double p999, double max, double mean) {
  public static LatencySummary of(Histogram micros) {
    if (micros.getTotalCount() == 0) {
      return new LatencySummary(0, 0, 0, 0, 0);
    }
    return new LatencySummary(ms(micros.getValueAtPercentile(50)), ms(micros.getValueAtPercentile(99)),
        ms(micros.getValueAtPercentile(99.9)), ms(micros.getMaxValue()), micros.getMean() / 1000.0);
  }

  private static double ms(long micros) {
    return micros / 1000.0;
  }

  private static double round(double v) {
    return Math.round(v * 1000.0) / 1000.0;
  }

  public String describe() {
    return String.format("p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms (mean %.2f, max %.2f)", p50, p99, p999, mean, max);
  }

  /** Adds latencyMsP50, latencyMsP99, latencyMsP999, latencyMsMean and latencyMsMax. */
  public void addTo(ObjectNode json) {
    json.put("latencyMsP50", round(p50));
    json.put("latencyMsP99", round(p99));
    json.put("latencyMsP999", round(p999));
    json.put("latencyMsMean", round(mean));
    json.put("latencyMsMax", round(max));
  }
}

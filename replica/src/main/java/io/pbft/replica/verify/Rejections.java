package io.pbft.replica.verify;

import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts untrusted input that was dropped, by {@link Rejection}. Not thread-safe: each owner (the
 * core on its event loop, the simulator) keeps its own.
 */
public final class Rejections {
  private final EnumMap<Rejection, Long> counts = new EnumMap<>(Rejection.class);
  private long total;

  public void count(Rejection reason) {
    counts.merge(reason, 1L, Long::sum);
    total++;
  }

  public long get(Rejection reason) {
    return counts.getOrDefault(reason, 0L);
  }

  public long total() {
    return total;
  }

  /** Counts by label, for status and summaries. */
  public Map<String, Long> snapshot() {
    Map<String, Long> out = new TreeMap<>();
    counts.forEach((r, c) -> out.put(r.label(), c));
    return out;
  }
}

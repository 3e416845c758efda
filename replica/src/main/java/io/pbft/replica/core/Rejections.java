package io.pbft.replica.core;

import java.util.Map;
import java.util.TreeMap;

/**
 * Counts untrusted input that was dropped, by reason. Reasons are short stable strings
 * ("pre-prepare from non-primary") so that tests, logs and the status RPC can name them.
 */
public final class Rejections {
  private final Map<String, Long> counts = new TreeMap<>();
  private long total;

  public void count(String reason) {
    counts.merge(reason, 1L, Long::sum);
    total++;
  }

  public long get(String reason) {
    return counts.getOrDefault(reason, 0L);
  }

  public long total() {
    return total;
  }

  public Map<String, Long> snapshot() {
    return new TreeMap<>(counts);
  }
}

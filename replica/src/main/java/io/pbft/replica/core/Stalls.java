package io.pbft.replica.core;

/**
 * This replica's own stalls: stretches of the event clock in which it did not run (its process
 * paused, a long collection, a starved CPU), seen as a gap between ticks longer than a quarter of
 * {@code viewChangeTimeoutMs}. Timers do not count that time against the primary, and a backup
 * checking a proposed time does not count it against the proposal either: a pre-prepare that
 * waited in this replica's socket while it was stopped is late because of this replica, not
 * because the primary's clock is off. Pure: times come in from the events.
 */
final class Stalls {
  /** The most recent stalls kept; older ones no longer matter to a check bounded by the skew. */
  private static final int KEPT = 16;
  private final long[] starts = new long[KEPT];
  private final long[] ends = new long[KEPT];
  private int count;
  private int next;
  private long lastTickMs = Long.MIN_VALUE;
  private final long thresholdMs;

  Stalls(long thresholdMs) {
    this.thresholdMs = Math.max(thresholdMs, 1);
  }

  /**
   * A tick at {@code nowMs}: returns how long this replica stalled since the previous tick (the
   * whole gap, since a replica that did not tick for this long did not run), or 0.
   */
  long tick(long nowMs) {
    long gap = lastTickMs == Long.MIN_VALUE ? 0 : nowMs - lastTickMs;
    long start = lastTickMs;
    lastTickMs = nowMs;
    if (gap <= thresholdMs) {
      return 0;
    }
    starts[next] = start;
    ends[next] = nowMs;
    next = (next + 1) % KEPT;
    count = Math.min(count + 1, KEPT);
    return gap;
  }

  /** When the previous tick ran (a stall began after it); Long.MIN_VALUE before the first. */
  long lastTickMs() {
    return lastTickMs;
  }

  /**
   * How much of {@code [fromMs, nowMs]} this replica spent stalled: the recorded stalls, and the
   * one it may be resuming from right now (events queued during a pause are handled before the
   * tick that would record it).
   */
  long stalledBetween(long fromMs, long nowMs) {
    long total = 0;
    for (int i = 0; i < count; i++) {
      total += overlap(starts[i], ends[i], fromMs, nowMs);
    }
    if (lastTickMs != Long.MIN_VALUE && nowMs - lastTickMs > thresholdMs) {
      total += overlap(lastTickMs, nowMs, fromMs, nowMs);
    }
    return total;
  }

  private static long overlap(long a, long b, long from, long to) {
    return Math.max(0, Math.min(b, to) - Math.max(a, from));
  }
}

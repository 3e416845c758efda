package io.pbft.cli.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * How many operations completed in each millisecond of a run. Enough to answer, after the run,
 * how fast the system went between any two instants and how long it went without completing
 * anything (a fail-over shows up as such a gap), at a cost of one array slot per millisecond
 * rather than one entry per operation: a million-operation run needs no more than a short one.
 */
public final class CompletionTimeline {
  /** A stretch without completions, in milliseconds since the start of the run. */
  public record Gap(long fromMs, long toMs) {
    public long lengthMs() {
      return toMs - fromMs;
    }
  }

  private final long startNanos;
  private final AtomicIntegerArray perMs;

  /** @param spanMs milliseconds covered from {@code startNanos}; later completions are not recorded */
  public CompletionTimeline(long startNanos, long spanMs) {
    this.startNanos = startNanos;
    this.perMs = new AtomicIntegerArray((int) Math.min(Integer.MAX_VALUE - 8, Math.max(1, spanMs)));
  }

  public long startNanos() {
    return startNanos;
  }

  /** Milliseconds since the start of the run at {@code nanos} (a System.nanoTime value). */
  public long msAt(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos - startNanos);
  }

  public void record(long completedNanos) {
    long ms = msAt(completedNanos);
    if (ms >= 0 && ms < perMs.length()) {
      perMs.incrementAndGet((int) ms);
    }
  }

  /** Completions in [fromMs, toMs). */
  public long count(long fromMs, long toMs) {
    long n = 0;
    for (long ms = Math.max(0, fromMs); ms < Math.min(toMs, perMs.length()); ms++) {
      n += perMs.get((int) ms);
    }
    return n;
  }

  /** The first millisecond in [fromMs, toMs) with a completion, or -1. */
  public long firstCompletion(long fromMs, long toMs) {
    for (long ms = Math.max(0, fromMs); ms < Math.min(toMs, perMs.length()); ms++) {
      if (perMs.get((int) ms) > 0) {
        return ms;
      }
    }
    return -1;
  }

  /**
   * The longest stretch in [fromMs, toMs) without a completion, starting at {@code fromMs} or
   * just after a completion and ending at the next completion (or at {@code toMs} if none came).
   */
  public Gap longestGap(long fromMs, long toMs) {
    long end = Math.min(toMs, perMs.length());
    long gapStart = fromMs;
    Gap longest = new Gap(fromMs, fromMs);
    for (long ms = Math.max(0, fromMs); ms < end; ms++) {
      if (perMs.get((int) ms) > 0) {
        if (ms - gapStart > longest.lengthMs()) {
          longest = new Gap(gapStart, ms);
        }
        gapStart = ms + 1;
      }
    }
    if (end - gapStart > longest.lengthMs()) {
      longest = new Gap(gapStart, end);
    }
    return longest;
  }
}

package io.pbft.cli.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * How many operations completed in each millisecond of a run. Enough to answer, after the run,
 * how fast the system went between any two instants and how long it went without completing
 * anything (a fail-over shows up as such a gap), at a cost of one array slot per millisecond
 * rather than one entry per operation: a million-operation run needs no more than a short one.
 * Latencies are kept per second of completion (one histogram each), so that the latency before a
 * fault can be set against the latency under it.
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
  /** Latencies in microseconds of the operations completed in each second (created on first use). */
  private final AtomicReferenceArray<Histogram> latencyPerSecond;

  /** @param spanMs milliseconds covered from {@code startNanos}; later completions are not recorded */
  public CompletionTimeline(long startNanos, long spanMs) {
    this.startNanos = startNanos;
    this.perMs = new AtomicIntegerArray((int) Math.min(Integer.MAX_VALUE - 8, Math.max(1, spanMs)));
    this.latencyPerSecond = new AtomicReferenceArray<>(perMs.length() / 1000 + 1);
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

  /** An operation that took {@code latencyMicros} completed at {@code completedNanos}. */
  public void record(long completedNanos, long latencyMicros) {
    record(completedNanos);
    long ms = msAt(completedNanos);
    if (ms >= 0 && ms < perMs.length()) {
      int second = (int) (ms / 1000);
      Histogram h = latencyPerSecond.get(second);
      if (h == null) {
        latencyPerSecond.compareAndSet(second, null, new ConcurrentHistogram(3));
        h = latencyPerSecond.get(second);
      }
      h.recordValue(Math.max(1, latencyMicros));
    }
  }

  /**
   * Median latency in ms of the operations completed in the whole seconds from {@code fromMs}
   * (rounded up to a second) to {@code toMs} (rounded down), or -1 if none completed there.
   */
  public double latencyP50Ms(long fromMs, long toMs) {
    Histogram all = new Histogram(3);
    for (long s = Math.max(0, (fromMs + 999) / 1000); s < Math.min(toMs / 1000, latencyPerSecond.length()); s++) {
      Histogram h = latencyPerSecond.get((int) s);
      if (h != null) {
        all.add(h);
      }
    }
    return all.getTotalCount() == 0 ? -1 : all.getValueAtPercentile(50) / 1000.0;
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
   * The longest stretch in [fromMs, toMs) that a completion ended: from {@code fromMs} or just
   * after a completion to the next completion. Zero-length at {@code fromMs} if nothing completed.
   */
  public Gap longestClosedGap(long fromMs, long toMs) {
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
    return longest;
  }

  /** The stretch from just after the last completion in [fromMs, toMs) (or fromMs) to toMs. */
  public Gap trailingGap(long fromMs, long toMs) {
    long end = Math.min(toMs, perMs.length());
    for (long ms = end - 1; ms >= Math.max(0, fromMs); ms--) {
      if (perMs.get((int) ms) > 0) {
        return new Gap(ms + 1, end);
      }
    }
    return new Gap(fromMs, end);
  }
}

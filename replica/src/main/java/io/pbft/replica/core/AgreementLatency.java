package io.pbft.replica.core;

/**
 * A backup's estimate of how long agreement takes: from accepting a batch's pre-prepare to seeing
 * it committed-local. The primary cannot stretch this span (the 2f prepares and 2f + 1 commits a
 * backup needs can all come from correct backups), so a primary that delays its own messages does
 * not raise the request timer that watches it; a slower network or a busier group does.
 *
 * <p>The estimate follows a slower sample at once halfway (so a group slowing down honestly
 * widens its timers within a batch or two) and a faster one by a sixteenth (so one quick batch
 * does not shrink them). Pure arithmetic on samples; no clock.
 */
final class AgreementLatency {
  private double estimateMs = -1;
  private long samples;

  void sample(long ms) {
    double x = Math.max(ms, 0);
    samples++;
    if (estimateMs < 0) {
      estimateMs = x;
    } else if (x > estimateMs) {
      estimateMs += (x - estimateMs) / 2;
    } else {
      estimateMs += (x - estimateMs) / 16;
    }
  }

  boolean known() {
    return estimateMs >= 0;
  }

  /** The estimate in ms, or -1 before the first batch committed. */
  double estimateMs() {
    return estimateMs;
  }

  long samples() {
    return samples;
  }
}

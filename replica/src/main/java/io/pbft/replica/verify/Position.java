package io.pbft.replica.verify;

/**
 * Where a replica stood when its event loop last said so: its view, whether it is changing views,
 * its low watermark and what it executed. The verification pool reads it, without locks, to drop
 * messages that are stale or far ahead before paying for the signatures they carry; the core
 * judges every message that gets through again, with its exact state. {@link #ANY} filters
 * nothing (the simulator, which charges no time for verifying, uses it).
 */
public record Position(long view, boolean viewChanging, long lowWatermark, long lastExecuted, long windowSize) {
  public static final Position ANY = new Position(-1, true, -1, -1, Long.MAX_VALUE / 4);

  boolean filters() {
    return view >= 0;
  }

  /** A VIEW-CHANGE or NEW-VIEW for {@code v} that can no longer matter here. */
  boolean staleView(long v) {
    return filters() && (v < view || (v == view && !viewChanging));
  }

  /**
   * A pre-prepare this replica cannot use: for a view it left, for a view beyond the next one, or
   * for a sequence number outside its window.
   */
  boolean unusablePrePrepare(long v, long sequence) {
    return filters() && (v < view || v > view + 1 || sequence <= lowWatermark || sequence > lowWatermark + windowSize);
  }

  /** A committed certificate for a batch this replica executed already or cannot hold. */
  boolean unusableCommitted(long sequence) {
    return filters() && (sequence <= lastExecuted || sequence > lowWatermark + windowSize);
  }
}

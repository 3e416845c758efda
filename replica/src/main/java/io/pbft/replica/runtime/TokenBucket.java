package io.pbft.replica.runtime;

/**
 * A token bucket: holds at most {@code capacity} tokens and gains one every {@code 1 / perSecond}
 * seconds. Times are {@link System#nanoTime} values the caller passes, so that tests drive it.
 */
final class TokenBucket {
  private final long capacity;
  private final long nanosPerToken;
  private long tokens;
  private long refilledAt;

  /** Full at {@code nowNanos}: {@code perSecond} tokens, one more every {@code 1 / perSecond} s. */
  TokenBucket(long perSecond, long nowNanos) {
    if (perSecond < 1) {
      throw new IllegalArgumentException("perSecond must be positive: " + perSecond);
    }
    this.capacity = perSecond;
    this.nanosPerToken = Math.max(1, 1_000_000_000L / perSecond);
    this.tokens = perSecond;
    this.refilledAt = nowNanos;
  }

  /** How long until the bucket holds a token at {@code nowNanos} (0 if it holds one). Takes nothing. */
  synchronized long nanosUntilToken(long nowNanos) {
    return tokens > 0 ? 0 : Math.max(0, refilledAt + nanosPerToken - nowNanos);
  }

  /** Takes one token at {@code nowNanos}; false if there is none. */
  synchronized boolean take(long nowNanos) {
    long elapsed = nowNanos - refilledAt;
    if (elapsed >= nanosPerToken) {
      long add = elapsed / nanosPerToken;
      if (add >= capacity - tokens) {
        tokens = capacity;
        refilledAt = nowNanos;
      } else {
        tokens += add;
        refilledAt += add * nanosPerToken;
      }
    }
    if (tokens == 0) {
      return false;
    }
    tokens--;
    return true;
  }
}

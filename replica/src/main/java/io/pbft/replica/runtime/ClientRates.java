package io.pbft.replica.runtime;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Each client's request rate at this replica: a token bucket per client id that refills at
 * {@code perSecond} and holds at most as many. A request that finds the bucket empty is dropped by
 * the caller before its signature is checked, and the caller reads nothing more from that session
 * until the bucket holds a token again ({@link #nanosUntilToken}): HTTP/2 flow control then holds
 * the client back, so one client sending as fast as it can costs the replica at most two parses
 * per token, whatever it sends, and takes no verification time, queue space or batch slots from the
 * others. Only clients with an established session (so configured clients) get a bucket, which
 * bounds the map by the configuration.
 */
final class ClientRates {
  private final long perSecond;
  private final ConcurrentHashMap<Integer, TokenBucket> buckets = new ConcurrentHashMap<>();

  ClientRates(int perSecond) {
    if (perSecond < 1) {
      throw new IllegalArgumentException("perSecond must be positive: " + perSecond);
    }
    this.perSecond = perSecond;
  }

  /** Takes one token of {@code clientId}'s bucket at {@code nowNanos}; false if there is none. */
  boolean tryAcquire(int clientId, long nowNanos) {
    return buckets.computeIfAbsent(clientId, id -> new TokenBucket(perSecond, nowNanos)).take(nowNanos);
  }

  /**
   * How long until {@code clientId}'s bucket holds a token again at {@code nowNanos} (0 if it holds
   * one now). A query: it takes nothing.
   */
  long nanosUntilToken(int clientId, long nowNanos) {
    TokenBucket b = buckets.get(clientId);
    return b == null ? 0 : b.nanosUntilToken(nowNanos);
  }
}

package io.pbft.replica.runtime;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What outsiders send that is not a protocol message, or what the runtime closed to keep its
 * bounds: counted by reason (the status RPC shows each under {@code garbage.by_reason}) and logged in
 * one line without a stack trace, at most once per {@code transport.garbageLogIntervalMs} per
 * remote address, so that a flood of garbage costs a counter increment, not a log line (let alone
 * the 25-line stack trace gRPC used to log per bad connection).
 */
final class Garbage {
  private static final Logger log = LoggerFactory.getLogger(Garbage.class);
  /**
   * Addresses remembered for rate limiting (and so lines logged per interval, at most); beyond,
   * entries older than the interval are forgotten.
   */
  private static final int REMEMBERED_MAX = 4096;

  private final int replicaId;
  private final long intervalNanos;
  private final ConcurrentHashMap<String, AtomicLong> byReason = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Object, Long> lastLogged = new ConcurrentHashMap<>();
  private final AtomicLong logged = new AtomicLong();
  private final AtomicLong unlogged = new AtomicLong();
  private volatile long lastForgot = System.nanoTime();

  Garbage(int replicaId, long intervalMs) {
    this.replicaId = replicaId;
    this.intervalNanos = intervalMs * 1_000_000L;
  }

  /**
   * Counts one piece of garbage from {@code from} (null if unknown) and logs it, unless a line
   * was logged for that address within the interval.
   */
  void count(String reason, SocketAddress from, String detail) {
    byReason.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
    Object key = key(from);
    long now = System.nanoTime();
    Long last = lastLogged.get(key);
    boolean due;
    if (last == null) {
      if (lastLogged.size() >= REMEMBERED_MAX && now - lastForgot > intervalNanos / 8) {
        lastForgot = now;
        forgetOlderThan(now - intervalNanos);
      }
      // More addresses than it remembers within one interval: the rest are counted, not logged,
      // so that neither the log nor this map grows with the number of addresses.
      due = lastLogged.size() < REMEMBERED_MAX && lastLogged.putIfAbsent(key, now) == null;
    } else {
      due = now - last >= intervalNanos && lastLogged.replace(key, last, now);
    }
    if (!due) {
      unlogged.incrementAndGet();
      return;
    }
    logged.incrementAndGet();
    log.info("replica {}: garbage from {}: {}{} (further garbage from this address is counted, not logged, for {} s;"
        + " see pbft status)", replicaId, describe(from), reason, detail == null || detail.isEmpty() ? "" : " (" + detail + ")",
        intervalNanos / 1_000_000_000L);
  }

  /** Counts without logging: for what is already visible elsewhere or expected in normal operation. */
  void countQuietly(String reason) {
    byReason.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
  }

  private void forgetOlderThan(long cutoff) {
    for (Iterator<Map.Entry<Object, Long>> it = lastLogged.entrySet().iterator(); it.hasNext(); ) {
      if (it.next().getValue() - cutoff < 0) {
        it.remove();
      }
    }
  }

  /** Counts by reason, sorted. */
  Map<String, Long> snapshot() {
    Map<String, Long> m = new TreeMap<>();
    byReason.forEach((k, v) -> m.put(k, v.get()));
    return m;
  }

  long count(String reason) {
    AtomicLong c = byReason.get(reason);
    return c == null ? 0 : c.get();
  }

  long total() {
    long t = 0;
    for (AtomicLong c : byReason.values()) {
      t += c.get();
    }
    return t;
  }

  /** Lines logged, and garbage counted without a line because its address had one recently. */
  long linesLogged() {
    return logged.get();
  }

  long linesSuppressed() {
    return unlogged.get();
  }

  private static Object key(SocketAddress from) {
    if (from instanceof InetSocketAddress a && a.getAddress() != null) {
      return a.getAddress();
    }
    return from == null ? "unknown" : from.toString();
  }

  static String describe(SocketAddress from) {
    if (from instanceof InetSocketAddress a) {
      InetAddress ip = a.getAddress();
      return (ip != null ? ip.getHostAddress() : a.getHostString()) + ":" + a.getPort();
    }
    return String.valueOf(from);
  }
}

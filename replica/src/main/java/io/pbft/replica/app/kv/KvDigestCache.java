package io.pbft.replica.app.kv;

import com.google.protobuf.ByteString;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Entry hashes of the key-value digest ({@link KvDigest}), shared by several stores in one JVM
 * that execute the same operations: the replicas of a simulation, which otherwise each expand
 * every written entry to 2 KiB of keystream themselves (a third of a simulated run's time). The
 * hash of an entry is a pure function of its key and value, so a store that finds it here gets
 * the very bytes it would have computed; sharing changes no digest.
 *
 * <p>Bounded: once it holds {@code capacity} entries it starts afresh (replicas execute the same
 * writes within a few batches of each other, so recent entries are what they ask for). Safe to
 * share between threads. A replica process has one store and gains nothing from it.
 */
public final class KvDigestCache {
  private record Entry(ByteString key, ByteString value) {}

  private final ConcurrentHashMap<Entry, byte[]> hashes = new ConcurrentHashMap<>();
  private final int capacity;

  /** @param capacity entries held at most (2 KiB each) */
  public KvDigestCache(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    this.capacity = capacity;
  }

  /** The cached hash of (key, value), or null. The array is shared: callers only read it. */
  byte[] get(ByteString key, ByteString value) {
    return hashes.get(new Entry(key, value));
  }

  void put(ByteString key, ByteString value, byte[] hash) {
    if (hashes.size() >= capacity) {
      hashes.clear();
    }
    hashes.put(new Entry(key, value), hash);
  }
}

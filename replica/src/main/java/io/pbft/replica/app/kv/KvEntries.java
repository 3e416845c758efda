package io.pbft.replica.app.kv;

import com.google.protobuf.ByteString;

/**
 * The storage under {@link KvExecutor}: a map from keys to values, in memory or on disk. Keeping
 * the operations' meaning in one place is what makes the in-memory and the RocksDB store answer
 * alike, which replicas of both kinds must.
 */
interface KvEntries {
  /** The value stored under {@code key}, or null if there is none. */
  ByteString get(ByteString key);

  void put(ByteString key, ByteString value);

  void remove(ByteString key);
}

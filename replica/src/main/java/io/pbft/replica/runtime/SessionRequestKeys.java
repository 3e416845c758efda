package io.pbft.replica.runtime;

import com.google.protobuf.ByteString;
import io.pbft.replica.verify.RequestKeys;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The request keys this replica shares with clients (one per session handshake, {@code
 * authentication: macs}), by client and key id. The newest {@value #PER_CLIENT} keys of each
 * client are kept, also after their session ended: a request a client authenticated just before
 * it reconnected may still arrive inside a pre-prepare. Bounded by the configured clients.
 * Thread-safe.
 */
final class SessionRequestKeys implements RequestKeys {
  static final int PER_CLIENT = 3;

  private record Entry(ByteString keyId, byte[] key) {}

  private final ConcurrentHashMap<Integer, ArrayDeque<Entry>> byClient = new ConcurrentHashMap<>();

  /** Remembers a key that a completed handshake with {@code clientId} agreed. */
  void add(int clientId, ByteString keyId, byte[] key) {
    ArrayDeque<Entry> keys = byClient.computeIfAbsent(clientId, c -> new ArrayDeque<>());
    synchronized (keys) {
      keys.removeIf(e -> e.keyId.equals(keyId));
      keys.addLast(new Entry(keyId, key.clone()));
      while (keys.size() > PER_CLIENT) {
        keys.removeFirst();
      }
    }
  }

  @Override
  public byte[] key(int clientId, ByteString keyId) {
    ArrayDeque<Entry> keys = byClient.get(clientId);
    if (keys == null) {
      return null;
    }
    synchronized (keys) {
      for (Iterator<Entry> it = keys.descendingIterator(); it.hasNext(); ) {
        Entry e = it.next();
        if (e.keyId.equals(keyId)) {
          return e.key;
        }
      }
    }
    return null;
  }
}

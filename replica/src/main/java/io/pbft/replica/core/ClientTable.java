package io.pbft.replica.core;

import io.pbft.proto.Reply;
import java.util.HashMap;
import java.util.Map;

/**
 * Exactly-once bookkeeping per client (OSDI 1999, section 4.1): the timestamp of the last
 * request executed for each client and the reply it produced. A request with an older timestamp
 * is ignored; one with the same timestamp gets the cached reply again.
 */
final class ClientTable {
  record Entry(long timestamp, Reply reply) {}

  private final Map<Integer, Entry> last = new HashMap<>();

  long lastTimestamp(int clientId) {
    Entry e = last.get(clientId);
    return e == null ? Long.MIN_VALUE : e.timestamp();
  }

  Reply lastReply(int clientId) {
    Entry e = last.get(clientId);
    return e == null ? null : e.reply();
  }

  void record(int clientId, long timestamp, Reply reply) {
    last.put(clientId, new Entry(timestamp, reply));
  }

  int size() {
    return last.size();
  }
}

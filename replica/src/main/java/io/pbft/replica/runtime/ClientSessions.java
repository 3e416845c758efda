package io.pbft.replica.runtime;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** The established session of each client (the newest one wins), bounded in number. */
final class ClientSessions {
  private final ConcurrentHashMap<Integer, ClientSession> byClient = new ConcurrentHashMap<>();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong repliesDropped = new AtomicLong();
  private final int max;

  ClientSessions(int max) {
    this.max = max;
  }

  /** Counts a new stream; false when the replica already serves its maximum. */
  boolean admit() {
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      return false;
    }
    return true;
  }

  void register(ClientSession session) {
    byClient.put(session.clientId(), session);
  }

  void closed(ClientSession session) {
    if (!session.markClosed()) {
      return; // already counted out
    }
    open.decrementAndGet();
    if (session.established()) {
      byClient.remove(session.clientId(), session);
    }
  }

  ClientSession get(int clientId) {
    return byClient.get(clientId);
  }

  void replyDropped() {
    repliesDropped.incrementAndGet();
  }

  long repliesDropped() {
    return repliesDropped.get();
  }

  int size() {
    return open.get();
  }
}

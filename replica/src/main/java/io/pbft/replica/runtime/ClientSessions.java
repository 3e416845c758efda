package io.pbft.replica.runtime;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The established sessions (signed handshake completed) of each client, bounded in total
 * ({@code transport.clientSessionsMax}) and per client ({@code sessionsPerClientMax}, the newest
 * winning). Replies go to a client's newest session. Streams still in their handshake are not
 * here: they are {@link PendingStreams}.
 */
final class ClientSessions {
  private final Map<Integer, ArrayDeque<ClientSession>> byClient = new HashMap<>(); // guarded by this; oldest first
  private final ConcurrentHashMap<Integer, ClientSession> newest = new ConcurrentHashMap<>();
  private final AtomicLong repliesDropped = new AtomicLong();
  private final int max;
  private final int perClientMax;
  private int established; // guarded by this

  ClientSessions(int max, int perClientMax) {
    this.max = max;
    this.perClientMax = perClientMax;
  }

  /**
   * Registers a session whose handshake has just completed. Returns the sessions of the same
   * client it displaces (beyond {@code sessionsPerClientMax}), which the caller closes; null if
   * the replica already serves its maximum number of sessions (the caller refuses this one).
   */
  synchronized List<ClientSession> register(ClientSession session) {
    int id = session.clientId();
    ArrayDeque<ClientSession> mine = byClient.computeIfAbsent(id, k -> new ArrayDeque<>());
    List<ClientSession> displaced = new ArrayList<>();
    while (mine.size() >= perClientMax) {
      displaced.add(mine.removeFirst());
      established--;
    }
    if (established >= max) {
      // put back what was displaced: nothing changes for a refused handshake
      for (int i = displaced.size() - 1; i >= 0; i--) {
        mine.addFirst(displaced.get(i));
        established++;
      }
      if (mine.isEmpty()) {
        byClient.remove(id);
      }
      return null;
    }
    mine.addLast(session);
    established++;
    newest.put(id, session);
    return displaced;
  }

  /** Forgets a session that ended (or was displaced); harmless for one never registered. */
  synchronized void closed(ClientSession session) {
    if (!session.established()) {
      return;
    }
    int id = session.clientId();
    ArrayDeque<ClientSession> mine = byClient.get(id);
    if (mine != null && mine.remove(session)) {
      established--;
      if (mine.isEmpty()) {
        byClient.remove(id);
      }
    }
    ClientSession latest = mine == null ? null : mine.peekLast();
    if (latest == null) {
      newest.remove(id, session);
    } else {
      newest.put(id, latest);
    }
  }

  /** Established sessions with no message either way since {@code cutoff} (System.nanoTime). */
  synchronized List<ClientSession> idleSince(long cutoff) {
    List<ClientSession> idle = new ArrayList<>();
    for (ArrayDeque<ClientSession> mine : byClient.values()) {
      for (ClientSession s : mine) {
        if (s.lastActivityNanos() - cutoff < 0) {
          idle.add(s);
        }
      }
    }
    return idle;
  }

  /** The newest established session of {@code clientId}, or null. */
  ClientSession get(int clientId) {
    return newest.get(clientId);
  }

  void replyDropped() {
    repliesDropped.incrementAndGet();
  }

  long repliesDropped() {
    return repliesDropped.get();
  }

  /** Established sessions. */
  synchronized int size() {
    return established;
  }
}

package io.pbft.replica.runtime;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Incoming peer streams that have carried a verified message, by the replica that signed it. A
 * correct peer keeps one stream to this replica (and briefly a second while it replaces a broken
 * one), so a few per sender are kept, the newest winning: an outsider replaying a peer's signed
 * messages on streams of its own can at most make the peer reconnect, not add streams without
 * end.
 */
final class PeerStreams {
  static final int PER_SENDER_MAX = 4;

  private final Map<Integer, ArrayDeque<PeerStream>> bySender = new HashMap<>(); // guarded by this; oldest first
  private int size; // guarded by this

  /** Registers {@code s} as a stream of {@code sender}; returns the streams it displaces. */
  synchronized List<PeerStream> register(int sender, PeerStream s) {
    s.authenticatedAs(sender);
    ArrayDeque<PeerStream> mine = bySender.computeIfAbsent(sender, k -> new ArrayDeque<>());
    List<PeerStream> displaced = new ArrayList<>();
    while (mine.size() >= PER_SENDER_MAX) {
      displaced.add(mine.removeFirst());
      size--;
    }
    mine.addLast(s);
    size++;
    return displaced;
  }

  synchronized void closed(PeerStream s) {
    if (!s.authenticated()) {
      return;
    }
    ArrayDeque<PeerStream> mine = bySender.get(s.sender());
    if (mine != null && mine.remove(s)) {
      size--;
      if (mine.isEmpty()) {
        bySender.remove(s.sender());
      }
    }
  }

  /** Authenticated streams with no message since {@code cutoff} (System.nanoTime). */
  synchronized List<PeerStream> idleSince(long cutoff) {
    List<PeerStream> idle = new ArrayList<>();
    for (ArrayDeque<PeerStream> mine : bySender.values()) {
      for (PeerStream s : mine) {
        if (s.lastActivityNanos() - cutoff < 0) {
          idle.add(s);
        }
      }
    }
    return idle;
  }

  synchronized int size() {
    return size;
  }
}

package io.pbft.replica.runtime;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Streams not yet authenticated (client streams before their signed handshake completes, peer
 * streams before a message of theirs verifies), oldest first, bounded in total and per remote
 * address ({@code transport.pendingStreamsMax}, {@code pendingStreamsPerAddressMax}). A new stream
 * that finds no room takes the place of the oldest stream that has sent nothing yet (or, if all
 * have, the oldest): a real handshake completes in one round trip, so streams held open by
 * outsiders cannot keep a client out, whichever address they come from.
 */
final class PendingStreams {
  private final int max;
  private final int perAddressMax;
  private final long timeoutNanos;
  private final LinkedHashSet<GuardedStream> all = new LinkedHashSet<>(); // guarded by this
  private final Map<Object, LinkedHashSet<GuardedStream>> byAddress = new HashMap<>(); // guarded by this

  PendingStreams(int max, int perAddressMax, long timeoutMs) {
    this.max = max;
    this.perAddressMax = perAddressMax;
    this.timeoutNanos = timeoutMs * 1_000_000L;
  }

  /** Admits {@code s}; returns the streams it displaces (at most two), which the caller closes. */
  synchronized List<GuardedStream> admit(GuardedStream s) {
    List<GuardedStream> displaced = new ArrayList<>(2);
    LinkedHashSet<GuardedStream> mine = byAddress.get(s.connection.address);
    if (mine != null && mine.size() >= perAddressMax) {
      GuardedStream v = pick(mine);
      removeLocked(v);
      displaced.add(v);
    }
    if (all.size() >= max) {
      GuardedStream v = pick(all);
      removeLocked(v);
      displaced.add(v);
    }
    all.add(s);
    byAddress.computeIfAbsent(s.connection.address, k -> new LinkedHashSet<>()).add(s);
    return displaced;
  }

  private static GuardedStream pick(LinkedHashSet<GuardedStream> oldestFirst) {
    for (GuardedStream g : oldestFirst) {
      if (!g.hasSpoken()) {
        return g;
      }
    }
    return oldestFirst.iterator().next();
  }

  /** Takes {@code s} out (it authenticated, or it ended); false if it was not pending. */
  synchronized boolean remove(GuardedStream s) {
    return removeLocked(s);
  }

  private boolean removeLocked(GuardedStream s) {
    if (!all.remove(s)) {
      return false;
    }
    LinkedHashSet<GuardedStream> mine = byAddress.get(s.connection.address);
    if (mine != null) {
      mine.remove(s);
      if (mine.isEmpty()) {
        byAddress.remove(s.connection.address);
      }
    }
    return true;
  }

  /** Takes out and returns the streams pending for longer than the handshake timeout. */
  synchronized List<GuardedStream> expired(long now) {
    List<GuardedStream> out = new ArrayList<>();
    for (Iterator<GuardedStream> it = all.iterator(); it.hasNext(); ) {
      GuardedStream s = it.next();
      if (now - s.openedNanos <= timeoutNanos) {
        break; // oldest first: the rest are younger
      }
      out.add(s);
    }
    for (GuardedStream s : out) {
      removeLocked(s);
    }
    return out;
  }

  synchronized int size() {
    return all.size();
  }

  synchronized boolean contains(GuardedStream s) {
    return all.contains(s);
  }
}

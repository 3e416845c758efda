package io.pbft.replica.core;

import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * The primary's requests waiting for a batch, fair to clients: each client has its own short
 * queue (a newer request takes the place of its oldest one when full, so a client flooding with
 * ever newer timestamps only pushes out its own older requests), and batches take one request of
 * each waiting client in turn (round-robin, as BFT-SMaRt does), so one busy client cannot fill a
 * batch while others wait. Bounded in total as well.
 */
final class BatchQueue {
  /** What happened to a request offered to the queue. */
  enum Admission {
    QUEUED,
    /** Queued in place of the client's oldest queued request. */
    REPLACED_OLDER,
    /** The queue as a whole is full. */
    FULL
  }

  private final int perClientMax;
  private final int totalMax;
  /** Clients with queued requests, in the order their turn comes. */
  private final LinkedHashMap<Integer, ArrayDeque<VerifiedRequest>> byClient = new LinkedHashMap<>();
  private int size;

  BatchQueue(int perClientMax, int totalMax) {
    this.perClientMax = perClientMax;
    this.totalMax = totalMax;
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  Admission offer(VerifiedRequest r) {
    ArrayDeque<VerifiedRequest> mine = byClient.get(r.clientId());
    if (mine != null && mine.size() >= perClientMax) {
      mine.pollFirst();
      mine.addLast(r);
      return Admission.REPLACED_OLDER;
    }
    if (size >= totalMax) {
      return Admission.FULL;
    }
    if (mine == null) {
      mine = new ArrayDeque<>();
      byClient.put(r.clientId(), mine);
    }
    mine.addLast(r);
    size++;
    return Admission.QUEUED;
  }

  /**
   * The next batch: one request of each waiting client in turn, oldest first within a client, at
   * most {@code countMax} requests and {@code bytesMax} bytes (one request at least, whatever its
   * size), and at most one request that {@code vouched} says was let in on backups' relays (see
   * {@code Requests.nextBatch}); a client whose next request would be a second one waits for the
   * next batch, first in line. Requests {@code stale} says are done already are dropped on the
   * way. Clients served go to the back of the line.
   */
  List<VerifiedRequest> nextBatch(int countMax, int bytesMax, ToLongFunction<VerifiedRequest> sizeOf,
      Predicate<VerifiedRequest> stale, Predicate<VerifiedRequest> vouched) {
    List<VerifiedRequest> batch = new ArrayList<>();
    long bytes = 0;
    boolean holdsVouched = false;
    boolean progress = true;
    while (batch.size() < countMax && size > 0 && progress) {
      progress = false;
      Map<Integer, ArrayDeque<VerifiedRequest>> served = new HashMap<>();
      Iterator<Map.Entry<Integer, ArrayDeque<VerifiedRequest>>> turn = byClient.entrySet().iterator();
      while (turn.hasNext() && batch.size() < countMax) {
        Map.Entry<Integer, ArrayDeque<VerifiedRequest>> e = turn.next();
        ArrayDeque<VerifiedRequest> q = e.getValue();
        VerifiedRequest next = q.peekFirst();
        boolean needsVouchers = vouched.test(next);
        if (needsVouchers && holdsVouched) {
          continue; // its turn stays: it leads the next batch
        }
        long requestBytes = sizeOf.applyAsLong(next);
        if (!batch.isEmpty() && bytes + requestBytes > bytesMax) {
          return finish(batch, served);
        }
        q.pollFirst();
        size--;
        progress = true;
        if (q.isEmpty()) {
          turn.remove();
        } else {
          turn.remove();
          served.put(e.getKey(), q);
        }
        if (stale.test(next)) {
          continue;
        }
        batch.add(next);
        bytes += requestBytes;
        holdsVouched |= needsVouchers;
      }
      served.forEach(byClient::put); // to the back of the line, in the order they were served
    }
    return batch;
  }

  private List<VerifiedRequest> finish(List<VerifiedRequest> batch, Map<Integer, ArrayDeque<VerifiedRequest>> served) {
    served.forEach(byClient::put);
    return batch;
  }

  void clear() {
    byClient.clear();
    size = 0;
  }
}

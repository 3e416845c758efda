package io.pbft.replica.core;

import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
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
   * size). Requests let in on backups' relays ({@code vouchers} names the backups that relayed
   * one; null for a request that needs none) share a batch only while at least {@code
   * commonVouchersMin} backups relayed every one of them (see {@code Requests.nextBatch}); a client
   * whose next request would break that waits for the next batch, first in line. Requests {@code
   * stale} says are done already are dropped on the way. Clients served go to the back of the line.
   */
  List<VerifiedRequest> nextBatch(int countMax, int bytesMax, ToLongFunction<VerifiedRequest> sizeOf,
      Predicate<VerifiedRequest> stale, Function<VerifiedRequest, Set<Integer>> vouchers, int commonVouchersMin) {
    List<VerifiedRequest> batch = new ArrayList<>();
    long bytes = 0;
    Set<Integer> common = null; // backups that relayed every relay-ordered request taken; null: none taken
    boolean progress = true;
    while (batch.size() < countMax && size > 0 && progress) {
      progress = false;
      Map<Integer, ArrayDeque<VerifiedRequest>> served = new HashMap<>();
      Iterator<Map.Entry<Integer, ArrayDeque<VerifiedRequest>>> turn = byClient.entrySet().iterator();
      while (turn.hasNext() && batch.size() < countMax) {
        Map.Entry<Integer, ArrayDeque<VerifiedRequest>> e = turn.next();
        ArrayDeque<VerifiedRequest> q = e.getValue();
        VerifiedRequest next = q.peekFirst();
        Set<Integer> relayers = vouchers.apply(next);
        Set<Integer> joined = relayers == null ? common : commonWith(common, relayers);
        if (relayers != null && common != null && joined.size() < commonVouchersMin) {
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
        common = joined;
      }
      served.forEach(byClient::put); // to the back of the line, in the order they were served
    }
    return batch;
  }

  private static Set<Integer> commonWith(Set<Integer> common, Set<Integer> relayers) {
    if (common == null) {
      return Set.copyOf(relayers);
    }
    Set<Integer> both = new HashSet<>(common);
    both.retainAll(relayers);
    return both;
  }

  private List<VerifiedRequest> finish(List<VerifiedRequest> batch, Map<Integer, ArrayDeque<VerifiedRequest>> served) {
    served.forEach(byClient::put);
    return batch;
  }

  /** Every queued request, oldest first per client. */
  List<VerifiedRequest> all() {
    List<VerifiedRequest> out = new java.util.ArrayList<>();
    byClient.values().forEach(out::addAll);
    return out;
  }

  void clear() {
    byClient.clear();
    size = 0;
  }
}

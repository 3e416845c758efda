package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.proto.KvResult;
import io.pbft.proto.Request;
import io.pbft.replica.node.Behaviour;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * A replica that answers read-only requests with stale or made-up values, and orders and answers
 * everything else honestly (so it is not suspected). Stale: for the same query, a result its state
 * gave earlier and gives no more (what a replica that lags would say, so a lagging correct replica
 * may well say the same). Made-up: a value found that nobody wrote, or bytes that are no result at
 * all. Its replies are authenticated (it holds its real session keys); only the 2f + 1 matching
 * answers a client waits for protect a read-only read, and the client then falls back to ordering.
 */
public final class StaleReads implements Behaviour {
  /** Earlier results kept per query. */
  private static final int KEPT = 8;

  private final Random random;
  /** Per query (the operation's bytes): the distinct results its state gave, oldest first. */
  private final Map<ByteString, Deque<ByteString>> seen = new HashMap<>();

  public StaleReads(Random random) {
    this.random = random;
  }

  @Override
  public ByteString readOnlyResult(Request request, ByteString result) {
    Deque<ByteString> past = seen.computeIfAbsent(request.getOperation(), k -> new ArrayDeque<>());
    ByteString stale = null;
    for (ByteString r : past) {
      if (!r.equals(result)) {
        stale = r; // the newest earlier result that differs from the truth
      }
    }
    if (past.isEmpty() || !past.peekLast().equals(result)) {
      past.addLast(result);
      if (past.size() > KEPT) {
        past.removeFirst();
      }
    }
    if (seen.size() > 4096) {
      seen.clear(); // bounded memory under any workload; it only forgets some lies
    }
    int pick = random.nextInt(8);
    if (stale != null && pick < 6) {
      return stale;
    }
    if (pick < 7) {
      return KvResult.newBuilder().setStatus(KvResult.Status.OK).setFound(true)
          .setValue(ByteString.copyFromUtf8("made-up-" + random.nextInt(1000))).build().toByteString();
    }
    return Messages.randomBytes(random, 1 + random.nextInt(24));
  }

  @Override
  public String name() {
    return "stale-reads";
  }
}

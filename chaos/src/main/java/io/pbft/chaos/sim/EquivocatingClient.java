package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code equivocating-client}: under one timestamp, different operations (two or three, each
 * validly authenticated) to different replicas, and when it retransmits, one of them again to
 * every replica; and now and then, long after, another variant of an older timestamp to every
 * replica (a replica that restarted from its disk, or lags, may not know that timestamp ran
 * already). At most one of them may execute, the same one at every correct replica: the
 * exactly-once rule of the executor and the agreement on batches are what stand between it and
 * replicas whose states part.
 */
final class EquivocatingClient extends ByzantineClient {
  static final String NAME = "equivocating-client";

  private final int roundsMax;
  private long timestamp;
  /** Per timestamp, per operation, the replicas it reached. */
  private final Map<Long, Map<ByteString, Set<Integer>>> reached = new HashMap<>();
  /** The variants of the latest timestamps, for late switches. */
  private final List<List<SignedRequest>> sent = new ArrayList<>();
  private static final int SWITCHABLE_MAX = 16;

  EquivocatingClient(Context c) {
    super(c);
    this.roundsMax = Math.max(20, 2 * config.opsPerClient());
  }

  @Override
  String behaviour() {
    return NAME;
  }

  @Override
  protected void begin() {
    round();
  }

  private void round() {
    if (timestamp >= roundsMax) {
      return;
    }
    timestamp++;
    long t = timestamp;
    int n = config.replicas();
    List<SimOp> ops = issueDistinct(t, Math.min(n, 2 + random.nextInt(2)));
    List<SignedRequest> requests = new ArrayList<>();
    for (SimOp op : ops) {
      requests.add(authenticate(request(t, op)));
    }
    // Every variant goes to at least one replica, each replica gets exactly one.
    List<Integer> order = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      order.add(r);
    }
    Collections.shuffle(order, random);
    for (int i = 0; i < n; i++) {
      send(order.get(i), requests.get(i % requests.size()));
    }
    count("timestamps equivocated");
    sent.add(requests);
    if (sent.size() > SWITCHABLE_MAX) {
      sent.remove(0);
    }
    if (sent.size() > 1 && random.nextInt(3) == 0) {
      List<SignedRequest> older = sent.get(random.nextInt(sent.size() - 1));
      count("late switches");
      sendToAll(older.get(random.nextInt(older.size())));
    }
    if (random.nextInt(3) == 0) {
      // A retransmission that switches: one variant, to everyone, once the first sends have landed.
      SignedRequest again = requests.get(random.nextInt(requests.size()));
      later(5 + random.nextInt(100), () -> {
        count("switched retransmissions");
        sendToAll(again);
      });
    }
    later(10 + random.nextInt(90), this::round);
  }

  @Override
  void delivered(int to, SignedRequest r) {
    Request request = parse(r);
    reached.computeIfAbsent(request.getTimestamp(), t -> new HashMap<>())
        .computeIfAbsent(request.getOperation(), op -> new HashSet<>()).add(to);
  }

  @Override
  protected void finish(Map<String, Long> out) {
    // A timestamp whose different operations reached different replicas: the group was split.
    long split = reached.values().stream().filter(byOp -> byOp.size() >= 2).count();
    out.put("conflicting operations delivered", split);
  }
}

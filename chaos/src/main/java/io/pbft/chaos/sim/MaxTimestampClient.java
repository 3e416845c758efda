package io.pbft.chaos.sim;

import io.pbft.proto.SignedRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code max-timestamp}: a few ordinary timestamps, then jumps (to 2^31, 2^32, 2^62, to just
 * below {@code Long.MAX_VALUE}) up to {@code Long.MAX_VALUE} itself, each sent again, then older
 * timestamps again, 0 and "negative" ones (above {@code Long.MAX_VALUE} as the unsigned
 * {@code uint64} of the wire). Its own exactly-once state may wedge (nothing is newer than
 * {@code Long.MAX_VALUE}), which is its own business; no arithmetic on timestamps may overflow
 * into accepting an old one or into refusing the other clients.
 */
final class MaxTimestampClient extends ByzantineClient {
  static final String NAME = "max-timestamp";

  private final List<Long> plan = new ArrayList<>();
  /** What it signed under each timestamp, sent again as the same bytes when the plan repeats one. */
  private final java.util.Map<Long, SignedRequest> signed = new java.util.HashMap<>();
  private int next;

  MaxTimestampClient(Context c) {
    super(c);
    long start = 1 + random.nextInt(3);
    for (long t = 1; t <= start; t++) {
      plan.add(t);
    }
    plan.add((1L << 31) + random.nextInt(3));
    plan.add((1L << 32) + random.nextInt(3));
    if (random.nextBoolean()) {
      plan.add((1L << 62) + random.nextInt(1000));
    }
    long below = Long.MAX_VALUE - 2 - random.nextInt(8);
    plan.add(below);
    plan.add(below); // a retransmission
    plan.add(Long.MAX_VALUE - 1);
    plan.add(Long.MAX_VALUE);
    plan.add(Long.MAX_VALUE); // again: it can never send anything newer
    plan.add(Long.MAX_VALUE - 1); // older now
    plan.add(start + 1);
    plan.add(0L);
    plan.add(-1L); // 2^64 - 1 as the unsigned timestamp of the wire
    plan.add(Long.MIN_VALUE);
    plan.add(Long.MAX_VALUE);
  }

  @Override
  String behaviour() {
    return NAME;
  }

  @Override
  protected void begin() {
    step();
  }

  private void step() {
    if (next >= plan.size()) {
      return;
    }
    long t = plan.get(next++);
    SignedRequest r = signed.computeIfAbsent(t, x -> authenticate(request(x, issue(x))));
    count("requests");
    if (t >= Long.MAX_VALUE - 16) {
      count("requests near Long.MAX_VALUE");
    }
    if (t <= 0) {
      count("requests at or past the sign bit");
    }
    if (random.nextInt(4) == 0) {
      send(believedPrimary(), r);
    } else {
      sendToAll(r);
    }
    later(10 + random.nextInt(90), this::step);
  }

  @Override
  protected void finish(java.util.Map<String, Long> out) {
    out.put("executed at Long.MAX_VALUE", world.executedAt(id, Long.MAX_VALUE) >= 0 ? 1L : 0L);
  }
}

package io.pbft.chaos.sim;

import io.pbft.proto.SignedRequest;

/**
 * {@code flooder}: sends requests as fast as it can, each with a newer timestamp, without waiting
 * for any reply, to every replica or (drawn per client) to the primary it believes in: many times
 * what a closed-loop client sends in a run. Each request is valid, so the group may execute any of
 * them; what must hold is that the honest clients keep their turn (the primary's batches take
 * clients round-robin, its queue per client is bounded) and finish within the liveness bound.
 */
final class Flooder extends ByzantineClient {
  static final String NAME = "flooder";

  private final long intervalMs;
  private final boolean toAll;
  private final int requestsMax;
  private long timestamp;

  Flooder(Context c) {
    super(c);
    this.intervalMs = 1 + random.nextInt(3);
    this.toAll = random.nextInt(3) != 0;
    this.requestsMax = requestsMax(config);
  }

  /** Requests one flooder sends at most: twenty times an honest client's, and at least 400. */
  static int requestsMax(SimulationConfig config) {
    return Math.max(400, 20 * config.opsPerClient());
  }

  @Override
  String behaviour() {
    return NAME;
  }

  @Override
  protected void begin() {
    flood();
  }

  private void flood() {
    if (timestamp >= requestsMax) {
      return;
    }
    timestamp++;
    SignedRequest r = authenticate(request(timestamp, issue(timestamp)));
    count("requests");
    if (toAll) {
      sendToAll(r);
    } else {
      send(believedPrimary(), r);
    }
    later(intervalMs, this::flood);
  }
}

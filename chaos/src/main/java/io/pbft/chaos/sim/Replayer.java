package io.pbft.chaos.sim;

import io.pbft.proto.SignedRequest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code replayer}: keeps other clients' signed requests as replicas received them (the adversary
 * sees the network) and sends them again, repeatedly, at random times: right away, long after they
 * executed, after checkpoints made them history and after view changes. Most copies go out as if
 * on the victim's own link (in the runtime its session would refuse them; here the cores' rules
 * must: a request whose timestamp ran already is answered from the client table or dropped, never
 * executed again); some on the replayer's own link, where the verifier refuses a request of
 * another client.
 */
final class Replayer extends ByzantineClient {
  static final String NAME = "replayer";

  /** The first requests it heard are kept for the whole run, to be replayed late. */
  private static final int KEPT_OLD = 16;
  /** And the most recent ones. */
  private static final int KEPT_RECENT = 48;

  private record Captured(int client, long timestamp, SignedRequest request, long view) {}

  private final List<Captured> old = new ArrayList<>();
  private final List<Captured> recent = new ArrayList<>();
  private final Set<SignedRequest> seen = new HashSet<>();
  private final int roundsMax;
  private int rounds;

  Replayer(Context c) {
    super(c);
    this.roundsMax = Math.max(100, 8 * config.opsPerClient());
  }

  @Override
  String behaviour() {
    return NAME;
  }

  @Override
  protected void begin() {
    later(10 + random.nextInt(50), this::replay);
  }

  @Override
  void overheard(int client, int to, SignedRequest r) {
    if (stopped() || parse(r).getReadOnly() || !seen.add(r)) {
      return; // a read-only request replayed is only answered again: it cannot test exactly-once
    }
    Captured c = new Captured(client, parse(r).getTimestamp(), r, world.view());
    if (old.size() < KEPT_OLD) {
      old.add(c);
      return;
    }
    if (recent.size() >= KEPT_RECENT) {
      recent.remove(random.nextInt(recent.size()));
    }
    recent.add(c);
  }

  private void replay() {
    if (rounds++ >= roundsMax) {
      return;
    }
    int copies = 1 + random.nextInt(4);
    for (int i = 0; i < copies && !(old.isEmpty() && recent.isEmpty()); i++) {
      List<Captured> from = recent.isEmpty() || (!old.isEmpty() && random.nextInt(3) == 0) ? old : recent;
      Captured c = from.get(random.nextInt(from.size()));
      resend(c);
    }
    later(20 + random.nextInt(150), this::replay);
  }

  private void resend(Captured c) {
    count("replayed");
    long ranAt = world.executedAt(c.client(), c.timestamp());
    if (ranAt >= 0) {
      count("replayed after it executed");
      if (ranAt <= world.stableCheckpoint()) {
        count("replayed from below a stable checkpoint");
      }
    }
    if (world.view() > c.view()) {
      count("replayed after a view change");
    }
    boolean ownLink = random.nextInt(8) == 0;
    boolean toAll = random.nextInt(3) == 0;
    // The primary most of the time: it is the replica that would order a replay again.
    int one = random.nextBoolean() ? (int) (world.view() % config.replicas()) : random.nextInt(config.replicas());
    for (int to = 0; to < config.replicaSlots(); to++) {
      if (!toAll && to != one) {
        continue;
      }
      if (ownLink) {
        count("replayed on its own link");
        send(to, c.request());
      } else {
        sendAs(c.client(), to, c.request());
      }
    }
  }

  @Override
  void refused(int to, SignedRequest r) {
    count("refused");
  }
}

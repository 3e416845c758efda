package io.pbft.chaos.traitor;

import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.core.Effects;
import io.pbft.replica.node.Behaviour;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A primary whose clock is wild: every PRE-PREPARE it sends proposes another time than its core
 * chose (the digest recomputed to match, and signed), one of
 *
 * <ul>
 *   <li>far in the future: a day to a year ahead;
 *   <li>far in the past: a day to a year behind, or the epoch itself;
 *   <li>running backwards: a little (within any sane skew) before the previous batch's time, so
 *       that it passes the backups' clock check and the executor's max(proposed, previous + 1)
 *       must keep agreed times increasing.
 * </ul>
 *
 * The time is chosen once per (view, sequence number) and kept, so that retransmissions match.
 * Correct backups must refuse the wild ones (no PREPARE), replace the primary with one view
 * change, and every correct replica must execute every batch with the same time.
 */
public final class WildClock implements Behaviour {
  private final Random random;
  private final Map<Long, Long> chosen = new HashMap<>();
  private long previousProposed;

  public WildClock(Random random) {
    this.random = random;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted.size());
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = Messages.parse(o.message());
      if (m == null || !m.hasPrePrepare() || m.getPrePrepare().getBatch().getRequestsCount() == 0) {
        out.add(o);
        continue;
      }
      PrePrepare pp = m.getPrePrepare();
      long key = pp.getView() * 1_000_000_007L + pp.getSequence();
      long time = chosen.computeIfAbsent(key, k -> wild(pp.getTimeMs()));
      PrePrepare lie = Messages.withTime(pp, time);
      out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder().setPrePrepare(lie).build())));
    }
    return out;
  }

  private long wild(long honest) {
    long day = 86_400_000L;
    long t = switch (random.nextInt(3)) {
      case 0 -> honest + day + (long) (random.nextDouble() * 364 * day);
      case 1 -> random.nextInt(4) == 0 ? 1 : Math.max(1, honest - day - (long) (random.nextDouble() * 364 * day));
      default -> Math.max(1, Math.min(honest, previousProposed) - 1 - random.nextInt(500));
    };
    previousProposed = honest;
    return t;
  }

  @Override
  public String name() {
    return "wild-clock";
  }
}

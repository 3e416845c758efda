package io.pbft.chaos.traitor;

import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.Random;

/**
 * A replica that is slow on purpose, just short of being suspected: it holds every message back
 * for 70 to 95% of the view-change timeout. As a primary it stays in office while slowing the
 * group to a crawl (the performance attack of Aardvark, NSDI 2009); PBFT only promises that
 * requests still complete.
 */
public final class Slow implements Behaviour {
  private final long timeoutMs;
  private final Random random;

  public Slow(long viewChangeTimeoutMs, Random random) {
    this.timeoutMs = viewChangeTimeoutMs;
    this.random = random;
  }

  @Override
  public long delayMs(Effects.Outgoing message) {
    return timeoutMs * (70 + random.nextInt(26)) / 100;
  }

  @Override
  public String name() {
    return "slow";
  }
}

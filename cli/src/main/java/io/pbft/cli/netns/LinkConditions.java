package io.pbft.cli.netns;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What every link of a {@link NetnsNetwork} does to a packet that crosses it (a replica to a
 * replica, a client to a replica, and back): holds it for {@code delay} plus a uniform random
 * {@code jitter} (a jitter wider than the gap between two packets of one connection reorders
 * them), and drops it with probability {@code loss}. Delay and jitter are applied by {@link
 * PacketDelayer} (netfilter queue), loss by an iptables {@code statistic} rule; both in the kernel
 * path between the namespaces, so TCP sees them as it would on a real network.
 */
public record LinkConditions(Duration delay, Duration jitter, double loss) {
  /** A plain, fast network: nothing added. */
  public static final LinkConditions NONE = new LinkConditions(Duration.ZERO, Duration.ZERO, 0);

  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(us|ms|s)?");

  public LinkConditions {
    if (delay.isNegative() || jitter.isNegative()) {
      throw new IllegalArgumentException("delay and jitter must not be negative: " + delay + ", " + jitter);
    }
    if (!(loss >= 0 && loss < 1)) {
      throw new IllegalArgumentException("loss must lie in [0, 1), got " + loss);
    }
  }

  /** Every packet held for {@code delay} one way, so a round trip takes twice that. */
  public static LinkConditions delayed(Duration delay) {
    return new LinkConditions(delay, Duration.ZERO, 0);
  }

  /** Each packet dropped with probability {@code loss} at each crossing. */
  public static LinkConditions lossy(double loss) {
    return new LinkConditions(Duration.ZERO, Duration.ZERO, loss);
  }

  public LinkConditions withDelay(Duration d) {
    return new LinkConditions(d, jitter, loss);
  }

  public LinkConditions withJitter(Duration j) {
    return new LinkConditions(delay, j, loss);
  }

  public LinkConditions withLoss(double l) {
    return new LinkConditions(delay, jitter, l);
  }

  /** Whether packets wait in a {@link PacketDelayer}. */
  public boolean delays() {
    return !delay.isZero() || !jitter.isZero();
  }

  /** "25ms", "500us", "0.1s", "25" (milliseconds). */
  public static Duration parseDuration(String text) {
    Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("not a duration (e.g. 25ms, 500us, 0.1s): " + text);
    }
    double value = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "ms" : m.group(2);
    double micros = switch (unit) {
      case "us" -> value;
      case "ms" -> value * 1_000;
      default -> value * 1_000_000;
    };
    return Duration.ofNanos(Math.round(micros * 1_000));
  }

  @Override
  public String toString() {
    if (!delays() && loss == 0) {
      return "no delay, no loss";
    }
    StringBuilder b = new StringBuilder();
    b.append(delay.toNanos() / 1e6).append(" ms one way");
    if (!jitter.isZero()) {
      b.append(" + up to ").append(jitter.toNanos() / 1e6).append(" ms jitter");
    }
    b.append(String.format(Locale.ROOT, ", %.1f%% loss per crossing", loss * 100));
    return b.toString();
  }
}

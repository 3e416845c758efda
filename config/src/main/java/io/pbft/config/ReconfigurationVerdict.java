package io.pbft.config;

import java.util.Objects;

/**
 * What {@link Reconfigurations#validate} decided about a reconfiguration command: accepted, with
 * the membership of the next epoch, or refused, with a reason for the operator.
 *
 * @param next the next epoch when accepted, null when refused
 * @param refusal why the command was refused, null when accepted
 */
public record ReconfigurationVerdict(Membership next, String refusal) {
  public ReconfigurationVerdict {
    if ((next == null) == (refusal == null)) {
      throw new IllegalArgumentException("a verdict is either accepted with the next epoch or refused with a reason");
    }
  }

  public static ReconfigurationVerdict accepted(Membership next) {
    return new ReconfigurationVerdict(Objects.requireNonNull(next, "next"), null);
  }

  public static ReconfigurationVerdict refused(String reason) {
    return new ReconfigurationVerdict(null, Objects.requireNonNull(reason, "reason"));
  }

  public boolean isAccepted() {
    return next != null;
  }

  @Override
  public String toString() {
    return isAccepted() ? "accepted: epoch " + next.epoch() : "refused: " + refusal;
  }
}

package io.pbft.cli.kube;

import java.util.List;
import java.util.OptionalLong;

/**
 * Whether a replica has caught up with its group, from what it and its peers report over the
 * Status RPC. Pure: the {@code ready} command asks, this decides.
 *
 * <p>The target is the (f + 1)-th highest last executed sequence number among the peers that
 * answered: at most f of them lie, so at least one correct replica has executed that far, and f
 * liars reporting huge numbers cannot hold a correct replica unready. With fewer than f + 1 peers
 * answering there is no target a liar could not have chosen, and the replica is not called caught
 * up (a group missing more than f replicas makes no progress anyway). A replica is caught up when
 * it is at most {@code lagMax} (by default one checkpoint interval, the granularity of state
 * transfer, section 4.3 of the paper) behind the target, and its storage has not failed.
 */
public final class CaughtUp {
  private CaughtUp() {}

  /** The answer, with the reason in words (printed by {@code pbft ready}). */
  public record Verdict(boolean caughtUp, String reason) {}

  /**
   * @param own this replica's last executed sequence number, empty if it did not answer
   * @param ownStorageFailed it reported that a failed write stopped it
   * @param peers the last executed sequence numbers of the peers that answered
   * @param n replicas in the group
   * @param f faults tolerated
   * @param lagMax how far behind the target still counts as caught up
   */
  public static Verdict judge(OptionalLong own, boolean ownStorageFailed, List<Long> peers, int n, int f,
      long lagMax) {
    if (own.isEmpty()) {
      return new Verdict(false, "the replica does not answer its Status RPC");
    }
    if (ownStorageFailed) {
      return new Verdict(false, "the replica's storage failed; it takes no part");
    }
    // f + 1 peers vouch for a target; a group of one has no peers (f = 0) and needs none
    int needed = Math.min(f + 1, n - 1);
    if (peers.size() < needed) {
      return new Verdict(false, peers.size() + " of " + (n - 1) + " peers answered, " + needed
          + " are needed to tell how far the group has executed");
    }
    long target = needed == 0 ? 0 : peers.stream().sorted((a, b) -> Long.compare(b, a)).skip(needed - 1L)
        .findFirst().orElseThrow();
    long behind = target - own.getAsLong();
    if (behind > lagMax) {
      return new Verdict(false, "last executed " + own.getAsLong() + " is " + behind + " behind " + target
          + " (at least one correct peer executed that far; at most " + lagMax + " allowed)");
    }
    return new Verdict(true, "last executed " + own.getAsLong() + ", the group at " + target + " ("
        + peers.size() + " of " + (n - 1) + " peers answered)");
  }
}

package io.pbft.config;

/**
 * How many replicas of a group of n tolerating f faults make a quorum: the fewest such that any
 * two quorums share at least f + 1 replicas, so at least one correct replica, which never says
 * two different things. Two quorums of q in n share at least 2q - n replicas, so q is the least
 * integer with 2q - n >= f + 1, that is ceil((n + f + 1) / 2).
 *
 * <p>For n = 3f + 1, the size the paper assumes, this is 2f + 1. For any other n it is not: with
 * n = 5 and f = 1, two sets of 2f + 1 = 3 share one replica, which may be the faulty one, so a
 * batch committed by one such set could be missed by the next view's. Every threshold that the
 * paper writes as 2f + 1 (commits, checkpoint proofs, VIEW-CHANGEs, a client's tentative or
 * read-only replies) is this, and "2f prepares" is this minus the primary's pre-prepare. The
 * thresholds written f + 1 ("at least one correct") stay f + 1.
 */
public final class Quorums {
  private Quorums() {}

  /** ceil((n + f + 1) / 2); n and f as a configuration allows them (n >= 3f + 1, f >= 0). */
  public static int of(int n, int f) {
    if (f < 0 || n < 3 * f + 1) {
      throw new IllegalArgumentException("n = " + n + " cannot tolerate f = " + f);
    }
    return (n + f) / 2 + 1;
  }
}

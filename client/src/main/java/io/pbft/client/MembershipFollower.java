package io.pbft.client;

import com.google.protobuf.ByteString;
import io.pbft.config.Membership;
import io.pbft.config.Reconfigurations;
import java.util.List;

/**
 * The membership a client knows, and how it follows changes without trusting whoever tells it
 * of them: a replica's Status lists the commands that began epochs 1 to its current one, and
 * each is checked against the membership before it ({@link Reconfigurations#follow}), starting
 * from cluster.yaml's. A faulty replica can withhold changes (the client then asks the others)
 * but cannot make one up. Thread-safe.
 */
final class MembershipFollower {
  /** What following a replica's chain did: the membership now known, and why the chain stopped short, if it did. */
  record Followed(Membership membership, boolean moved, String refusal) {}

  private Membership current;

  MembershipFollower(Membership initial) {
    this.current = initial;
  }

  synchronized Membership current() {
    return current;
  }

  /**
   * Follows {@code chain} (the commands that began epochs 1, 2, ... in order, as Status lists
   * them) past the epoch already known, link by link; the first link that does not check stops
   * it, and what was checked before it is kept.
   */
  synchronized Followed follow(List<ByteString> chain) {
    Reconfigurations.Followed f = Reconfigurations.follow(current, chain);
    boolean moved = f.reached() != current;
    current = f.reached();
    return new Followed(current, moved, f.refusal());
  }
}

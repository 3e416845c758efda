package io.pbft.chaos.traitor;

import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * A replica that ignores some of its peers: it sends nothing to a fixed set of replicas (drawn
 * from its seed: at least one, never all), and behaves towards the others and the clients. A
 * primary like this leaves some backups without its pre-prepares; they must catch up from the
 * others, or replace it.
 */
public final class SilentTowards implements Behaviour {
  private final int n;
  private final Set<Integer> ignored;

  public SilentTowards(int self, int n, Random random) {
    this.n = n;
    Set<Integer> chosen = new TreeSet<>();
    int count = 1 + random.nextInt(Math.max(1, n - 2));
    while (chosen.size() < count) {
      chosen.add(Messages.otherReplica(random, n, self));
    }
    this.ignored = Set.copyOf(chosen);
  }

  public Set<Integer> ignored() {
    return ignored;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>();
    for (Effects.Outgoing o : wanted) {
      for (int to : Messages.recipients(o, n, signing.replicaId())) {
        if (!ignored.contains(to)) {
          out.add(Messages.to(to, o.message()));
        }
      }
    }
    return out;
  }

  @Override
  public String name() {
    return "silent-to-some";
  }
}

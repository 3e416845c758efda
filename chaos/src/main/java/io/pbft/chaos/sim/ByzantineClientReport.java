package io.pbft.chaos.sim;

import java.util.Map;
import java.util.TreeMap;

/**
 * What one Byzantine client of a run did, counted by what (requests sent, replays of requests that
 * had executed, conflicting operations that reached different replicas, ...), so that a test can
 * tell an attack that happened from one that never got going.
 *
 * @param client its client id (after the honest clients')
 * @param behaviour its name in {@link ClientBehaviours}
 */
public record ByzantineClientReport(int client, String behaviour, Map<String, Long> counts) {
  public ByzantineClientReport {
    counts = Map.copyOf(counts);
  }

  /** The count named {@code what}, 0 if it never happened. */
  public long count(String what) {
    return counts.getOrDefault(what, 0L);
  }

  @Override
  public String toString() {
    return "client " + client + " (" + behaviour + "): " + new TreeMap<>(counts);
  }
}

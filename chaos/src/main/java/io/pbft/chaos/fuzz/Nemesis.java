package io.pbft.chaos.fuzz;

import io.pbft.chaos.sim.Faults;
import io.pbft.proto.ReplicaMessage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * Draws a mix of network and process faults from a generator: loss, delay and reordering,
 * duplication, partitions (random halves, one replica cut off, two sides joined by a bridge
 * replica), pauses, silences, lost message kinds, censored clients, clock skew, crashes that lose
 * memory and restart from the disk, and crashes for good. Every fault but a crash for good and
 * the clock skew ends when the simulation heals; crashes for good stay within the budget given,
 * so that traitors plus dead replicas never exceed f.
 */
final class Nemesis {
  /** The faults drawn and the names of their kinds, for coverage figures. */
  record Drawn(Faults faults, Set<String> kinds) {}

  private Nemesis() {}

  /**
   * @param crashBudget replicas that may crash for good (f minus the traitors)
   * @param horizonMs faults start before this virtual time
   * @param spared replicas no crash or restart should hit (traitors, twins)
   */
  static Drawn draw(Random r, int n, int crashBudget, long horizonMs, Set<Integer> spared) {
    Faults faults = Faults.none();
    Set<String> kinds = new TreeSet<>();
    if (r.nextInt(2) == 0) {
      faults.lossy(r.nextDouble() * 0.05, r.nextDouble() * 0.2, 10 + r.nextInt(90), 0, Faults.UNTIL_HEALED);
      kinds.add("loss-and-delay");
    }
    if (r.nextInt(3) == 0) {
      faults.duplicate(0.01 + r.nextDouble() * 0.1, 5 + r.nextInt(60), 0, Faults.UNTIL_HEALED);
      kinds.add("duplication");
    }
    int windows = r.nextInt(4);
    for (int i = 0; i < windows; i++) {
      long from = r.nextLong(horizonMs);
      long until = from + 100 + r.nextLong(Math.max(200, horizonMs / 2));
      if (r.nextInt(6) == 0) {
        until = Faults.UNTIL_HEALED;
      }
      switch (r.nextInt(8)) {
        case 0 -> {
          faults.partition(randomHalf(r, n), r.nextBoolean(), from, until);
          kinds.add("partition-halves");
        }
        case 1 -> {
          faults.partition(Set.of(r.nextInt(n)), r.nextBoolean(), from, until);
          kinds.add("partition-isolated");
        }
        case 2 -> {
          List<Integer> all = shuffled(r, n);
          all.remove(0); // the bridge: in neither side, it talks to both
          int split = 1 + r.nextInt(all.size() - 1);
          faults.cut(Set.copyOf(all.subList(0, split)), Set.copyOf(all.subList(split, all.size())), from, until);
          kinds.add("partition-bridge");
        }
        case 3 -> {
          faults.pause(r.nextInt(n), from, until == Faults.UNTIL_HEALED ? horizonMs * 2 : until);
          kinds.add("pause");
        }
        case 4 -> {
          faults.silence(r.nextInt(n), from, until);
          kinds.add("silence");
        }
        case 5 -> {
          ReplicaMessage.BodyCase kind = List.of(ReplicaMessage.BodyCase.COMMIT, ReplicaMessage.BodyCase.PREPARE,
              ReplicaMessage.BodyCase.VIEW_CHANGE, ReplicaMessage.BodyCase.NEW_VIEW, ReplicaMessage.BodyCase.CHECKPOINT,
              ReplicaMessage.BodyCase.PRE_PREPARE).get(r.nextInt(6));
          faults.drop(kind, randomHalf(r, n), from, until);
          kinds.add("lost-" + kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
        }
        case 6 -> {
          faults.ignoreClient(r.nextInt(n), r.nextInt(4), from, until);
          kinds.add("censored-client");
        }
        default -> {
          List<Integer> candidates = shuffled(r, n);
          candidates.removeAll(spared);
          if (!candidates.isEmpty()) {
            faults.restart(candidates.get(0), from, from + 50 + r.nextLong(Math.max(100, horizonMs / 2)));
            kinds.add("crash-restart");
          }
        }
      }
    }
    if (r.nextInt(4) == 0) {
      int skewed = 1 + r.nextInt(2);
      for (int i = 0; i < skewed; i++) {
        faults.skew(r.nextInt(n), r.nextInt(5000), 0.5 + r.nextDouble() * 1.5);
      }
      kinds.add("clock-skew");
    }
    if (crashBudget > 0 && r.nextInt(5) == 0) {
      List<Integer> candidates = shuffled(r, n);
      candidates.removeAll(spared);
      if (!candidates.isEmpty()) {
        if (r.nextBoolean()) {
          faults.crash(candidates.get(0), r.nextLong(horizonMs));
        } else {
          faults.crashAfterPrePrepares(candidates.get(0), 1 + r.nextInt(20));
        }
        kinds.add("crash");
      }
    }
    return new Drawn(faults, kinds);
  }

  private static Set<Integer> randomHalf(Random r, int n) {
    List<Integer> all = shuffled(r, n);
    return Set.copyOf(all.subList(0, n / 2));
  }

  private static List<Integer> shuffled(Random r, int n) {
    List<Integer> all = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      all.add(i);
    }
    Collections.shuffle(all, r);
    return all;
  }
}

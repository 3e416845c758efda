package io.pbft.chaos.sim;

import io.pbft.proto.ReplicaMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * The faults of one simulation run, written down before it starts so that the run replays from
 * its seed. Every fault holds over a window [fromMs, untilMs) of virtual time; {@link #UNTIL_HEALED}
 * keeps it until the simulation heals everything at the end of the load phase (only a {@link
 * #crash} outlives that). Built fluently: {@code Faults.none().crash(0, 300).lossy(...)}.
 *
 * <p>Which replicas are faulty matters to the checkers: a replica crashed for good is left out of
 * the final convergence check (it cannot catch up); every other replica must end in the same state.
 */
public final class Faults {
  public static final long UNTIL_HEALED = Long.MAX_VALUE;

  /** Replica stops at atMs; restarts with its memory intact at resumeAtMs, or never if negative. */
  public record Crash(int replica, long atMs, long resumeAtMs) {
    public boolean forever() {
      return resumeAtMs < 0;
    }
  }

  /** Replica stops right after it sent its count-th pre-prepare (the crash lands mid-protocol). */
  public record CrashAfterPrePrepares(int replica, int count) {}

  /** Replica sends nothing to {@code to} (all replicas and every client when empty). */
  public record Silence(int replica, Set<Integer> to, long fromMs, long untilMs) {}

  /** Replica never receives client {@code clientId}'s requests, direct or forwarded: a primary that censors it. */
  public record IgnoreClient(int replica, int clientId, long fromMs, long untilMs) {}

  /** Replica messages of one kind addressed to {@code to} are lost. */
  public record DropKind(ReplicaMessage.BodyCase kind, Set<Integer> to, long fromMs, long untilMs) {}

  /** Each message is lost with dropProbability, or held up to delayMaxMs extra with delayProbability. */
  public record Lossy(double dropProbability, double delayProbability, int delayMaxMs, long fromMs, long untilMs) {}

  /** Replicas in {@code side} cannot talk to the others (nor to clients, if withClients). */
  public record Partition(Set<Integer> side, boolean withClients, long fromMs, long untilMs) {}

  /**
   * Replicas in {@code left} and in {@code right} cannot talk to each other; replicas in neither
   * (a bridge) still talk to both sides, and clients reach everyone.
   */
  public record Cut(Set<Integer> left, Set<Integer> right, long fromMs, long untilMs) {}

  /**
   * A partition by protocol round, not by time, as ByzzFuzz draws them: replica messages about a
   * sequence number in {@code firstRound..lastRound} (pre-prepares, prepares, commits,
   * checkpoints, committed certificates) are lost between {@code side} and the other replicas,
   * whenever they are sent, until the network heals. Messages about no sequence number pass.
   */
  public record RoundPartition(Set<Integer> side, long firstRound, long lastRound) {}

  /** Each message is delivered twice with {@code probability}, the copy up to delayMaxMs later. */
  public record Duplicate(double probability, int delayMaxMs, long fromMs, long untilMs) {}

  /**
   * Replica's clock reads {@code offsetMs + rate * t} at virtual time t: clocks that are off and
   * run fast or slow. Not a fault PBFT must heal from; it lasts the whole run.
   */
  public record Skew(int replica, long offsetMs, double rate) {}

  /**
   * Replica crashes at atMs losing everything in memory, and restarts at resumeAtMs as a new
   * process: a fresh core recovered from what its durable log and last checkpoint hold.
   */
  public record Restart(int replica, long atMs, long resumeAtMs) {}

  private final List<Crash> crashes = new ArrayList<>();
  private final List<CrashAfterPrePrepares> midProtocolCrashes = new ArrayList<>();
  private final List<Silence> silences = new ArrayList<>();
  private final List<IgnoreClient> censors = new ArrayList<>();
  private final List<DropKind> kindDrops = new ArrayList<>();
  private final List<Lossy> lossy = new ArrayList<>();
  private final List<Partition> partitions = new ArrayList<>();
  private final List<Cut> cuts = new ArrayList<>();
  private final List<Duplicate> duplicates = new ArrayList<>();
  private final List<Skew> skews = new ArrayList<>();
  private final List<Restart> restarts = new ArrayList<>();
  private final List<RoundPartition> roundPartitions = new ArrayList<>();

  public static Faults none() {
    return new Faults();
  }

  public Faults crash(int replica, long atMs) {
    crashes.add(new Crash(replica, atMs, -1));
    return this;
  }

  public Faults pause(int replica, long atMs, long resumeAtMs) {
    crashes.add(new Crash(replica, atMs, Math.max(atMs, resumeAtMs)));
    return this;
  }

  public Faults crashAfterPrePrepares(int replica, int count) {
    midProtocolCrashes.add(new CrashAfterPrePrepares(replica, count));
    return this;
  }

  public Faults silence(int replica, long fromMs, long untilMs) {
    silences.add(new Silence(replica, Set.of(), fromMs, untilMs));
    return this;
  }

  public Faults silence(int replica, Set<Integer> toReplicas, long fromMs, long untilMs) {
    silences.add(new Silence(replica, Set.copyOf(toReplicas), fromMs, untilMs));
    return this;
  }

  public Faults ignoreClient(int replica, int clientId, long fromMs, long untilMs) {
    censors.add(new IgnoreClient(replica, clientId, fromMs, untilMs));
    return this;
  }

  public Faults drop(ReplicaMessage.BodyCase kind, Set<Integer> toReplicas, long fromMs, long untilMs) {
    kindDrops.add(new DropKind(kind, Set.copyOf(toReplicas), fromMs, untilMs));
    return this;
  }

  public Faults lossy(double dropProbability, double delayProbability, int delayMaxMs, long fromMs, long untilMs) {
    lossy.add(new Lossy(dropProbability, delayProbability, delayMaxMs, fromMs, untilMs));
    return this;
  }

  public Faults partition(Set<Integer> side, boolean withClients, long fromMs, long untilMs) {
    partitions.add(new Partition(Set.copyOf(side), withClients, fromMs, untilMs));
    return this;
  }

  /** Links between {@code left} and {@code right} are cut; replicas in neither bridge the two. */
  public Faults cut(Set<Integer> left, Set<Integer> right, long fromMs, long untilMs) {
    cuts.add(new Cut(Set.copyOf(left), Set.copyOf(right), fromMs, untilMs));
    return this;
  }

  /** See {@link RoundPartition}. */
  public Faults partitionRounds(Set<Integer> side, long firstRound, long lastRound) {
    roundPartitions.add(new RoundPartition(Set.copyOf(side), firstRound, lastRound));
    return this;
  }

  /** The sequence number a replica message is about (its round), or -1 for one about none. */
  static long roundOf(ReplicaMessage m) {
    return switch (m.getBodyCase()) {
      case PRE_PREPARE -> m.getPrePrepare().getSequence();
      case PREPARE -> m.getPrepare().getSequence();
      case COMMIT -> m.getCommit().getSequence();
      case CHECKPOINT -> m.getCheckpoint().getSequence();
      case COMMITTED -> m.getCommitted().hasPrePrepare() ? roundOfSigned(m.getCommitted().getPrePrepare()) : -1;
      default -> -1;
    };
  }

  private static long roundOfSigned(io.pbft.proto.SignedMessage signed) {
    try {
      ReplicaMessage inner = ReplicaMessage.parseFrom(signed.getPayload());
      return inner.hasPrePrepare() ? inner.getPrePrepare().getSequence() : -1;
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return -1;
    }
  }

  public Faults duplicate(double probability, int delayMaxMs, long fromMs, long untilMs) {
    duplicates.add(new Duplicate(probability, delayMaxMs, fromMs, untilMs));
    return this;
  }

  public Faults skew(int replica, long offsetMs, double rate) {
    if (rate <= 0) {
      throw new IllegalArgumentException("a clock rate must be positive, got " + rate);
    }
    skews.add(new Skew(replica, offsetMs, rate));
    return this;
  }

  /** Crash at atMs losing memory; restart from the durable log and checkpoint at resumeAtMs. */
  public Faults restart(int replica, long atMs, long resumeAtMs) {
    restarts.add(new Restart(replica, atMs, Math.max(atMs, resumeAtMs)));
    return this;
  }

  /**
   * A seeded nemesis for fuzzing: a lossy network for the whole load phase, plus, on at most f
   * distinct replicas, one fault each (pause, silence, or being cut off), all inside
   * [0, horizonMs). Safety must hold whatever it draws; liveness once it heals.
   */
  public static Faults random(long seed, int n, int f, long horizonMs) {
    Random r = new Random(seed ^ 0x5DEECE66DL);
    Faults faults = none().lossy(0.01 + r.nextDouble() * 0.04, 0.05, 50, 0, UNTIL_HEALED);
    TreeSet<Integer> victims = new TreeSet<>();
    while (victims.size() < f) {
      victims.add(r.nextInt(n));
    }
    for (int v : victims) {
      long from = r.nextLong(horizonMs / 2);
      long until = from + 500 + r.nextLong(horizonMs / 2);
      switch (r.nextInt(3)) {
        case 0 -> faults.pause(v, from, until);
        case 1 -> faults.silence(v, from, until);
        default -> faults.partition(Set.of(v), true, from, until);
      }
    }
    return faults;
  }

  /**
   * Closes, at {@code nowMs}, every window still open then: for a cluster whose faults are
   * injected while it runs (a partition from now {@link #UNTIL_HEALED}, healed later). Crashes,
   * restarts and clock skews are not windows and stay as they are.
   */
  Faults endWindowsAt(long nowMs) {
    silences.replaceAll(x -> x.untilMs() > nowMs ? new Silence(x.replica(), x.to(), x.fromMs(), nowMs) : x);
    censors.replaceAll(x -> x.untilMs() > nowMs ? new IgnoreClient(x.replica(), x.clientId(), x.fromMs(), nowMs) : x);
    kindDrops.replaceAll(x -> x.untilMs() > nowMs ? new DropKind(x.kind(), x.to(), x.fromMs(), nowMs) : x);
    lossy.replaceAll(x -> x.untilMs() > nowMs
        ? new Lossy(x.dropProbability(), x.delayProbability(), x.delayMaxMs(), x.fromMs(), nowMs) : x);
    partitions.replaceAll(x -> x.untilMs() > nowMs ? new Partition(x.side(), x.withClients(), x.fromMs(), nowMs) : x);
    cuts.replaceAll(x -> x.untilMs() > nowMs ? new Cut(x.left(), x.right(), x.fromMs(), nowMs) : x);
    duplicates.replaceAll(x -> x.untilMs() > nowMs
        ? new Duplicate(x.probability(), x.delayMaxMs(), x.fromMs(), nowMs) : x);
    return this;
  }

  // ---------------------------------------------------------------- queries for the simulator

  List<Crash> crashes() {
    return List.copyOf(crashes);
  }

  List<CrashAfterPrePrepares> midProtocolCrashes() {
    return List.copyOf(midProtocolCrashes);
  }

  List<Restart> restarts() {
    return List.copyOf(restarts);
  }

  /** The clock skew of {@code replica}, or null if its clock is exact. */
  Skew skewOf(int replica) {
    for (Skew s : skews) {
      if (s.replica() == replica) {
        return s;
      }
    }
    return null;
  }

  /** Whether any fault restarts {@code replica} from its disk (it must then keep one). */
  boolean restarts(int replica) {
    return restarts.stream().anyMatch(r -> r.replica() == replica);
  }

  /** The duplication setting in force, or null. */
  Duplicate duplicateAt(long now, boolean healed) {
    for (Duplicate d : duplicates) {
      if (active(d.fromMs(), d.untilMs(), now, healed)) {
        return d;
      }
    }
    return null;
  }

  private static boolean active(long fromMs, long untilMs, long nowMs, boolean healed) {
    return !healed && nowMs >= fromMs && nowMs < untilMs;
  }

  /**
   * Is a replica message from {@code from} to {@code to} lost? {@code client} is the client whose
   * request a forwarded request carries, or -1.
   */
  boolean blocksReplicaMessage(int from, int to, ReplicaMessage.BodyCase kind, int client, long now, boolean healed) {
    return blocksReplicaMessage(from, to, kind, client, -1, now, healed);
  }

  /** As above, for a message about sequence number {@code round} (or -1: about none). */
  boolean blocksReplicaMessage(int from, int to, ReplicaMessage.BodyCase kind, int client, long round, long now,
      boolean healed) {
    if (round >= 0 && !healed) {
      for (RoundPartition p : roundPartitions) {
        if (p.side().contains(from) != p.side().contains(to) && round >= p.firstRound() && round <= p.lastRound()) {
          return true;
        }
      }
    }
    for (Silence s : silences) {
      boolean addressed = s.to().isEmpty() || s.to().contains(to);
      if (s.replica() == from && addressed && active(s.fromMs(), s.untilMs(), now, healed)) {
        return true;
      }
    }
    for (Partition p : partitions) {
      if (p.side().contains(from) != p.side().contains(to) && active(p.fromMs(), p.untilMs(), now, healed)) {
        return true;
      }
    }
    for (Cut c : cuts) {
      boolean across = (c.left().contains(from) && c.right().contains(to))
          || (c.right().contains(from) && c.left().contains(to));
      if (across && active(c.fromMs(), c.untilMs(), now, healed)) {
        return true;
      }
    }
    for (DropKind d : kindDrops) {
      if (d.kind() == kind && d.to().contains(to) && active(d.fromMs(), d.untilMs(), now, healed)) {
        return true;
      }
    }
    return client >= 0 && censors(to, client, now, healed);
  }

  /** Is client {@code client}'s request to replica {@code to} lost? */
  boolean blocksRequest(int client, int to, long now, boolean healed) {
    return censors(to, client, now, healed) || cutFromClients(to, now, healed);
  }

  /** Is a reply from replica {@code from} lost? */
  boolean blocksReply(int from, long now, boolean healed) {
    for (Silence s : silences) {
      if (s.replica() == from && s.to().isEmpty() && active(s.fromMs(), s.untilMs(), now, healed)) {
        return true;
      }
    }
    return cutFromClients(from, now, healed);
  }

  private boolean censors(int replica, int client, long now, boolean healed) {
    for (IgnoreClient c : censors) {
      if (c.replica() == replica && c.clientId() == client && active(c.fromMs(), c.untilMs(), now, healed)) {
        return true;
      }
    }
    return false;
  }

  private boolean cutFromClients(int replica, long now, boolean healed) {
    for (Partition p : partitions) {
      if (p.withClients() && p.side().contains(replica) && active(p.fromMs(), p.untilMs(), now, healed)) {
        return true;
      }
    }
    return false;
  }

  /** The lossy-network setting in force, or null. */
  Lossy lossyAt(long now, boolean healed) {
    for (Lossy l : lossy) {
      if (active(l.fromMs(), l.untilMs(), now, healed)) {
        return l;
      }
    }
    return null;
  }

  @Override
  public String toString() {
    List<Record> all = parts();
    return all.isEmpty() ? "no faults" : all.toString();
  }

  private List<List<? extends Record>> lists() {
    return List.of(crashes, midProtocolCrashes, silences, censors, kindDrops, lossy, partitions, cuts, duplicates,
        skews, restarts, roundPartitions);
  }

  /** Every fault, in a fixed order (the order {@link #toString} lists them). */
  public List<Record> parts() {
    List<Record> all = new ArrayList<>();
    lists().forEach(all::addAll);
    return all;
  }

  /** A copy without the fault at {@code index} of {@link #parts()} (a shrinker drops faults one by one). */
  @SuppressWarnings("unchecked")
  public Faults without(int index) {
    Faults copy = new Faults();
    List<List<? extends Record>> from = lists();
    List<List<? extends Record>> to = copy.lists();
    int i = 0;
    for (int l = 0; l < from.size(); l++) {
      for (Record r : from.get(l)) {
        if (i++ != index) {
          ((List<Record>) to.get(l)).add(r);
        }
      }
    }
    return copy;
  }
}

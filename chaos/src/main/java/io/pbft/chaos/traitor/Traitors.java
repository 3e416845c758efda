package io.pbft.chaos.traitor;

import io.pbft.replica.node.Behaviour;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The catalogue of traitor behaviours by name, as {@code pbft replica --traitor NAME}, {@code pbft
 * chaos sim --behaviour NAME}, the simulator and the container cluster name them. Several names
 * joined with '+' combine, applied left to right. Every behaviour draws its randomness from a
 * generator seeded by {@link Context#seed()}, so a simulated run replays exactly.
 */
public final class Traitors {
  /**
   * What a behaviour may need to know about the cluster it lies to.
   *
   * @param viewChangeTimeoutMs the group's view-change timeout (a slow traitor stays just under it)
   * @param allies the other traitors it colludes with (an equivocating primary shows them the truth)
   */
  public record Context(int replicaId, int n, int f, long seed, long viewChangeTimeoutMs, Set<Integer> allies) {
    public Context {
      allies = Set.copyOf(allies);
    }

    /** A traitor without allies, in a group with the default 1 s view-change timeout. */
    public Context(int replicaId, int n, int f, long seed) {
      this(replicaId, n, f, seed, 1000, Set.of());
    }
  }

  /** Where a behaviour does the most harm, for placing it when the caller does not say. */
  public enum Role {
    /** Lies as the primary: best at the primary of view 0, replica 0. */
    PRIMARY,
    /** Lies as the primary of a new view: best at replica 1, primary of view 1. */
    NEXT_PRIMARY,
    /** Lies as any replica. */
    ANY
  }

  /** One behaviour of the catalogue. */
  public record Entry(String name, Role role, String description, Function<Context, Behaviour> factory) {}

  private static final Map<String, Entry> CATALOGUE = new TreeMap<>();

  private static void add(String name, Role role, String description, Function<Context, Behaviour> factory) {
    CATALOGUE.put(name, new Entry(name, role, description, factory));
  }

  private static Random random(Context c, String name) {
    return new Random(c.seed() * 31 + name.hashCode());
  }

  static {
    add("honest", Role.ANY, "no lies (the default)", c -> Behaviour.HONEST);
    add("silent", Role.PRIMARY, "receives everything, sends nothing", c -> new Silent());
    add("silent-to-some", Role.PRIMARY, "sends nothing to a fixed subset of the replicas",
        c -> new SilentTowards(c.replicaId(), c.n(), random(c, "silent-to-some")));
    add("slow", Role.PRIMARY, "holds every message back for 70-95% of the view-change timeout",
        c -> new Slow(c.viewChangeTimeoutMs(), random(c, "slow")));
    add("equivocating-primary", Role.PRIMARY, "sends different pre-prepares for one sequence number to different backups",
        c -> new EquivocatingPrimary(c.n(), c.allies()));
    add("wild-clock", Role.PRIMARY,
        "as primary, proposes batch times far in the future, far in the past, or running backwards",
        c -> new WildClock(random(c, "wild-clock")));
    add("impostor-primary", Role.ANY, "a backup that sends pre-prepares of its own, as if it were the primary",
        c -> new ImpostorPrimary(c.n(), random(c, "impostor-primary")));
    add("conflicting-votes", Role.ANY, "PREPAREs and COMMITs for different digests to different replicas",
        c -> new ConflictingVotes(c.n(), random(c, "conflicting-votes")));
    add("mutations", Role.ANY, "one field of some of its messages changed a little, for some recipients (ByzzFuzz)",
        c -> new Mutations(c.n(), random(c, "mutations")));
    add("colluding-votes", Role.ANY,
        "votes for both sides of an allied equivocating primary (beyond f traitors this breaks agreement)",
        c -> new ColludingVotes(c.n()));
    add("wrong-digests", Role.ANY, "pre-prepares, prepares and commits whose digests are wrong",
        c -> new WrongDigests(random(c, "wrong-digests")));
    add("forged-requests", Role.PRIMARY, "replayed, tampered and unknown-client requests in pre-prepares and forwards",
        c -> new ForgedRequests(random(c, "forged-requests")));
    add("replay", Role.ANY, "replays old validly signed messages, its own and others'",
        c -> new ReplayOldMessages(c.n(), random(c, "replay")));
    add("stale-future", Role.ANY, "messages for stale and far-future views and sequence numbers",
        c -> new StaleOrFutureMessages(random(c, "stale-future")));
    add("forged-identity", Role.ANY, "messages claiming another replica's identity (bad signatures)",
        c -> new ForgedIdentity(c.n(), random(c, "forged-identity")));
    add("lying-replies", Role.ANY, "wrong results in every reply to clients",
        c -> new LyingReplies(random(c, "lying-replies")));
    add("stale-reads", Role.ANY, "answers read-only requests with stale or made-up values, orders honestly",
        c -> new StaleReads(random(c, "stale-reads")));
    add("false-checkpoints", Role.ANY, "CHECKPOINTs with made-up state digests, some far ahead",
        c -> new FalseCheckpoints(random(c, "false-checkpoints")));
    add("corrupt-state", Role.ANY, "serves corrupted chunks to replicas fetching state",
        c -> new CorruptStateTransfer(random(c, "corrupt-state")));
    add("trickling-state", Role.ANY, "serves state chunks just short of the fetcher's timeout, or a few bytes at a time",
        c -> new StateSourceLies(StateSourceLies.Kind.TRICKLING, c.viewChangeTimeoutMs(), random(c, "trickling-state")));
    add("oversized-state", Role.ANY, "serves state chunks that claim a total size far beyond any real state",
        c -> new StateSourceLies(StateSourceLies.Kind.OVERSIZED, c.viewChangeTimeoutMs(), random(c, "oversized-state")));
    add("lying-view-change", Role.ANY, "VIEW-CHANGEs with fabricated, omitted or outdated certificates",
        c -> new ViewChangeLies(c.n(), random(c, "lying-view-change")));
    add("lying-new-view", Role.NEXT_PRIMARY, "as new primary, a NEW-VIEW with the wrong pre-prepares",
        c -> new NewViewLies(random(c, "lying-new-view")));
    add("flood", Role.ANY, "garbage, malformed and oversized messages besides its own",
        c -> new Flood(c.n(), random(c, "flood")));
    add(Twins.NAME, Role.PRIMARY, "two instances with one identity and key (simulator only)", c -> new Twins());
  }

  private Traitors() {}

  public static List<String> names() {
    return List.copyOf(CATALOGUE.keySet());
  }

  /** Every behaviour with its role and description, by name. */
  public static List<Entry> entries() {
    return List.copyOf(CATALOGUE.values());
  }

  /** @throws IllegalArgumentException naming the known behaviours when {@code name} is unknown */
  public static Entry entry(String name) {
    Entry e = CATALOGUE.get(name.trim());
    if (e == null) {
      throw new IllegalArgumentException("unknown traitor behaviour '" + name.trim() + "'; known: " + names());
    }
    return e;
  }

  /** The single behaviours a name made with '+' combines, in order. */
  public static List<String> parts(String name) {
    List<String> parts = new ArrayList<>();
    for (String p : name.split("\\+")) {
      parts.add(entry(p).name());
    }
    return parts;
  }

  /** Where the first part of {@code name} does the most harm. */
  public static Role role(String name) {
    return entry(parts(name).get(0)).role();
  }

  /** @throws IllegalArgumentException naming the known behaviours when {@code name} is unknown */
  public static Behaviour create(String name, Context context) {
    List<String> parts = parts(name);
    if (parts.size() > 1) {
      List<Behaviour> all = new ArrayList<>();
      for (String p : parts) {
        all.add(entry(p).factory().apply(context));
      }
      return new Combined(String.join("+", parts), List.copyOf(all));
    }
    return entry(parts.get(0)).factory().apply(context);
  }
}

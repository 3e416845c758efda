package io.pbft.cli.bench;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * What bench does to the group part way through a run ({@code --fault NAME}): Aardvark's
 * robustness table for this project. A fault against the primary should cost one view change;
 * every other fault none, except the partial authenticator, which may cost one (see {@link
 * #expectedViewChangesMax}).
 */
public enum Fault {
  KILL_PRIMARY("kill-primary", true, "SIGKILL of the primary's process: gone, its connections reset"),
  PAUSE_PRIMARY("pause-primary", true,
      "SIGSTOP of the primary until the end: it keeps its sockets but neither reads nor sends"),
  SLOW_PRIMARY("slow-primary", true,
      "the primary holds every message back for 70-95% of the view-change timeout (traitor 'slow')"),
  EQUIVOCATING_PRIMARY("equivocating-primary", true,
      "the primary sends different pre-prepares for one sequence number to different backups"),
  SLOW_BACKUP("slow-backup", false, "a backup holds every message back for 70-95% of the view-change timeout"),
  STALL_ALL("stall-all", false, "SIGSTOP of every replica for 2 s, then SIGCONT (a profiler attaching, a VM pause)"),
  FLOOD_CLIENT("flood-client", false,
      "a configured client sends validly signed requests to every replica as fast as flow control lets it"),
  EQUIVOCATING_CLIENT("equivocating-client", false,
      "a configured client sends each replica a different, validly authenticated operation under one timestamp, 50 times a second"),
  MAX_TIMESTAMP_CLIENT("max-timestamp-client", false,
      "a configured client climbs to timestamp Long.MAX_VALUE and keeps sending it, 50 times a second"),
  REPLAYING_CLIENT("replaying-client", false,
      "a configured client re-sends other clients' requests to every replica on its own sessions, 100 ms and again"
          + " 3 s after they were sent, 50 replays a second (bench's clients hand it what they send)"),
  /**
   * With MACs this is Aardvark's big MAC attack: the first batch holding a request only the primary
   * can authenticate cannot prepare, and the group changes view once; after that the backups
   * suspect the client and the primaries order its requests only as backups vouch for them.
   */
  PARTIAL_AUTHENTICATOR_CLIENT("partial-authenticator-client", false, 1,
      "a configured client sends every replica the same request, 50 rounds a second, with MACs valid at some of"
          + " them only (the primary alone, a backup alone, ...: a different split each round; with signed requests,"
          + " a spoiled signature to the others)"),
  SESSION_EXHAUSTION("session-exhaustion", false,
      "an outsider opens 5,000 client streams per replica and never sends the handshake"),
  GARBAGE_FLOOD("garbage-flood", false, "an outsider sends random bytes on 4 connections per replica, reconnecting"),
  /**
   * Not a fault: a change of the group under load (docs/RECONFIGURATION.md). It should cost no view
   * change (the new epoch begins in the view the group was in) and no acknowledged write.
   */
  ROTATE_PRIMARY_KEY("rotate-primary-key", false,
      "the administrator rotates the primary's key at run time: a signed command, ordered under the load, taking"
          + " effect at its handover checkpoint a window of batches later (docs/RECONFIGURATION.md)"),
  /**
   * Not a fault either: a backup moves to a new machine (a new process on another port, started
   * with {@code pbft replica --join}) under load. It should cost no view change and no
   * acknowledged write; the group runs without that backup until the new process has the state.
   */
  MOVE_BACKUP("move-backup", false,
      "the administrator moves a backup to a new machine at run time: a new process on another port, started with"
          + " 'pbft replica --join', takes over at the handover checkpoint and fetches the state; the old one steps"
          + " down (docs/RECONFIGURATION.md)"),
  /**
   * Not a fault either: a fifth member joins under load (a new process started with {@code pbft
   * replica --join} before the load). Quorums grow with n, so until the new member has the state
   * the four old ones must all take part: a stall of any one of them at the handover (two cores
   * shared by five replica JVMs and the clients) can time the primary out, which CI saw once in
   * three runs. At most one view change, then, and no acknowledged write lost.
   */
  ADD_REPLICA("add-replica", false, 1,
      "the administrator adds a replica at run time: a new process (id n, its keys from 'pbft keygen --add-to'),"
          + " started with 'pbft replica --join', becomes a member at the handover checkpoint and fetches the state"
          + " (docs/RECONFIGURATION.md)"),
  /**
   * Not a fault either: a backup is removed from the group under load; it steps down at the
   * handover. It should cost no view change and no acknowledged write.
   */
  REMOVE_BACKUP("remove-backup", false,
      "the administrator removes a backup at run time: at the handover checkpoint it steps down and its process"
          + " exits (docs/RECONFIGURATION.md); bench starts 5 replicas for it unless --replicas says otherwise, and"
          + " lowers f in the same change if the rest could not tolerate it");

  private final String option;
  private final boolean againstPrimary;
  private final int viewChangesMax;
  private final String description;

  Fault(String option, boolean againstPrimary, String description) {
    this(option, againstPrimary, againstPrimary ? 1 : 0, description);
  }

  /** @param viewChangesMax the most view changes the fault may cost; the fewest is 1 against the primary, else 0 */
  Fault(String option, boolean againstPrimary, int viewChangesMax, String description) {
    this.option = option;
    this.againstPrimary = againstPrimary;
    this.viewChangesMax = viewChangesMax;
    this.description = description;
  }

  public String option() {
    return option;
  }

  public String description() {
    return description;
  }

  /** Whether the fault is the primary's: then the group should change view once. */
  public boolean againstPrimary() {
    return againstPrimary;
  }

  /** The fewest view changes the fault should cost: one for a fault of the primary, else none. */
  public int expectedViewChangesMin() {
    return againstPrimary ? 1 : 0;
  }

  /**
   * The most view changes the fault may cost: as many as {@link #expectedViewChangesMin} for every
   * fault but the partial authenticator, which may cost one (the first time, see {@link
   * #PARTIAL_AUTHENTICATOR_CLIENT}) or none (signed requests, or a run that ends first).
   */
  public int expectedViewChangesMax() {
    return viewChangesMax;
  }

  /** Whether {@code viewChanges} is what the fault should cost. */
  public boolean viewChangesAsExpected(long viewChanges) {
    return viewChanges >= expectedViewChangesMin() && viewChanges <= expectedViewChangesMax();
  }

  /** The expected view changes in words: "1", "0", or "0 to 1". */
  public String expectedViewChangesText() {
    return expectedViewChangesMin() == expectedViewChangesMax() ? Integer.toString(expectedViewChangesMin())
        : expectedViewChangesMin() + " to " + expectedViewChangesMax();
  }

  /** The traitor behaviour bench starts a replica with (armed when the fault is due), or null. */
  public String traitor() {
    return switch (this) {
      case SLOW_PRIMARY, SLOW_BACKUP -> "slow";
      case EQUIVOCATING_PRIMARY -> "equivocating-primary";
      default -> null;
    };
  }

  /** The replica a traitor fault is planted in: the primary of view 0, or a backup of it. */
  public int traitorReplica() {
    return this == SLOW_BACKUP ? 1 : 0;
  }

  /** Whether the fault needs a configured client beyond those bench measures (an attacker's, or the administrator's). */
  public boolean extraClient() {
    return client() != null || changesGroup();
  }

  /** Whether this is a change of the group by the administrator (then bench reports how long it took). */
  public boolean changesGroup() {
    return this == ROTATE_PRIMARY_KEY || this == MOVE_BACKUP || this == ADD_REPLICA || this == REMOVE_BACKUP;
  }

  /** How a client fault's extra client misbehaves, or null for faults without one. */
  public FloodingClient.Kind client() {
    return switch (this) {
      case FLOOD_CLIENT -> FloodingClient.Kind.FLOOD;
      case EQUIVOCATING_CLIENT -> FloodingClient.Kind.EQUIVOCATE;
      case MAX_TIMESTAMP_CLIENT -> FloodingClient.Kind.MAX_TIMESTAMP;
      case REPLAYING_CLIENT -> FloodingClient.Kind.REPLAY;
      case PARTIAL_AUTHENTICATOR_CLIENT -> FloodingClient.Kind.PARTIAL_AUTHENTICATOR;
      default -> null;
    };
  }

  /**
   * The attack an outsider process makes for this fault ({@code Outsider}'s first argument:
   * "streams" or "garbage"), or null for faults without one.
   */
  public String outsider() {
    return switch (this) {
      case SESSION_EXHAUSTION -> "streams";
      case GARBAGE_FLOOD -> "garbage";
      default -> null;
    };
  }

  /**
   * What the fault's attacker (a Byzantine client or an outsider) reports having sent, as the key
   * of bench's JSON report, or null for faults without an attacker.
   */
  public String attackerSentKey() {
    if (client() != null) {
      return "attackerRequestsSent";
    }
    return switch (this) {
      case SESSION_EXHAUSTION -> "outsiderStreamsOpened";
      case GARBAGE_FLOOD -> "outsiderGarbageBytes";
      default -> null;
    };
  }

  /** The fault named {@code option} (silence-primary is the old name of pause-primary), or null. */
  public static Fault parse(String option) {
    if ("silence-primary".equals(option)) {
      return PAUSE_PRIMARY;
    }
    return Arrays.stream(values()).filter(f -> f.option.equals(option)).findFirst().orElse(null);
  }

  public static String names() {
    return Arrays.stream(values()).map(Fault::option).collect(Collectors.joining(", "));
  }
}

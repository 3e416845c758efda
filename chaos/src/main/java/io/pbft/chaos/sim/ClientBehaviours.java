package io.pbft.chaos.sim;

import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;

/**
 * The catalogue of Byzantine client behaviours the simulator runs, by name, as {@code Traitors} is
 * for replicas. A Byzantine client holds a valid client identity and its keys, so its requests
 * authenticate; what it does with them is the behaviour. Each behaviour draws its randomness from
 * a generator seeded by the run's seed and the client's id.
 *
 * <p>Exhausting sessions is a transport attack (streams held open, handshakes never finished) that
 * the simulator does not model: it has no sessions. The process-level {@code Outsider} in
 * {@code io.pbft.chaos.outsider} does it against real replicas.
 */
public final class ClientBehaviours {
  /** One behaviour: its name, what it does, and how a client of it is built. */
  public record Entry(String name, String description) {}

  /** Builds a client of one behaviour. */
  @FunctionalInterface
  interface Factory {
    ByzantineClient create(ByzantineClient.Context context);
  }

  private record Registered(Entry entry, Factory factory) {}

  private static final List<Registered> CATALOGUE = List.of(
      new Registered(new Entry(Flooder.NAME, "requests as fast as it can with ever newer timestamps, never waiting"
          + " for a reply, to every replica or to the primary: many times what a closed-loop client sends"),
          Flooder::new),
      new Registered(new Entry(EquivocatingClient.NAME, "one timestamp, different operations to different replicas"
          + " (all validly authenticated), and another one again when it retransmits"), EquivocatingClient::new),
      new Registered(new Entry(MaxTimestampClient.NAME, "timestamps jumping to and at Long.MAX_VALUE (and past it,"
          + " as unsigned), then older ones again: to wedge exactly-once state or overflow arithmetic"),
          MaxTimestampClient::new),
      new Registered(new Entry(Replayer.NAME, "re-sends other clients' signed requests it overheard, repeatedly,"
          + " also long after they executed and after checkpoints and view changes"), Replayer::new),
      new Registered(new Entry(PartialAuthenticator.NAME, "authenticators valid at some replicas only (the"
          + " primary alone, f backups, all but the primary, ...); with signed requests, a bad signature to some"),
          PartialAuthenticator::new),
      new Registered(new Entry(Administrator.NAME, "not faulty: the group's administrator, who submits a signed"
          + " reconfiguration (adding a replica) as a correct client does, then a second one while it is pending,"
          + " which must be refused; never drawn at random"), Administrator::new));

  private ClientBehaviours() {}

  /** Every behaviour, in catalogue order, the {@link Administrator} included. */
  public static List<Entry> entries() {
    return CATALOGUE.stream().map(Registered::entry).toList();
  }

  /** Every faulty behaviour's name: the catalogue without the {@link Administrator}, who is not faulty. */
  public static List<String> names() {
    return CATALOGUE.stream().map(r -> r.entry().name()).filter(n -> !n.equals(Administrator.NAME)).toList();
  }

  /** Fails, naming the known behaviours, unless {@code name} is one. */
  public static void check(String name) {
    registered(name);
  }

  /** Draws one behaviour from {@code random}. */
  public static String draw(Random random) {
    List<String> faulty = names();
    return faulty.get(random.nextInt(faulty.size()));
  }

  /**
   * Whether a script ({@code io.pbft.chaos.script}) can replay a run with these clients: a script
   * knows one signed operation per (client, timestamp), so not an equivocating client's.
   */
  public static boolean scriptable(java.util.Collection<String> names) {
    // Nor the administrator's: a script's replicas run without a membership, so they would refuse
    // its commands and reach other states than the run did.
    return !names.contains(EquivocatingClient.NAME) && !names.contains(Administrator.NAME);
  }

  static ByzantineClient create(String name, ByzantineClient.Context context) {
    return registered(name).factory().create(context);
  }

  /**
   * Events one Byzantine client may cost a run, beyond the honest clients' budget: the flooder's
   * requests, each delivered to every replica and answered, with room for the batches they fill.
   */
  static long eventsMax(SimulationConfig config) {
    return 500_000L + 60L * config.replicas() * Flooder.requestsMax(config);
  }

  private static Registered registered(String name) {
    for (Registered r : CATALOGUE) {
      if (r.entry().name().equals(name)) {
        return r;
      }
    }
    throw new IllegalArgumentException("unknown client behaviour '" + name + "'; known: "
        + CATALOGUE.stream().map(r -> r.entry().name()).collect(Collectors.joining(", ")));
  }
}

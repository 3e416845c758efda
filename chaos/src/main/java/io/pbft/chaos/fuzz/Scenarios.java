package io.pbft.chaos.fuzz;

import io.pbft.chaos.sim.ClientBehaviours;
import io.pbft.chaos.sim.Faults;
import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.chaos.sim.Workload;
import io.pbft.chaos.traitor.Traitors;
import io.pbft.config.ProtocolSettings;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import io.pbft.config.Authentication;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Draws a {@link Scenario} from a seed: whatever {@link ScenarioOptions} leaves open (group size,
 * traitors and their behaviours and places, clients, workload, network, protocol bounds, faults)
 * comes from a generator seeded by the seed alone. Every draw happens whether or not an option
 * overrides it, so fixing one option leaves the rest of a seed's scenario as it was.
 */
public final class Scenarios {
  /** Behaviour name of the beyond-f collusion: an equivocating primary and accomplices. */
  public static final String COLLUSION = "collusion";
  /** Operations per run when the options do not say. */
  public static final int DEFAULT_OPS = 200;

  /** Behaviours a random mix draws from. */
  private static final List<String> MIXABLE = Traitors.names().stream()
      .filter(n -> !n.equals("honest") && !n.equals("colluding-votes")).toList();

  /** Every this many seeds (those divisible by it), one runs real Ed25519 instead of fast crypto. */
  public static final int REAL_CRYPTO_EVERY = 10;

  /** One seed in this many (drawn) runs one or two Byzantine clients among the honest ones. */
  public static final int BYZANTINE_CLIENTS_EVERY = 4;

  private Scenarios() {}

  /** The behaviours random mixes draw from. */
  public static List<String> mixable() {
    return MIXABLE;
  }

  public static Scenario draw(long seed, ScenarioOptions o) {
    Random r = new Random(seed * 0x9E3779B97F4A7C15L + 0x5CE9A);
    int n = pick(o.replicas(), r.nextInt(5) == 0 ? 7 : 4);
    int f = (n - 1) / 3;
    int drawnTraitors = r.nextInt(5) == 0 ? 0 : 1 + r.nextInt(f);
    boolean collusion = COLLUSION.equals(o.behaviour());
    int traitorCount = pick(o.traitors(), collusion ? f + 1 : drawnTraitors);
    if (traitorCount > n) {
      throw new IllegalArgumentException(traitorCount + " traitors among " + n + " replicas");
    }
    List<String> drawnBehaviours = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String first = MIXABLE.get(r.nextInt(MIXABLE.size()));
      if (r.nextInt(10) < 3) {
        String second = MIXABLE.get(r.nextInt(MIXABLE.size()));
        drawnBehaviours.add(second.equals(first) || second.equals("twins") ? first : first + "+" + second);
      } else {
        drawnBehaviours.add(first);
      }
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      order.add(i);
    }
    Collections.shuffle(order, r);
    boolean byRole = r.nextInt(10) < 7;
    Map<Integer, String> traitors = new TreeMap<>();
    if (collusion) {
      for (int i = 0; i < traitorCount; i++) {
        int id = o.traitorIds() != null ? o.traitorIds().get(i) : i;
        traitors.put(id, i == 0 ? "colluding-votes+equivocating-primary" : "colluding-votes");
      }
    } else {
      for (int i = 0; i < traitorCount; i++) {
        String behaviour = o.behaviour() != null ? o.behaviour() : drawnBehaviours.get(i);
        Traitors.parts(behaviour); // an unknown name fails here, naming the known ones
        int id;
        if (o.traitorIds() != null) {
          if (o.traitorIds().size() != traitorCount) {
            throw new IllegalArgumentException(o.traitorIds().size() + " traitor ids for " + traitorCount + " traitors");
          }
          id = o.traitorIds().get(i);
        } else if (i == 0 && (byRole || o.behaviour() != null)) {
          id = switch (Traitors.role(behaviour)) {
            case PRIMARY -> 0;
            case NEXT_PRIMARY -> 1;
            case ANY -> order.get(0);
          };
        } else {
          id = order.stream().filter(c -> !traitors.containsKey(c)).findFirst().orElseThrow();
        }
        if (id < 0 || id >= n || traitors.containsKey(id)) {
          throw new IllegalArgumentException("traitor id " + id + " is not a free replica id of 0.." + (n - 1));
        }
        traitors.put(id, behaviour);
      }
    }
    int clients = pick(o.clients(), 4 + r.nextInt(7));
    int ops = pick(o.ops(), DEFAULT_OPS);
    int opsPerClient = Math.max(1, (ops + clients - 1) / clients);
    Workload.Kind workload = o.workload() != null ? o.workload()
        : Workload.Kind.values()[r.nextInt(Workload.Kind.values().length)];
    if (o.workload() != null) {
      r.nextInt(Workload.Kind.values().length);
    }
    boolean fifo = r.nextInt(10) < 3;
    int latencyMax = 2 + r.nextInt(29);
    ProtocolSettings protocol = SimulationConfig.defaultProtocol();
    if (r.nextBoolean()) {
      int k = List.of(4, 8, 16, 32).get(r.nextInt(4));
      int window = k * (2 + r.nextInt(3));
      // The draws keep their order (batch size, pipeline depth, chunk size): a seed names a scenario.
      protocol = ProtocolSettings.newBuilder().batchSizeMax(1 + r.nextInt(32)).batchBytesMax(1 << 20)
          .windowSize(window).pipelineDepthMax(Math.min(window, 1 + r.nextInt(8))).checkpointInterval(k)
          .pendingRequestsMax(10_000).operationBytesMax(1 << 16).viewChangeTimeoutMs(1000)
          .stateChunkBytesMax(512 + r.nextInt(4096)).build();
    }
    boolean allDurable = r.nextInt(4) == 0;
    long horizonMs = Math.max(1_500, Math.min(20_000, opsPerClient * 40L));
    Set<Integer> spared = new TreeSet<>(traitors.keySet());
    Nemesis.Drawn drawn = Nemesis.draw(r, n, Math.max(0, f - traitorCount), horizonMs, spared);
    boolean nemesis = o.nemesis() != null ? o.nemesis() : r.nextInt(5) != 0;
    Faults faults = nemesis ? drawn.faults() : Faults.none();
    Set<String> kinds = nemesis ? drawn.kinds() : Set.of();
    if (!fifo) {
      kinds = new TreeSet<>(kinds);
      kinds.add("reordering");
    }
    // Drawn last, so that every earlier draw (and so each seed's scenario before these existed) stays.
    boolean drawnMacs = r.nextBoolean(); // drawn even when fixed, so that later draws stay put
    Authentication authentication = o.authentication() != null ? o.authentication()
        : drawnMacs ? Authentication.MACS : Authentication.SIGNATURES;
    boolean fastCrypto = o.fastCrypto() != null ? o.fastCrypto() : Math.floorMod(seed, REAL_CRYPTO_EVERY) != 0;
    // With the nemesis on, one run in four also partitions by protocol round (ByzzFuzz): a few
    // replicas lose the messages about a few consecutive sequence numbers, whenever they are sent.
    if (nemesis && r.nextInt(4) == 0) {
      List<Integer> ids = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        ids.add(i);
      }
      Collections.shuffle(ids, r);
      Set<Integer> side = new TreeSet<>(ids.subList(0, 1 + r.nextInt(Math.max(1, n / 2))));
      long first = 1 + r.nextInt(Math.max(1, opsPerClient * clients / 4));
      long last = first + r.nextInt(4);
      faults = faults.partitionRounds(side, first, last);
      kinds = new TreeSet<>(kinds);
      kinds.add("round-partition");
    }
    // Byzantine clients, drawn after everything else (every draw happens even when the options fix
    // them): one seed in four has one or two among the honest clients.
    List<String> drawnClients = new ArrayList<>();
    if (r.nextInt(BYZANTINE_CLIENTS_EVERY) == 0) {
      int count = 1 + r.nextInt(2);
      for (int i = 0; i < count; i++) {
        drawnClients.add(ClientBehaviours.draw(r));
      }
    }
    List<String> byzantineClients = o.clientBehaviours() != null ? o.clientBehaviours() : drawnClients;
    return new Scenario(seed, o, n, clients, opsPerClient, workload, traitors, fifo, latencyMax, protocol,
        allDurable, faults, kinds, authentication, fastCrypto, byzantineClients);
  }

  private static int pick(Integer fixed, int drawn) {
    return fixed != null ? fixed : drawn;
  }
}

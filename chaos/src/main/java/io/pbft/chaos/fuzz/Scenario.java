package io.pbft.chaos.fuzz;

import io.pbft.chaos.sim.Faults;
import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.chaos.sim.Workload;
import io.pbft.chaos.traitor.Traitors;
import io.pbft.chaos.traitor.Twins;
import io.pbft.config.Authentication;
import io.pbft.config.ProtocolSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One simulated run as {@link Scenarios} drew it from a seed and {@link ScenarioOptions}: the group,
 * its traitors and their behaviours, the workload, the network and the faults. {@link #config}
 * turns it into the simulator's configuration.
 *
 * @param traitors behaviour of each traitor, by replica id; a name with a {@code twins} part makes
 *     that replica a twin (two instances) running the other parts
 * @param nemesisKinds names of the kinds of faults drawn, for coverage figures
 * @param authentication how the clients authenticate requests
 * @param fastCrypto whether the run signs with keyed hashes instead of Ed25519
 * @param clientBehaviours the Byzantine clients' behaviours ({@code ClientBehaviours}), one per
 *     client, with ids after the honest clients'
 */
public record Scenario(long seed, ScenarioOptions options, int replicas, int clients, int opsPerClient,
    Workload.Kind workload, Map<Integer, String> traitors, boolean fifoLinks, int latencyMaxMs,
    ProtocolSettings protocol, boolean durable, Faults faults, Set<String> nemesisKinds,
    Authentication authentication, boolean fastCrypto, List<String> clientBehaviours) {

  public Scenario {
    traitors = Map.copyOf(new TreeMap<>(traitors));
    clientBehaviours = List.copyOf(clientBehaviours);
    nemesisKinds = Set.copyOf(nemesisKinds);
  }

  /** Virtual time the load phase may take before everything heals (faults strike in its first 20 s). */
  static final long LOAD_DEADLINE_MS = 60_000;

  /**
   * The liveness phase lasts long enough for the per-operation bound to be the binding check
   * whatever the faults left behind (a whole phase shorter than the bound would report a slow
   * operation as unfinished instead): the largest bound the run can derive, plus a minute.
   */
  static long livenessMs(SimulationConfig config) {
    return config.largestLivenessOpBoundMs() + 60_000;
  }

  public int f() {
    return (replicas - 1) / 3;
  }

  /** More traitors than PBFT tolerates: violations are expected, not bugs. */
  public boolean beyondF() {
    return traitors.size() > f();
  }

  /** The single behaviours the traitors run (each part of a combined name). */
  public Set<String> behaviours() {
    Set<String> all = new TreeSet<>();
    traitors.values().forEach(b -> all.addAll(Traitors.parts(b)));
    return all;
  }

  /** The simulator's configuration for this scenario (a builder, so tests can add a core hook). */
  public SimulationConfig.Builder config() {
    SimulationConfig.Builder b = SimulationConfig.builder().seed(seed).replicas(replicas).clients(clients)
        .opsPerClient(opsPerClient).workload(workload).fifoLinks(fifoLinks).latency(1, latencyMaxMs)
        .protocol(protocol).durable(durable).faults(faults).loadDeadlineMs(LOAD_DEADLINE_MS)
        .authentication(authentication).fastCrypto(fastCrypto).byzantineClients(clientBehaviours);
    int f = f();
    for (Map.Entry<Integer, String> t : traitors.entrySet()) {
      int id = t.getKey();
      List<String> parts = new ArrayList<>(Traitors.parts(t.getValue()));
      if (parts.remove(Twins.NAME)) {
        b.twin(id);
      }
      String name = parts.isEmpty() ? Twins.NAME : String.join("+", parts);
      Set<Integer> allies = new TreeSet<>(traitors.keySet());
      allies.remove(id);
      long timeoutMs = protocol.viewChangeTimeoutMs();
      b.traitor(id, random -> Traitors.create(name,
          new Traitors.Context(id, replicas, f, random.nextLong(), timeoutMs, allies)));
    }
    return b.livenessMs(livenessMs(b.build()));
  }

  /** {@code pbft chaos sim --seed S ...}: the command that replays this scenario. */
  public String replayCommand() {
    List<String> args = new ArrayList<>(List.of("pbft", "chaos", "sim", "--seed", String.valueOf(seed)));
    args.addAll(options.replayArguments());
    return String.join(" ", args);
  }

  /** One line: the group, traitors, workload and faults. */
  public String describe() {
    StringBuilder b = new StringBuilder();
    b.append("n=").append(replicas).append(" f=").append(f());
    b.append(", ").append(clients).append(" clients x ").append(opsPerClient).append(" ops (")
        .append(workload.label()).append(")");
    b.append(", traitors ").append(traitors.isEmpty() ? "none" : traitors.toString());
    if (beyondF()) {
      b.append(" (BEYOND f)");
    }
    b.append(", ").append(fifoLinks ? "FIFO" : "reordering").append(" links 1-").append(latencyMaxMs).append(" ms");
    if (!protocol.equals(SimulationConfig.defaultProtocol())) {
      b.append(", K=").append(protocol.checkpointInterval()).append(" L=").append(protocol.windowSize())
          .append(" pipeline=").append(protocol.pipelineDepthMax()).append(" batch<=").append(protocol.batchSizeMax());
    }
    if (durable) {
      b.append(", durable");
    }
    b.append(", ").append(authentication == Authentication.MACS ? "MACs" : "signed requests");
    b.append(fastCrypto ? ", fast crypto" : ", Ed25519");
    String drawn = faults.toString();
    b.append(drawn.equals("no faults") ? ", no faults" : ", faults " + drawn);
    if (!clientBehaviours.isEmpty()) {
      b.append(", Byzantine clients ");
      StringBuilder ids = new StringBuilder("{");
      for (int i = 0; i < clientBehaviours.size(); i++) {
        ids.append(i == 0 ? "" : ", ").append(clients + i).append('=').append(clientBehaviours.get(i));
      }
      b.append(ids).append('}');
    }
    return b.toString();
  }
}

package io.pbft.chaos.fuzz;

import io.pbft.config.Authentication;
import io.pbft.chaos.sim.ClientBehaviours;
import io.pbft.chaos.sim.Workload;
import java.util.ArrayList;
import java.util.List;

/**
 * What a caller fixes about the scenarios it runs; everything left null is drawn from each seed.
 * The options and a seed determine a run completely, so {@link #replayArguments} with the seed is
 * all it takes to replay one.
 *
 * @param replicas n (4 or 7 when drawn)
 * @param traitors how many replicas are traitors (0..f when drawn; more than f is allowed, to show
 *     what breaks beyond what PBFT tolerates)
 * @param behaviour the traitors' behaviour, a catalogue name or several joined with '+', or
 *     {@value Scenarios#COLLUSION} (an equivocating primary and accomplices that vote both ways)
 * @param traitorIds where the traitors sit (by the behaviour's role when null)
 * @param ops operations in total, shared by the clients
 * @param clients closed-loop clients
 * @param workload kv, kv-shared or bank
 * @param nemesis whether network and process faults strike (drawn per seed when null)
 * @param authentication how clients authenticate requests (MACs or signatures, even odds, when null)
 * @param fastCrypto keyed hashes instead of Ed25519 signatures in the simulator (when null: every
 *     seed but those divisible by {@value Scenarios#REAL_CRYPTO_EVERY}, which run real Ed25519)
 * @param clientBehaviours the Byzantine clients among the honest ones, one behaviour name of
 *     {@link ClientBehaviours} each; empty for none (when null: none in most seeds, one or two in
 *     some, drawn)
 */
public record ScenarioOptions(Integer replicas, Integer traitors, String behaviour, List<Integer> traitorIds,
    Integer ops, Integer clients, Workload.Kind workload, Boolean nemesis, Authentication authentication,
    Boolean fastCrypto, List<String> clientBehaviours) {

  /**
   * Authentication and crypto drawn from the seed, and no Byzantine clients: the scenarios as
   * drawn before Byzantine clients existed, which the tests written then measure.
   */
  public ScenarioOptions(Integer replicas, Integer traitors, String behaviour, List<Integer> traitorIds,
      Integer ops, Integer clients, Workload.Kind workload, Boolean nemesis) {
    this(replicas, traitors, behaviour, traitorIds, ops, clients, workload, nemesis, null, null);
  }

  /** No Byzantine clients (see the constructor above). */
  public ScenarioOptions(Integer replicas, Integer traitors, String behaviour, List<Integer> traitorIds,
      Integer ops, Integer clients, Workload.Kind workload, Boolean nemesis, Authentication authentication,
      Boolean fastCrypto) {
    this(replicas, traitors, behaviour, traitorIds, ops, clients, workload, nemesis, authentication, fastCrypto,
        List.of());
  }

  /** The name that fixes no Byzantine clients on the command line. */
  public static final String NO_CLIENT_BEHAVIOUR = "none";

  public ScenarioOptions {
    traitorIds = traitorIds == null ? null : List.copyOf(traitorIds);
    clientBehaviours = clientBehaviours == null ? null : List.copyOf(clientBehaviours);
    if (clientBehaviours != null) {
      clientBehaviours.forEach(ClientBehaviours::check);
    }
  }

  /** Everything drawn from the seed, Byzantine clients included. */
  public static ScenarioOptions random() {
    return new ScenarioOptions(null, null, null, null, null, null, null, null, null, null, null);
  }

  public ScenarioOptions withClientBehaviours(List<String> v) {
    return new ScenarioOptions(replicas, traitors, behaviour, traitorIds, ops, clients, workload, nemesis,
        authentication, fastCrypto, v);
  }

  public ScenarioOptions withOps(Integer v) {
    return new ScenarioOptions(replicas, traitors, behaviour, traitorIds, v, clients, workload, nemesis,
        authentication, fastCrypto, clientBehaviours);
  }

  public ScenarioOptions withClients(Integer v) {
    return new ScenarioOptions(replicas, traitors, behaviour, traitorIds, ops, v, workload, nemesis, authentication,
        fastCrypto, clientBehaviours);
  }

  public ScenarioOptions withAuthentication(Authentication v) {
    return new ScenarioOptions(replicas, traitors, behaviour, traitorIds, ops, clients, workload, nemesis, v,
        fastCrypto, clientBehaviours);
  }

  public ScenarioOptions withFastCrypto(Boolean v) {
    return new ScenarioOptions(replicas, traitors, behaviour, traitorIds, ops, clients, workload, nemesis,
        authentication, v, clientBehaviours);
  }

  /** The command-line options that fix what these options fix (after {@code --seed S}). */
  public List<String> replayArguments() {
    List<String> args = new ArrayList<>();
    if (replicas != null) {
      args.add("--replicas");
      args.add(String.valueOf(replicas));
    }
    if (traitors != null) {
      args.add("--traitors");
      args.add(String.valueOf(traitors));
    }
    if (behaviour != null) {
      args.add("--behaviour");
      args.add(behaviour);
    }
    if (traitorIds != null) {
      args.add("--traitor-ids");
      args.add(String.join(",", traitorIds.stream().map(String::valueOf).toList()));
    }
    if (ops != null) {
      args.add("--ops");
      args.add(String.valueOf(ops));
    }
    if (clients != null) {
      args.add("--clients");
      args.add(String.valueOf(clients));
    }
    if (workload != null) {
      args.add("--workload");
      args.add(workload.label());
    }
    if (nemesis != null) {
      args.add(nemesis ? "--nemesis" : "--no-nemesis");
    }
    if (authentication != null) {
      args.add("--authentication");
      args.add(authentication.yamlName());
    }
    if (fastCrypto != null) {
      args.add("--crypto");
      args.add(fastCrypto ? "fast" : "real");
    }
    if (clientBehaviours != null) {
      args.add("--client-behaviour");
      args.add(clientBehaviours.isEmpty() ? NO_CLIENT_BEHAVIOUR : String.join(",", clientBehaviours));
    }
    return args;
  }
}

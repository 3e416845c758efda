package io.pbft.chaos.fuzz;

import io.pbft.chaos.script.ScriptExport;
import io.pbft.chaos.script.ScriptRunner;
import io.pbft.chaos.sim.ClientBehaviours;
import io.pbft.chaos.sim.Faults;
import io.pbft.chaos.sim.Simulation;
import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.chaos.sim.SimulationResult;
import io.pbft.config.Authentication;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Reduces a failing seed to a smaller run that fails the same way, then writes it out as a
 * scenario script that replays the violation. Each step keeps a change only if the run still
 * fails with a violation of the same {@linkplain #kind kind}: first real Ed25519 and signed
 * requests (what a script replays), then half the operations while that fails, then half the
 * clients, then each fault left out in turn. Traitors stay: without them PBFT must not fail.
 */
public final class Shrinker {
  private static final Pattern TIME = Pattern.compile("^at \\d+ ms: ");
  private static final Pattern NUMBER = Pattern.compile("\\d+");

  /**
   * The outcome.
   *
   * @param config the smallest failing run's configuration
   * @param violation its first violation
   * @param runs simulations it took
   * @param steps what each kept change did, in order
   * @param script the run as a script, or null if it fails only with fast crypto or MACs
   */
  public record Shrunk(SimulationConfig config, String violation, int runs, List<String> steps, String script) {}

  private final int runsMax;
  private final Consumer<SimulationConfig.Builder> customize;
  private final ScriptRunner runner;
  private int runs;

  /**
   * @param runsMax simulations to spend at most
   * @param customize applied to every candidate's configuration (a test plants a bug with it); it
   *     must leave the faults alone, which the shrinker sets
   * @param runner what replays the exported script (with the same planted bug, if any)
   */
  public Shrinker(int runsMax, Consumer<SimulationConfig.Builder> customize, ScriptRunner runner) {
    this.runsMax = runsMax;
    this.customize = customize;
    this.runner = runner;
  }

  /**
   * What a violation is, without its times, numbers and stack: "agreement:", "liveness: # clients
   * did not finish within # ms of healing", "replica # failed: ...InvariantViolation: two
   * different batches committed".
   */
  public static String kind(String violation) {
    String s = TIME.matcher(violation).replaceFirst("");
    int stack = s.indexOf(" at ");
    if (stack >= 0) {
      s = s.substring(0, stack);
    }
    return NUMBER.matcher(s).replaceAll("#");
  }

  /** The smallest failing run found so far, and how it was reached. */
  private final class Best {
    final long seed;
    final String kind;
    final List<String> steps = new ArrayList<>();
    ScenarioOptions options;
    Scenario scenario;
    Faults faults;
    String violation;

    Best(long seed, ScenarioOptions options, Scenario scenario, SimulationResult first) {
      this.seed = seed;
      this.options = options;
      this.scenario = scenario;
      this.faults = scenario.faults();
      this.violation = first.violations().get(0);
      this.kind = kind(violation);
    }

    /** Runs the scenario {@code candidate} draws; keeps it (and says {@code step}) if it fails the same way. */
    boolean tryOptions(ScenarioOptions candidate, String step) {
      Scenario drawn = Scenarios.draw(seed, candidate);
      SimulationResult r = run(drawn, drawn.faults());
      if (!fails(r, kind)) {
        return false;
      }
      options = candidate;
      scenario = drawn;
      faults = drawn.faults();
      violation = r.violations().get(0);
      steps.add(step);
      return true;
    }
  }

  /** @throws IllegalArgumentException if the seed does not fail to begin with */
  public Shrunk shrink(long seed, ScenarioOptions options) {
    Scenario scenario = Scenarios.draw(seed, options);
    SimulationResult first = run(scenario, scenario.faults());
    if (first.violations().isEmpty()) {
      throw new IllegalArgumentException("seed " + seed + " runs clean: nothing to shrink");
    }
    Best best = new Best(seed, options, scenario, first);
    if (scenario.fastCrypto() || scenario.authentication() != Authentication.SIGNATURES) {
      best.tryOptions(options.withFastCrypto(false).withAuthentication(Authentication.SIGNATURES),
          "real Ed25519 and signed requests");
    }
    for (int ops = best.scenario.opsPerClient() * best.scenario.clients(); ops > 1 && runs < runsMax; ops /= 2) {
      if (!best.tryOptions(best.options.withOps(ops / 2),
          String.format(Locale.ROOT, "%d operations instead of %d", ops / 2, ops))) {
        break;
      }
    }
    for (int clients = best.scenario.clients(); clients > 1 && runs < runsMax; clients /= 2) {
      if (!best.tryOptions(best.options.withClients(clients / 2),
          String.format(Locale.ROOT, "%d clients instead of %d", clients / 2, clients))) {
        break;
      }
    }
    for (int i = best.scenario.clientBehaviours().size() - 1; i >= 0 && runs < runsMax; i--) {
      List<String> fewer = new ArrayList<>(best.scenario.clientBehaviours());
      String left = fewer.remove(i);
      best.tryOptions(best.options.withClientBehaviours(fewer), "without the Byzantine client " + left);
    }
    for (int i = best.faults.parts().size() - 1; i >= 0 && runs < runsMax; i--) {
      Faults without = best.faults.without(i);
      SimulationResult r = run(best.scenario, without);
      if (fails(r, best.kind)) {
        best.steps.add("without " + best.faults.parts().get(i));
        best.faults = without;
        best.violation = r.violations().get(0);
      }
    }
    SimulationConfig config = build(best.scenario, best.faults);
    String script = null;
    if (!config.fastCrypto() && !config.peerMacs()
        && ClientBehaviours.scriptable(config.byzantineClients())) {
      script = ScriptExport.export(config, runner).script();
    }
    return new Shrunk(config, best.violation, runs, List.copyOf(best.steps), script);
  }

  private SimulationConfig build(Scenario scenario, Faults faults) {
    SimulationConfig.Builder b = scenario.config();
    customize.accept(b);
    return b.faults(faults).build();
  }

  private SimulationResult run(Scenario scenario, Faults faults) {
    runs++;
    return Simulation.run(build(scenario, faults));
  }

  private static boolean fails(SimulationResult r, String kind) {
    return !r.violations().isEmpty() && kind(r.violations().get(0)).equals(kind);
  }
}

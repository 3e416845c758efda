package io.pbft.chaos.fuzz;

import io.pbft.chaos.script.ScriptExport;
import io.pbft.chaos.script.ScriptRunner;
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

  /** @throws IllegalArgumentException if the seed does not fail to begin with */
  public Shrunk shrink(long seed, ScenarioOptions options) {
    Scenario scenario = Scenarios.draw(seed, options);
    Faults faults = scenario.faults();
    SimulationResult first = run(scenario, faults);
    if (first.violations().isEmpty()) {
      throw new IllegalArgumentException("seed " + seed + " runs clean: nothing to shrink");
    }
    String kind = kind(first.violations().get(0));
    List<String> steps = new ArrayList<>();
    String violation = first.violations().get(0);

    if (scenario.fastCrypto() || scenario.authentication() != Authentication.SIGNATURES) {
      ScenarioOptions real = options.withFastCrypto(false).withAuthentication(Authentication.SIGNATURES);
      Scenario candidate = Scenarios.draw(seed, real);
      SimulationResult r = run(candidate, candidate.faults());
      if (fails(r, kind)) {
        options = real;
        scenario = candidate;
        faults = candidate.faults();
        violation = r.violations().get(0);
        steps.add("real Ed25519 and signed requests");
      }
    }
    int ops = scenario.opsPerClient() * scenario.clients();
    while (ops > 1 && runs < runsMax) {
      ScenarioOptions fewer = options.withOps(ops / 2);
      Scenario candidate = Scenarios.draw(seed, fewer);
      SimulationResult r = run(candidate, candidate.faults());
      if (!fails(r, kind)) {
        break;
      }
      steps.add(String.format(Locale.ROOT, "%d operations instead of %d", ops / 2, ops));
      ops /= 2;
      options = fewer;
      scenario = candidate;
      faults = candidate.faults();
      violation = r.violations().get(0);
    }
    int clients = scenario.clients();
    while (clients > 1 && runs < runsMax) {
      ScenarioOptions fewer = options.withClients(clients / 2);
      Scenario candidate = Scenarios.draw(seed, fewer);
      SimulationResult r = run(candidate, candidate.faults());
      if (!fails(r, kind)) {
        break;
      }
      steps.add(String.format(Locale.ROOT, "%d clients instead of %d", clients / 2, clients));
      clients /= 2;
      options = fewer;
      scenario = candidate;
      faults = candidate.faults();
      violation = r.violations().get(0);
    }
    for (int i = faults.parts().size() - 1; i >= 0 && runs < runsMax; i--) {
      Faults without = faults.without(i);
      SimulationResult r = run(scenario, without);
      if (fails(r, kind)) {
        steps.add("without " + faults.parts().get(i));
        faults = without;
        violation = r.violations().get(0);
      }
    }
    SimulationConfig config = build(scenario, faults);
    String script = null;
    if (!config.fastCrypto() && config.authentication() == Authentication.SIGNATURES) {
      script = ScriptExport.export(config, runner).script();
    }
    return new Shrunk(config, violation, runs, List.copyOf(steps), script);
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

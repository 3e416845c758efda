package io.pbft.chaos.fuzz;

import io.pbft.chaos.sim.SimRecorder;
import io.pbft.chaos.sim.Simulation;
import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.chaos.sim.SimulationResult;
import io.pbft.chaos.sim.Workload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Runs the scenarios of consecutive seeds, on several threads (each run is single-threaded and
 * deterministic, so the threads change nothing but the wall time), until the seeds or the time
 * budget run out, and sums up what they covered and what they found.
 */
public final class FuzzRunner {
  /** One seed's run: its scenario, and the result or what the simulator threw. */
  public record Outcome(Scenario scenario, SimulationResult result, Throwable crash) {
    public boolean failed() {
      return crash != null || !result.ok();
    }

    /** The first violation (or the exception), one line. */
    public String firstProblem() {
      if (crash != null) {
        return "simulator failed: " + crash;
      }
      return result.violations().isEmpty() ? "" : result.violations().get(0);
    }
  }

  /** What a batch of runs covered and found. */
  public record Summary(int runs, List<Outcome> failures, long wallMs, long opsCompleted, long virtualMs,
      Set<String> behaviours, Set<String> nemesis, Set<Workload.Kind> workloads, Map<String, Integer> violationKinds,
      Map<Integer, Integer> groupSizes, int runsWithTraitors, int runsBeyondF, long slowestAfterHealMs,
      double largestShareOfLivenessBound, long cpuMs, Set<String> clientBehaviours, int runsWithByzantineClients) {

    public double seedsPerMinute() {
      return wallMs == 0 ? 0 : runs * 60_000.0 / wallMs;
    }

    /** Seeds per minute of CPU time spent in the runs (what one idle core would do). */
    public double seedsPerCpuMinute() {
      return cpuMs == 0 ? 0 : runs * 60_000.0 / cpuMs;
    }

    /** Client operations completed in the simulations per wall-clock second. */
    public double simulatedOpsPerSecond() {
      return wallMs == 0 ? 0 : opsCompleted * 1000.0 / wallMs;
    }
  }

  /** What to run. {@code budget} may be null (no time limit); {@code customize} may add a core hook. */
  public record Plan(long firstSeed, long seeds, Duration budget, int threads, ScenarioOptions options,
      Consumer<SimulationConfig.Builder> customize) {
    public Plan {
      if (seeds < 1 || threads < 1) {
        throw new IllegalArgumentException("need at least one seed and one thread");
      }
    }
  }

  private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

  private FuzzRunner() {}

  /** Runs one seed's scenario. */
  public static Outcome runOne(long seed, ScenarioOptions options, Consumer<SimulationConfig.Builder> customize) {
    return runOne(seed, options, customize, SimRecorder.NONE);
  }

  /** As {@link #runOne(long, ScenarioOptions, Consumer)}, with {@code recorder} hearing the run. */
  public static Outcome runOne(long seed, ScenarioOptions options, Consumer<SimulationConfig.Builder> customize,
      SimRecorder recorder) {
    Scenario scenario = Scenarios.draw(seed, options);
    try {
      SimulationConfig.Builder b = scenario.config();
      customize.accept(b);
      return new Outcome(scenario, Simulation.run(b.build(), recorder), null);
    } catch (RuntimeException | StackOverflowError e) {
      return new Outcome(scenario, null, e);
    }
  }

  /** Runs the plan; {@code listener} hears each outcome as it comes (from one thread at a time). */
  public static Summary run(Plan plan, Consumer<Outcome> listener) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = plan.budget() == null ? Long.MAX_VALUE : start + plan.budget().toNanos();
    AtomicLong next = new AtomicLong(plan.firstSeed());
    AtomicLong cpuNanos = new AtomicLong();
    long end = plan.firstSeed() + plan.seeds();
    List<Outcome> outcomes = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(plan.threads(), r -> {
      Thread t = new Thread(r, "pbft-chaos-fuzz");
      t.setDaemon(true);
      return t;
    });
    for (int i = 0; i < plan.threads(); i++) {
      pool.execute(() -> {
        while (System.nanoTime() < deadline && !Thread.currentThread().isInterrupted()) {
          long seed = next.getAndIncrement();
          if (seed >= end) {
            return;
          }
          long cpuBefore = THREADS.getCurrentThreadCpuTime();
          Outcome o = runOne(seed, plan.options(), plan.customize());
          cpuNanos.addAndGet(THREADS.getCurrentThreadCpuTime() - cpuBefore);
          synchronized (outcomes) {
            outcomes.add(o);
            listener.accept(o);
          }
        }
      });
    }
    pool.shutdown();
    try {
      while (!pool.awaitTermination(1, TimeUnit.SECONDS)) {
        // waiting for the runs in progress (a budget stops new ones, not those)
      }
    } catch (InterruptedException e) {
      pool.shutdownNow();
      throw e;
    }
    long wallMs = (System.nanoTime() - start) / 1_000_000;
    synchronized (outcomes) {
      return summarize(outcomes, wallMs, cpuNanos.get() / 1_000_000);
    }
  }

  static Summary summarize(List<Outcome> outcomes, long wallMs, long cpuMs) {
    List<Outcome> failures = new ArrayList<>();
    long ops = 0;
    long virtualMs = 0;
    Set<String> behaviours = new TreeSet<>();
    Set<String> clientBehaviours = new TreeSet<>();
    int withByzantineClients = 0;
    Set<String> nemesis = new TreeSet<>();
    Set<Workload.Kind> workloads = new TreeSet<>();
    Map<String, Integer> kinds = new TreeMap<>();
    Map<Integer, Integer> sizes = new TreeMap<>();
    int withTraitors = 0;
    int beyondF = 0;
    long slowest = 0;
    double share = 0;
    for (Outcome o : outcomes) {
      Scenario s = o.scenario();
      behaviours.addAll(s.behaviours());
      clientBehaviours.addAll(s.clientBehaviours());
      withByzantineClients += s.clientBehaviours().isEmpty() ? 0 : 1;
      nemesis.addAll(s.nemesisKinds());
      workloads.add(s.workload());
      sizes.merge(s.replicas(), 1, Integer::sum);
      withTraitors += s.traitors().isEmpty() ? 0 : 1;
      beyondF += s.beyondF() ? 1 : 0;
      if (o.result() != null) {
        ops += o.result().opsCompleted();
        virtualMs += o.result().virtualDurationMs();
        slowest = Math.max(slowest, o.result().slowestAfterHealMs());
        if (o.result().livenessBoundMs() > 0) {
          share = Math.max(share, (double) o.result().slowestAfterHealMs() / o.result().livenessBoundMs());
        }
      }
      if (o.failed()) {
        failures.add(o);
        kinds.merge(kindOf(o.firstProblem()), 1, Integer::sum);
      }
    }
    failures.sort(Comparator.comparingLong(o -> o.scenario().seed()));
    return new Summary(outcomes.size(), List.copyOf(failures), wallMs, ops, virtualMs, behaviours, nemesis,
        workloads, kinds, sizes, withTraitors, beyondF, slowest, share, cpuMs, clientBehaviours, withByzantineClients);
  }

  /** "agreement", "liveness", ...: the word before the colon of "at 123 ms: agreement: ...". */
  static String kindOf(String problem) {
    String p = problem.startsWith("at ") && problem.contains(" ms: ") ? problem.substring(problem.indexOf(" ms: ") + 5)
        : problem;
    int colon = p.indexOf(':');
    String kind = colon < 0 ? p : p.substring(0, colon);
    return kind.startsWith("replica ") ? "replica failed" : kind;
  }
}

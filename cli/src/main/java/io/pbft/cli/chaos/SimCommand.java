package io.pbft.cli.chaos;

import ch.qos.logback.classic.Level;
import io.pbft.chaos.fuzz.FuzzReport;
import io.pbft.chaos.fuzz.FuzzRunner;
import io.pbft.chaos.fuzz.Scenario;
import io.pbft.chaos.fuzz.ScenarioOptions;
import io.pbft.chaos.fuzz.Shrinker;
import io.pbft.chaos.sim.ClientBehaviours;
import io.pbft.chaos.sim.SimRecorder;
import io.pbft.chaos.sim.SpaceTimeDiagram;
import io.pbft.config.Authentication;
import java.util.Arrays;
import io.pbft.chaos.fuzz.Scenarios;
import io.pbft.chaos.script.ScriptExport;
import io.pbft.chaos.script.ScriptRunner;
import io.pbft.chaos.sim.Workload;
import io.pbft.chaos.traitor.Traitors;
import io.pbft.cli.CliException;
import io.pbft.cli.Logging;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pbft chaos sim}: runs the deterministic simulator. With {@code --seed S}, one run,
 * described in full; with {@code --seeds N}, N consecutive seeds (bounded by {@code --minutes}),
 * each failing one printed with the command that replays it and the trace around its violation,
 * then a summary. Whatever the options leave open is drawn from each seed.
 */
@Command(name = "sim", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Run simulated PBFT groups with traitors and faults, and check every run.",
        "Checks: agreement on every batch, exactly-once, validity, equal checkpoint digests, no equivocation by"
            + " correct replicas, linearizability of what clients saw, the bank's total, liveness within a bound"
            + " once faults heal, convergence of views and states.",
        "Exit code 0: no violation; 1: violations found (each printed with its replay command)."},
    footer = {"", "Examples:",
        "  pbft chaos sim --seed 7 --replicas 4 --traitors 1 --behaviour equivocating-primary --ops 10000",
        "  pbft chaos sim --seeds 10000 --minutes 30",
        "  pbft chaos sim --seeds 20 --replicas 4 --behaviour collusion   (f + 1 traitors: must find violations)",
        "  pbft chaos sim --seed 7 --ops 40 --script seed-7.txt   (then: pbft chaos replay seed-7.txt)",
        "  pbft chaos sim --seeds 50 --client-behaviour replayer,equivocating-client",
        "  pbft chaos behaviours"})
final class SimCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  Which which = new Which();

  static final class Which {
    @Option(names = "--seed", paramLabel = "S", description = "Run this one seed and describe it in full.")
    Long seed;

    @Option(names = "--seeds", paramLabel = "N", description = "Run N consecutive seeds (default: 100).")
    Long seeds;
  }

  @Option(names = "--first-seed", paramLabel = "S",
      description = "With --seeds: the first seed (default: drawn at random and printed).")
  Long firstSeed;

  @Option(names = "--minutes", paramLabel = "M", description = "With --seeds: stop starting new seeds after M minutes.")
  Double minutes;

  @Option(names = "--threads", paramLabel = "T", description = "Simulations run at once (default: one per core).")
  Integer threads;

  @Option(names = "--replicas", paramLabel = "N", description = "Group size (default: 4 or 7, drawn per seed).")
  Integer replicas;

  @Option(names = "--traitors", paramLabel = "K",
      description = "Traitor replicas (default: 0..f, drawn per seed; more than f is allowed, to see what breaks).")
  Integer traitors;

  @Option(names = {"--behaviour", "--behavior"}, paramLabel = "NAME",
      description = "The traitors' behaviour, or several joined with '+', or 'collusion' (default: a random mix per"
          + " traitor; see pbft chaos behaviours).")
  String behaviour;

  @Option(names = "--traitor-ids", paramLabel = "I,J", split = ",",
      description = "Which replicas are the traitors (default: where the behaviour does the most harm).")
  List<Integer> traitorIds;

  @Option(names = "--ops", paramLabel = "N",
      description = "Client operations per run, shared by the clients (default: " + Scenarios.DEFAULT_OPS + ").")
  Integer ops;

  @Option(names = "--clients", paramLabel = "N", description = "Closed-loop clients (default: 4..10, drawn per seed).")
  Integer clients;

  @Option(names = "--workload", paramLabel = "W",
      description = "kv (own keys per client), kv-shared or bank (default: drawn per seed).")
  String workload;

  @Option(names = "--nemesis", negatable = true,
      description = "Network and process faults: loss, delay, reordering, duplication, partitions, pauses, crashes,"
          + " restarts from disk, clock skew (default: drawn per seed, on in 4 runs of 5).")
  Boolean nemesis;

  @Option(names = "--authentication", paramLabel = "MODE",
      description = "How clients authenticate requests: macs or signatures (default: drawn per seed, even odds).")
  String authentication;

  @Option(names = "--mac-votes",
      description = {"With signed requests, PREPAREs and COMMITs carry pair MACs and the view change is the MAC view",
          "change, as a replica process runs authentication: signatures by default; without it the simulator signs",
          "them (seeds keep their runs). No effect on MAC-mode seeds; add it to the replay commands printed."})
  boolean macVotes;

  @Option(names = "--crypto", paramLabel = "MODE",
      description = {"real (Ed25519) or fast (a keyed hash under each identity's secret, binding signer and content",
          "as a signature does, at a fraction of the CPU). Default: fast, but real for every seed divisible by 10."})
  String crypto;

  @Option(names = {"--client-behaviour", "--client-behavior"}, paramLabel = "NAME[,NAME]", split = ",",
      description = {"Byzantine clients among the honest ones, one per name (flooder, equivocating-client,",
          "max-timestamp, replayer, partial-authenticator; see pbft chaos behaviours), or 'none'.",
          "Default: drawn per seed, one or two in one seed of " + Scenarios.BYZANTINE_CLIENTS_EVERY + "."})
  List<String> clientBehaviours;

  @Option(names = "--script", paramLabel = "FILE",
      description = "With --seed: also write the run as a script (every core's inputs, in order, at its clock), which"
          + " pbft chaos replay FILE runs again.")
  Path script;

  @Option(names = "--html", paramLabel = "FILE",
      description = {"With --seed: also write a space-time diagram of the run (replicas and clients as lanes, messages as",
          "arrows, view changes marked, the violation highlighted; filterable by kind, sequence number and time)",
          "as one HTML file to open in a browser."})
  Path html;

  @Option(names = "--shrink", paramLabel = "FILE",
      description = {"With --seed of a failing run: reduce it (real crypto and signed requests if it still fails, half",
          "the operations and clients while it does, each fault left out in turn) and write the smallest run that fails",
          "the same way as a script (pbft chaos replay FILE)."})
  Path shrink;

  @Option(names = "--show", paramLabel = "N", defaultValue = "20",
      description = "With --seeds: failing seeds printed in full at most (default: ${DEFAULT-VALUE}); the rest by seed.")
  int show;

  @Override
  public Integer call() throws InterruptedException {
    quietCores();
    ScenarioOptions options = options();
    if (which.seed != null) {
      if (shrink != null) {
        return shrunk(which.seed, options);
      }
      return script != null ? exported(which.seed, options) : single(which.seed, options);
    }
    if (shrink != null) {
      throw CliException.usage("--shrink needs --seed: one failing run is shrunk at a time");
    }
    if (script != null) {
      throw CliException.usage("--script needs --seed: one run is saved at a time");
    }
    if (html != null) {
      throw CliException.usage("--html needs --seed: one run is drawn at a time");
    }
    return many(options);
  }

  /** The cores log every view change at INFO; a simulation makes thousands. */
  private static void quietCores() {
    if (Logging.explicitLevel() == null
        && LoggerFactory.getLogger("io.pbft.replica") instanceof ch.qos.logback.classic.Logger l) {
      l.setLevel(Level.WARN);
    }
  }

  private ScenarioOptions options() {
    if (replicas != null && (replicas < 4 || replicas > 31)) {
      throw CliException.usage("--replicas must be between 4 and 31, got " + replicas);
    }
    if (traitors != null && (traitors < 0 || (replicas != null && traitors > replicas))) {
      throw CliException.usage("--traitors must be between 0 and the number of replicas, got " + traitors);
    }
    if (ops != null && ops < 1) {
      throw CliException.usage("--ops must be at least 1, got " + ops);
    }
    if (clients != null && clients < 1) {
      throw CliException.usage("--clients must be at least 1, got " + clients);
    }
    if (behaviour != null && !behaviour.equals(Scenarios.COLLUSION)) {
      try {
        Traitors.parts(behaviour);
      } catch (IllegalArgumentException e) {
        throw CliException.usage("--behaviour: " + e.getMessage());
      }
    }
    if (traitorIds != null && traitors != null && traitorIds.size() != traitors) {
      throw CliException.usage("--traitor-ids names " + traitorIds.size() + " replicas for --traitors " + traitors);
    }
    Integer traitorCount = traitors != null ? traitors : traitorIds != null ? traitorIds.size() : null;
    Workload.Kind kind = null;
    if (workload != null) {
      try {
        kind = Workload.Kind.parse(workload);
      } catch (IllegalArgumentException e) {
        throw CliException.usage("--workload must be kv, kv-shared or bank, got " + workload);
      }
    }
    Authentication auth = null;
    if (authentication != null) {
      auth = Arrays.stream(Authentication.values()).filter(a -> a.yamlName().equals(authentication)).findFirst()
          .orElseThrow(() -> CliException.usage("--authentication must be macs or signatures, got " + authentication));
    }
    if (crypto != null && !crypto.equals("real") && !crypto.equals("fast")) {
      throw CliException.usage("--crypto must be real or fast, got " + crypto);
    }
    return new ScenarioOptions(replicas, traitorCount, behaviour, traitorIds, ops, clients, kind, nemesis, auth,
        crypto == null ? null : crypto.equals("fast"), byzantineClients());
  }

  /** The Byzantine clients --client-behaviour fixes: null (drawn) when not given, none for 'none'. */
  private List<String> byzantineClients() {
    if (clientBehaviours == null) {
      return null;
    }
    if (clientBehaviours.equals(List.of(ScenarioOptions.NO_CLIENT_BEHAVIOUR))) {
      return List.of();
    }
    for (String name : clientBehaviours) {
      try {
        ClientBehaviours.check(name);
      } catch (IllegalArgumentException e) {
        throw CliException.usage("--client-behaviour: " + e.getMessage() + " (or none)");
      }
    }
    return List.copyOf(clientBehaviours);
  }

  private int single(long seed, ScenarioOptions options) {
    PrintWriter out = spec.commandLine().getOut();
    FuzzRunner.Outcome o;
    SpaceTimeDiagram diagram = new SpaceTimeDiagram();
    try {
      o = FuzzRunner.runOne(seed, options, b -> b.macVotes(macVotes), html == null ? SimRecorder.NONE : diagram);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    out.print(FuzzReport.single(o));
    if (html != null && o.result() != null) {
      try {
        Files.writeString(html, diagram.html(o.scenario().config().build(), o.result(),
            o.scenario().replayCommand() + (o.failed() ? ": FAILED" : ": ok")), StandardCharsets.UTF_8);
      } catch (IOException x) {
        throw CliException.failed("cannot write " + html + ": " + x.getMessage());
      }
      out.println("diagram:  " + html.toAbsolutePath());
    }
    if (o.scenario().beyondF()) {
      out.println("note: " + o.scenario().traitors().size() + " traitors is more than f = " + o.scenario().f()
          + ": PBFT promises nothing here, and the checkers are expected to find violations");
    }
    out.flush();
    return o.failed() ? CliException.FAILED : 0;
  }

  /** A failing seed reduced, and written as a script. */
  private int shrunk(long seed, ScenarioOptions options) {
    PrintWriter out = spec.commandLine().getOut();
    Shrinker.Shrunk s;
    try {
      s = new Shrinker(200, b -> { }, ScriptRunner.paper()).shrink(seed, options);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    out.printf("shrunk seed %d in %d runs:%n", seed, s.runs());
    if (s.steps().isEmpty()) {
      out.println("  nothing could be left out");
    }
    s.steps().forEach(step -> out.println("  " + step));
    out.println("violation: " + s.violation());
    if (s.script() == null) {
      out.println("it fails only with fast crypto or MACs, or with an equivocating client, which scripts do not replay:"
          + " no script written");
      out.flush();
      return CliException.FAILED;
    }
    try {
      Files.writeString(shrink, s.script(), StandardCharsets.UTF_8);
    } catch (IOException x) {
      throw CliException.failed("cannot write " + shrink + ": " + x.getMessage());
    }
    out.println("script:    " + shrink.toAbsolutePath() + " (pbft chaos replay " + shrink + ")");
    out.flush();
    return 0;
  }

  /** One seed's run, saved as a script as it runs. */
  private int exported(long seed, ScenarioOptions drawn) {
    PrintWriter out = spec.commandLine().getOut();
    if (Boolean.TRUE.equals(drawn.fastCrypto()) || drawn.authentication() == Authentication.MACS || macVotes) {
      throw CliException.usage("--script replays runs with real Ed25519 signatures, signed requests and signed votes: "
          + "leave out --crypto fast, --authentication macs and --mac-votes");
    }
    ScenarioOptions options = drawn.withFastCrypto(false).withAuthentication(Authentication.SIGNATURES);
    Scenario scenario;
    try {
      scenario = Scenarios.draw(seed, options);
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    if (!ClientBehaviours.scriptable(scenario.clientBehaviours())) {
      throw CliException.usage("--script: a script holds one signed operation per client and timestamp and runs its"
          + " replicas without a membership, and this run has an equivocating client or the administrator ("
          + scenario.clientBehaviours() + "): leave it out with --client-behaviour");
    }
    ScriptExport.Exported e = ScriptExport.export(scenario.config().build(), ScriptRunner.paper());
    try {
      Files.writeString(script, e.script(), StandardCharsets.UTF_8);
    } catch (IOException x) {
      throw CliException.failed("cannot write " + script + ": " + x.getMessage());
    }
    FuzzRunner.Outcome o = new FuzzRunner.Outcome(scenario, e.result(), null);
    out.print(FuzzReport.single(o));
    out.println("script: " + script + " (" + e.script().lines().count() + " lines); replay it with: pbft chaos replay "
        + script);
    out.flush();
    return o.failed() ? CliException.FAILED : 0;
  }

  private int many(ScenarioOptions options) throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long count = which.seeds != null ? which.seeds : 100;
    if (count < 1) {
      throw CliException.usage("--seeds must be at least 1, got " + count);
    }
    long first = firstSeed != null ? firstSeed : ThreadLocalRandom.current().nextLong(1, 1L << 40);
    int workers = threads != null ? threads : Runtime.getRuntime().availableProcessors();
    if (workers < 1) {
      throw CliException.usage("--threads must be at least 1, got " + workers);
    }
    Duration budget = minutes == null ? null : Duration.ofMillis((long) (minutes * 60_000));
    try {
      Scenarios.draw(first, options); // bad combinations fail here, once, as a usage error
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    err.printf("running seeds %d..%d on %d threads%s%s%n", first, first + count - 1, workers,
        budget == null ? "" : String.format(" for at most %.1f minutes", minutes),
        macVotes ? "; signed requests with MAC'd votes (add --mac-votes to each replay)" : "");
    err.flush();
    AtomicLong done = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    long started = System.nanoTime();
    FuzzRunner.Summary summary = FuzzRunner.run(new FuzzRunner.Plan(first, count, budget, workers, options,
        b -> b.macVotes(macVotes)),
        o -> {
          long d = done.incrementAndGet();
          if (o.failed()) {
            if (failed.incrementAndGet() <= show) {
              out.print(FuzzReport.failure(o));
            } else {
              out.println("FAIL seed " + o.scenario().seed() + ": " + o.firstProblem());
              out.println("  replay:   " + o.scenario().replayCommand());
            }
            out.flush();
          }
          if (d % 25 == 0) {
            double s = (System.nanoTime() - started) / 1e9;
            err.printf("%d runs, %d with violations, %.0f s%n", d, failed.get(), s);
            err.flush();
          }
        });
    out.println();
    out.print(FuzzReport.summary(summary));
    out.flush();
    return summary.failures().isEmpty() ? 0 : CliException.FAILED;
  }
}

package io.pbft.chaos.script;

import io.pbft.config.Authentication;
import io.pbft.chaos.sim.SimRecorder;
import io.pbft.chaos.sim.Simulation;
import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.chaos.sim.SimulationResult;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.Setting;
import io.pbft.crypto.Digests;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.StringJoiner;

/**
 * Writes a simulator run out as a script: every input each correct replica's core got, in the order
 * the run fed them, each at the receiving replica's own (possibly skewed) clock. Replaying it
 * rebuilds the run core by core: the same keys ({@code keys=SEED}), the same signed request
 * bytes, the same deliveries in the same order, the same clocks. A message of a correct replica is
 * named by its id and delivered from the script's own queue (the replayed replica sends the same
 * bytes: signatures are deterministic); a message a traitor (or twin) sent is injected as the
 * recorded signed bytes. Traitors' cores are not run in the replay: only what they sent matters.
 */
public final class ScriptExport implements SimRecorder {
  /** A run and its script (with the outputs of one replay filled in). */
  public record Exported(SimulationResult result, String script) {}

  private final SimulationConfig config;
  private final Set<Integer> faulty;
  private final StringBuilder commands = new StringBuilder();
  private final Set<Integer> restartedOnes = new java.util.TreeSet<>();

  private ScriptExport(SimulationConfig config) {
    this.config = config;
    this.faulty = config.faultyReplicas();
  }

  /**
   * Runs {@code config} recording every core's inputs, writes them as a script, and replays it once
   * with {@code runner} (whose cores must be built as the run's were) to fill in the outputs.
   */
  public static Exported export(SimulationConfig config, ScriptRunner runner) {
    // A script's clients send ordered requests only: the run's reads are ordered too.
    config = config.toBuilder().readOnlyReads(false).build();
    if (config.fastCrypto() || config.peerMacs()) {
      // A script's replicas sign with the seed's Ed25519 keys and verify signed requests: a run
      // with fast crypto or MACs (on requests or votes) would replay as messages nobody accepts.
      throw new IllegalArgumentException("a script replays runs with real Ed25519 signatures and signed requests"
          + " (--crypto real --authentication signatures); this run has "
          + (config.fastCrypto() ? "fast crypto" : config.authentication() == Authentication.MACS ? "MACs" : "MAC'd votes"));
    }
    ScriptExport recorder = new ScriptExport(config);
    SimulationResult result = Simulation.run(config, recorder);
    String text = recorder.header(result) + recorder.commands + "\nstatus\n\ncheck\n";
    ScriptRunner.Result replayed = runner.run(ScriptFile.parse("seed-" + config.seed() + ".txt", text));
    return new Exported(result, replayed.rewritten());
  }

  private String header(SimulationResult result) {
    StringBuilder b = new StringBuilder();
    b.append("# The simulator run of seed ").append(config.seed()).append(" (").append(config.workload().label())
        .append(", ").append(config.faults()).append("), exported as a script:\n");
    b.append("# each correct replica's inputs in the order the run fed them, at the replica's own clock.\n");
    if (!faulty.isEmpty()) {
      b.append("# Traitors ").append(faulty).append(" are not run: what they sent is injected as recorded.\n");
    }
    b.append(result.violations().isEmpty() ? "# The run found no violation.\n"
        : "# The run's first violation: " + result.violations().get(0) + "\n");
    StringJoiner cluster = new StringJoiner(" ");
    cluster.add("cluster").add("n=" + config.replicas()).add("clients=" + config.allClients())
        .add("keys=" + config.seed()).add("app=" + config.workload().label())
        .add("keys-per-client=" + config.keysPerClient());
    StringJoiner durable = new StringJoiner(",");
    for (int i = 0; i < config.replicas(); i++) {
      // A replica keeps a disk in the run if all do or a fault restarts it; one that never
      // restarted behaves the same without (its disk is never read).
      if (config.durable() || restartedOnes.contains(i)) {
        durable.add(String.valueOf(i));
      }
    }
    if (durable.length() > 0) {
      cluster.add("durable=" + durable);
    }
    if (!faulty.isEmpty()) {
      StringJoiner t = new StringJoiner(",");
      faulty.forEach(i -> t.add(String.valueOf(i)));
      cluster.add("traitors=" + t);
    }
    ProtocolSettings p = config.protocol();
    for (Setting s : ProtocolSettings.GROUP.settings()) {
      cluster.add(s.name() + "=" + p.get(s));
    }
    return b.append(cluster).append("\n\n").toString();
  }

  private void command(String line) {
    commands.append(line).append('\n');
  }

  @Override
  public void delivered(int from, int to, long localMs, SignedMessage message) {
    if (faulty.contains(to)) {
      return;
    }
    if (faulty.contains(from)) {
      command("inject r" + from + "->r" + to + " @" + localMs + " hex:" + Digests.hex(message.toByteArray()));
      return;
    }
    var body = Describe.parse(message);
    String kind = body == null ? "" : " " + body.getBodyCase().name().toLowerCase(Locale.ROOT).replace('_', '-')
        .replace("forwarded-request", "forwarded");
    command("deliver " + from + "->" + to + kind + " id=" + InFlight.id(message) + " @" + localMs);
  }

  @Override
  public void request(int client, int to, long localMs, SignedRequest request) {
    if (faulty.contains(to)) {
      return;
    }
    Request q = Describe.requestOf(request);
    if (q == null || q.getClientId() != client) {
      throw new IllegalStateException("a request that is not client " + client + "'s own cannot be exported");
    }
    String op = Ops.describe(q.getOperation().toByteArray());
    byte[] again = Request.newBuilder().setClientId(client).setTimestamp(q.getTimestamp())
        .setOperation(q.getOperation()).build().toByteArray();
    if (!Arrays.equals(again, request.getRequest().toByteArray())) {
      throw new IllegalStateException("c" + client + ":t" + q.getTimestamp() + " does not encode as a script signs it");
    }
    command("request c=" + client + " t=" + q.getTimestamp() + " op=" + op + " to=" + to + " @" + localMs);
  }

  @Override
  public void tick(int replica, long localMs) {
    if (!faulty.contains(replica)) {
      command("tick r" + replica + " @" + localMs);
    }
  }

  @Override
  public void crashed(int replica) {
    if (!faulty.contains(replica)) {
      command("crash " + replica);
    }
  }

  @Override
  public void resumed(int replica) {
    if (!faulty.contains(replica)) {
      command("resume " + replica);
    }
  }

  @Override
  public void restarted(int replica, long localMs) {
    if (!faulty.contains(replica)) {
      restartedOnes.add(replica);
      command("restart " + replica + " @" + localMs);
    }
  }
}

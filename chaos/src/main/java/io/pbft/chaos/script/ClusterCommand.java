package io.pbft.chaos.script;

import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.chaos.sim.Workload;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.Setting;
import io.pbft.replica.app.StateMachine;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * {@code cluster n=4 [clients=2] [keys=SEED] [durable | durable=1,3] [traitors=3] [app=kv]
 * [window=8 checkpoint=4 batch=10 pipeline=4 timeout=1000 chunk=512] [anyProtocolSetting=V]}:
 * a new group. f is derived from n; the keys are those the simulation of seed SEED draws.
 */
final class ClusterCommand {
  /** Short names for the settings scenarios change most. */
  private static final Map<String, Setting> ALIASES = Map.of(
      "window", ProtocolSettings.WINDOW_SIZE,
      "checkpoint", ProtocolSettings.CHECKPOINT_INTERVAL,
      "batch", ProtocolSettings.BATCH_SIZE_MAX,
      "pipeline", ProtocolSettings.PIPELINE_DEPTH_MAX,
      "timeout", ProtocolSettings.VIEW_CHANGE_TIMEOUT_MS,
      "chunk", ProtocolSettings.STATE_CHUNK_BYTES_MAX);
  private static final Set<String> OWN = Set.of("n", "clients", "keys", "durable", "traitors", "app",
      "keys-per-client");

  private ClusterCommand() {}

  /**
   * A script's defaults: a small window and checkpoint interval, so a few requests cross them, and
   * no request-timer warm-up (a script's cores are never a cold JVM, and its ticks count in
   * viewChangeTimeoutMs).
   */
  static ProtocolSettings.Builder defaults() {
    return ProtocolSettings.newBuilder().windowSize(8).checkpointInterval(4).batchSizeMax(10).pipelineDepthMax(4)
        .viewChangeTimeoutMs(1000).stateChunkBytesMax(512).requestTimerWarmUpBatches(0);
  }

  static ScriptCluster.Setup parse(Command c) {
    int n = (int) Command.parseLong("n", c.required("n"));
    if (n < 1 || n > 64) {
      throw new ScriptError("n must be between 1 and 64");
    }
    int clients = (int) c.longOption("clients", 2);
    long keySeed = c.longOption("keys", 1);
    ProtocolSettings.Builder b = defaults();
    for (Map.Entry<String, String> o : c.options().entrySet()) {
      if (OWN.contains(o.getKey())) {
        continue;
      }
      Setting s = ALIASES.getOrDefault(o.getKey(), ProtocolSettings.GROUP.find(o.getKey()));
      if (s == null) {
        throw new ScriptError("cluster: unknown option " + o.getKey());
      }
      b.set(s, (int) Command.parseLong(o.getKey(), o.getValue()));
    }
    ProtocolSettings settings;
    try {
      settings = b.build();
    } catch (IllegalArgumentException e) {
      throw new ScriptError("cluster: " + e.getMessage());
    }
    Set<Integer> durable = c.words().contains("durable") ? all(n) : ids(c.option("durable", ""));
    Set<Integer> traitors = ids(c.option("traitors", ""));
    return new ScriptCluster.Setup(n, clients, keySeed, settings, durable, traitors,
        apps(c.option("app", "kv"), (int) c.longOption("keys-per-client", 4)));
  }

  private static Supplier<StateMachine> apps(String name, int keysPerClient) {
    Workload.Kind kind;
    try {
      kind = Workload.Kind.parse(name);
    } catch (IllegalArgumentException e) {
      throw new ScriptError("cluster: app must be kv, kv-shared or bank, got " + name);
    }
    Workload w = Workload.create(kind, SimulationConfig.builder().keysPerClient(keysPerClient).build());
    return w::newStateMachine;
  }

  private static Set<Integer> all(int n) {
    Set<Integer> s = new TreeSet<>();
    for (int i = 0; i < n; i++) {
      s.add(i);
    }
    return s;
  }

  private static Set<Integer> ids(String list) {
    Set<Integer> s = new TreeSet<>();
    for (String part : list.split(",")) {
      if (!part.isBlank()) {
        s.add(Command.replica(part.strip()));
      }
    }
    return s;
  }

  /** What the new cluster is, in two lines. */
  static void describe(ScriptCluster.Setup s, Output out) {
    int f = (s.n() - 1) / 3;
    ProtocolSettings p = s.settings();
    out.line("n=" + s.n() + " f=" + f + " clients=" + s.clients() + " keys=" + s.keySeed()
        + (s.durable().isEmpty() ? "" : " durable=" + s.durable()) + (s.traitors().isEmpty() ? "" : " traitors="
        + s.traitors()));
    out.line("window=" + p.windowSize() + " checkpoint=" + p.checkpointInterval() + " batch=" + p.batchSizeMax()
        + " pipeline=" + p.pipelineDepthMax() + " timeout=" + p.viewChangeTimeoutMs() + " chunk="
        + p.stateChunkBytesMax());
  }
}

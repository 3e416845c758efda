package io.pbft.chaos.script;

import io.pbft.chaos.sim.SimDisk;
import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.Reply;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.core.Effects;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.execution.Execution;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.node.EffectApplier;
import io.pbft.replica.node.InlineReplica;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntPredicate;
import java.util.function.Supplier;

/**
 * One replica of a script: a core and its executor in an {@link InlineReplica}, with its own clock,
 * up or down, and a simulated disk when durable (restarting builds a new core that recovers from
 * it, as {@code SimReplica} does). Everything an input causes is printed: messages sent (into the
 * script's in-flight queue), batches executed, replies, rejections, and changes of view, stable
 * checkpoint and state transfer.
 */
final class ScriptReplica {
  /** Where messages and replies go. */
  interface Wiring {
    void send(int from, Effects.Outgoing message);

    void reply(int from, int client, Reply reply);
  }

  private record Snapshot(long view, boolean changing, long h, boolean fetching, long transfers, long executed,
      Map<String, Long> rejections) {}

  private final int id;
  private final int n;
  private final int f;
  private final ProtocolSettings settings;
  private final Ed25519Keys keys;
  private final IntPredicate knownClient;
  private final SimulationConfig.CoreFactory cores;
  private final Supplier<StateMachine> apps;
  private final SimDisk disk;
  private final boolean traitor;
  private final Output out;
  private final Wiring wiring;
  private final Agreement agreement;
  private final List<String> failures = new ArrayList<>();
  private InlineReplica replica;
  private long clock;
  private boolean down;

  ScriptReplica(int id, int n, int f, ProtocolSettings settings, Ed25519Keys keys, IntPredicate knownClient,
      SimulationConfig.CoreFactory cores, Supplier<StateMachine> apps, boolean durable, boolean traitor, Output out,
      Wiring wiring, Agreement agreement) {
    this.id = id;
    this.n = n;
    this.f = f;
    this.settings = settings;
    this.keys = keys;
    this.knownClient = knownClient;
    this.cores = cores;
    this.apps = apps;
    this.disk = durable ? new SimDisk() : null;
    this.traitor = traitor;
    this.out = out;
    this.wiring = wiring;
    this.agreement = agreement;
    build(apps.get());
  }

  private void build(StateMachine app) {
    ReplicaCore core = cores.create(id, n, f, settings, keys, knownClient);
    core.checkEverythingAfterEachEvent();
    if (disk != null) {
      disk.attach(app);
      core.enableDurability();
    }
    EffectApplier.Transport transport = new EffectApplier.Transport() {
      @Override
      public void send(Effects.Outgoing message) {
        wiring.send(id, message);
      }

      @Override
      public void sendLater(Effects.Outgoing message, long delayMs) {
        wiring.send(id, message); // a script has no network delays: its deliveries order everything
      }
    };
    replica = new InlineReplica(core, new Execution(app, disk != null ? disk : CheckpointStore.NONE),
        disk != null ? disk : EffectApplier.Storage.NONE, Behaviour.HONEST, Behaviour.Signing.of(id, keys), transport,
        (client, reply) -> wiring.reply(id, client, reply));
    replica.observeApplication(this::observe);
  }

  private void observe(Effects effects) {
    for (Effects.Execute e : effects.executions()) {
      List<SignedRequest> batch = new ArrayList<>();
      e.requests().forEach(r -> batch.add(r.signed()));
      out.line("r" + id + " executed n=" + e.sequence() + " v=" + e.view() + " " + Describe.batch(batch));
      agreement.executed(id, e);
    }
    if (effects.install() != null) {
      out.line("r" + id + " checks the fetched state of checkpoint " + effects.install().sequence() + " ("
          + effects.install().state().length + " bytes)");
    }
  }

  int id() {
    return id;
  }

  ReplicaCore core() {
    return replica.core();
  }

  Execution execution() {
    return replica.execution();
  }

  boolean traitor() {
    return traitor;
  }

  boolean durable() {
    return disk != null;
  }

  boolean down() {
    return down;
  }

  void down(boolean d) {
    down = d;
  }

  long clock() {
    return clock;
  }

  /** Sets this replica's clock (it never goes back: the core keeps the latest time it saw). */
  void clock(long ms) {
    clock = ms;
  }

  List<String> failures() {
    return failures;
  }

  /** Feeds one input to the core at this replica's clock and prints what followed. */
  void run(Consumer<ReplicaCore> event) {
    Snapshot before = snapshot();
    try {
      replica.run(clock, event);
    } catch (RuntimeException e) {
      String what = e.getClass().getSimpleName() + ": " + e.getMessage();
      failures.add(what);
      out.line("r" + id + " FAILED: " + what);
    }
    notes(before, snapshot());
  }

  /** A new process: a fresh application restored from the disk's checkpoint, a core recovering from its log. */
  void restartFromDisk() {
    if (disk == null) {
      throw new ScriptError("r" + id + " is not durable: it keeps no log to restart from (cluster ... durable)");
    }
    down = false;
    StateMachine app = apps.get();
    byte[] snapshot = disk.appSnapshot();
    if (snapshot != null) {
      app.restore(snapshot);
    }
    build(app);
    long appSequence = disk.checkpointSequence();
    if (appSequence > 0) {
      replica.execution().recoverAt(appSequence, disk.clientTable());
    }
    int records = disk.log().size();
    out.line("r" + id + " restarts: application at checkpoint " + appSequence + ", " + records + " log records");
    run(core -> core.recover(clock, appSequence, replica.execution().clientTable(), disk.log()));
  }

  private Snapshot snapshot() {
    ReplicaCore c = replica.core();
    return new Snapshot(c.view(), c.viewChanging(), c.lowWatermark(), c.fetchingState(), c.stateTransfers(),
        c.lastExecuted(), c.rejections().snapshot());
  }

  private void notes(Snapshot a, Snapshot b) {
    b.rejections().forEach((label, count) -> {
      long added = count - a.rejections().getOrDefault(label, 0L);
      if (added > 0) {
        out.line("r" + id + " rejected: " + label + (added > 1 ? " (x" + added + ")" : ""));
      }
    });
    if (a.view() != b.view() || a.changing() != b.changing()) {
      out.line("r" + id + (b.changing() ? " changes to view " + b.view() : " enters view " + b.view())
          + " (primary r" + (b.view() % n) + ")");
    }
    if (a.h() != b.h()) {
      out.line("r" + id + " checkpoint " + b.h() + " stable (window " + b.h() + ".." + (b.h() + settings.windowSize())
          + ")");
    }
    if (!a.fetching() && b.fetching()) {
      out.line("r" + id + " fetches state");
    }
    if (b.transfers() > a.transfers()) {
      out.line("r" + id + " installed the state of checkpoint " + b.executed());
    }
  }
}

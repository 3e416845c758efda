package io.pbft.chaos.script;

import io.pbft.proto.SignedRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * Commands that feed clients' requests and time to replicas, and stop and start them:
 * {@code request}, {@code tick}, {@code crash}, {@code resume}, {@code restart}.
 */
final class ReplicaCommands {
  private ReplicaCommands() {}

  /**
   * {@code request c=0 t=1 op=put(a,1) [to=0|*|1,2] [@T]}: client c signs request t (op may be left
   * out when it signed it before: a retransmission, the same bytes) and it reaches those replicas,
   * each at its own clock (or at T). Without {@code to} the client only signs it (for forged
   * pre-prepares to carry).
   */
  static void request(ScriptCluster cluster, Command c) {
    int client = (int) Command.parseLong("c", c.required("c"));
    long t = Command.parseLong("t", c.required("t"));
    String op = c.options().get("op");
    SignedRequest r = cluster.sign(client, t, op == null ? null : Ops.encode(op));
    if (!c.has("to")) {
      cluster.out.line("c" + client + " signed c" + client + ":t" + t);
      return;
    }
    for (ScriptReplica to : targets(cluster, c.required("to"))) {
      at(c, to);
      cluster.request(client, r, to);
    }
  }

  private static List<ScriptReplica> targets(ScriptCluster cluster, String to) {
    if (to.equals("*")) {
      return cluster.replicas;
    }
    List<ScriptReplica> out = new ArrayList<>();
    for (String id : to.split(",")) {
      out.add(cluster.replica(Command.replica(id)));
    }
    return out;
  }

  /** {@code @T}: sets the replica's clock before the input. */
  static void at(Command c, ScriptReplica r) {
    if (c.has("@")) {
      r.clock(Command.parseLong("@", c.options().get("@")));
    }
  }

  /**
   * {@code tick +MS} (every replica's clock moves on, ticking every {@link #TICK_MS} on the way),
   * {@code tick r2 +MS}, {@code tick r2 @T} (one tick at an absolute time of the replica's own
   * clock: a longer gap since its last tick is a stall of its own). Down replicas' clocks move but
   * they do not tick.
   */
  static void tick(ScriptCluster cluster, Command c) {
    String which = "*";
    Long delta = null;
    for (String w : c.words()) {
      if (w.startsWith("+")) {
        delta = Command.parseLong("tick", w.substring(1));
      } else {
        which = w;
      }
    }
    if (delta == null && !c.has("@")) {
      throw new ScriptError("tick needs +MS or @T");
    }
    if (delta == null) {
      for (ScriptReplica r : cluster.replicas(which)) {
        at(c, r);
      }
      for (ScriptReplica r : cluster.replicas(which)) {
        cluster.tick(r);
      }
      return;
    }
    // Time passes as it does for a running replica: a tick every TICK_MS (a replica that goes
    // without ticks for long takes it as a stall of its own); only ticks that did something print.
    for (long done = 0; done < delta; ) {
      long step = Math.min(TICK_MS, delta - done);
      done += step;
      for (ScriptReplica r : cluster.replicas(which)) {
        r.clock(r.clock() + step);
      }
      for (ScriptReplica r : cluster.replicas(which)) {
        cluster.tick(r);
      }
    }
  }

  /** How often a running replica ticks (the runtime's default transport.tickMs). */
  static final long TICK_MS = 20;

  /** {@code crash 3}: the replica stops; what is sent to it while it is down is lost. */
  static void crash(ScriptCluster cluster, Command c) {
    ScriptReplica r = one(cluster, c);
    r.down(true);
    cluster.out.line("r" + r.id() + " down");
  }

  /** {@code resume 3}: a crashed (paused) replica goes on with its memory. */
  static void resume(ScriptCluster cluster, Command c) {
    ScriptReplica r = one(cluster, c);
    r.down(false);
    cluster.out.line("r" + r.id() + " up");
  }

  /** {@code restart 3 [@T]}: a durable replica's new process recovers from its log and checkpoint. */
  static void restart(ScriptCluster cluster, Command c) {
    ScriptReplica r = one(cluster, c);
    at(c, r);
    r.restartFromDisk();
  }

  private static ScriptReplica one(ScriptCluster cluster, Command c) {
    if (c.words().size() != 1) {
      throw new ScriptError(c.name() + " takes one replica id");
    }
    return cluster.replica(Command.replica(c.words().get(0)));
  }
}

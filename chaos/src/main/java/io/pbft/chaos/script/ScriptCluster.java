package io.pbft.chaos.script;

import com.google.protobuf.ByteString;
import io.pbft.chaos.sim.ClusterKeys;
import io.pbft.chaos.sim.SimulationConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.core.Effects;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Rejections;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * The world a script runs in: n replicas with real keys, the inbound verifier in front of each,
 * the messages in flight between them, the requests clients signed and the replies they got. The
 * script is the network and the clock: nothing moves unless a command says so.
 */
final class ScriptCluster {
  /** What the {@code cluster} command fixed. */
  record Setup(int n, int clients, long keySeed, ProtocolSettings settings, Set<Integer> durable,
      Set<Integer> traitors, Supplier<StateMachine> apps) {}

  private record Key(int client, long timestamp) {}

  final Setup setup;
  final int f;
  final ClusterKeys keys;
  final InboundVerifier verifier;
  final Output out;
  final InFlight inFlight = new InFlight();
  final Agreement agreement = new Agreement();
  final List<ScriptReplica> replicas = new ArrayList<>();
  private final Map<Key, SignedRequest> signed = new HashMap<>();
  /** Per client, per timestamp, the last reply of each replica. */
  private final Map<Integer, TreeMap<Long, TreeMap<Integer, Reply>>> replies = new TreeMap<>();
  /** Per replica, what its verifier refused. */
  private final Map<Integer, Rejections> refused = new HashMap<>();

  ScriptCluster(Setup setup, SimulationConfig.CoreFactory cores, Output out) {
    this.setup = setup;
    this.f = (setup.n() - 1) / 3;
    this.out = out;
    this.keys = ClusterKeys.ofSimulationSeed(setup.keySeed(), setup.n(), setup.clients());
    this.verifier = new InboundVerifier(keys.config(f, setup.settings()));
    ScriptReplica.Wiring wiring = new ScriptReplica.Wiring() {
      @Override
      public void send(int from, Effects.Outgoing message) {
        sent(from, message);
      }

      @Override
      public void reply(int from, int client, Reply reply) {
        replied(from, client, reply);
      }
    };
    for (int i = 0; i < setup.n(); i++) {
      replicas.add(new ScriptReplica(i, setup.n(), f, setup.settings(), keys.replicas().get(i), verifier::knownClient,
          cores, setup.apps(), setup.durable().contains(i), setup.traitors().contains(i), out, wiring, agreement));
      refused.put(i, new Rejections());
    }
  }

  ScriptReplica replica(int id) {
    if (id < 0 || id >= replicas.size()) {
      throw new ScriptError("no replica r" + id + " (the cluster has r0..r" + (replicas.size() - 1) + ")");
    }
    return replicas.get(id);
  }

  /** The replicas a script names: one id, or {@code *} for all. */
  List<ScriptReplica> replicas(String which) {
    return which.equals("*") ? replicas : List.of(replica(Command.replica(which)));
  }

  Rejections refusedAt(int replica) {
    return refused.get(replica);
  }

  Set<Integer> traitors() {
    return setup.traitors();
  }

  private void sent(int from, Effects.Outgoing message) {
    SignedMessage m = message.message();
    String by = m.getSender() != from ? " (signed by r" + m.getSender() + ")" : "";
    if (message.broadcast()) {
      out.line("r" + from + "->* " + Describe.message(m) + by);
      for (int to = 0; to < setup.n(); to++) {
        if (to != from) {
          inFlight.add(from, to, m);
        }
      }
    } else {
      out.line("r" + from + "->r" + message.to() + " " + Describe.message(m) + by);
      if (message.to() >= 0 && message.to() < setup.n() && message.to() != from) {
        inFlight.add(from, message.to(), m);
      }
    }
  }

  private void replied(int from, int client, Reply reply) {
    out.line("r" + from + "->c" + client + " REPLY t=" + reply.getTimestamp() + " v=" + reply.getView() + " "
        + Describe.result(reply.getResult()));
    replies.computeIfAbsent(client, k -> new TreeMap<>()).computeIfAbsent(reply.getTimestamp(), k -> new TreeMap<>())
        .put(from, reply);
  }

  TreeMap<Long, TreeMap<Integer, Reply>> repliesTo(int client) {
    return replies.getOrDefault(client, new TreeMap<>());
  }

  /** Client {@code client} signs request {@code t} (the same bytes each time it is asked again). */
  SignedRequest sign(int client, long t, byte[] operation) {
    if (client < 0 || client >= keys.clients().size()) {
      throw new ScriptError("no client c" + client + " (the cluster has " + keys.clients().size() + ")");
    }
    Key key = new Key(client, t);
    SignedRequest before = signed.get(key);
    if (operation == null) {
      if (before == null) {
        throw new ScriptError("c" + client + ":t" + t + " was never signed: give op=");
      }
      return before;
    }
    byte[] request = Request.newBuilder().setClientId(client).setTimestamp(t)
        .setOperation(ByteString.copyFrom(operation)).build().toByteArray();
    SignedRequest r = SignedRequest.newBuilder().setRequest(ByteString.copyFrom(request))
        .setSignature(ByteString.copyFrom(keys.clients().get(client).sign(request))).build();
    if (before != null && !before.equals(r)) {
      throw new ScriptError("c" + client + ":t" + t + " was signed before with another operation");
    }
    signed.put(key, r);
    return r;
  }

  SignedRequest signedRequest(int client, long t) {
    SignedRequest r = signed.get(new Key(client, t));
    if (r == null) {
      throw new ScriptError("c" + client + ":t" + t + " was never signed (request c=" + client + " t=" + t + " op=..)");
    }
    return r;
  }

  /** A client's request reaches replica {@code to} through its verifier. */
  void request(int client, SignedRequest r, ScriptReplica to) {
    Request q = Describe.requestOf(r);
    String header = "c" + client + "->r" + to.id() + " REQUEST " + Describe.request(r)
        + (q == null ? "" : " " + Ops.describe(q.getOperation().toByteArray()));
    if (unreachable(to, header)) {
      return;
    }
    Verdict<VerifiedRequest> v = verifier.verify(r, client);
    out.under(header, () -> {
      if (!v.isOk()) {
        refused.get(to.id()).count(v.reason());
        out.line("refused by r" + to.id() + "'s verifier: " + v.reason().label());
      } else {
        to.run(core -> core.onRequest(to.clock(), v.value()));
      }
    });
  }

  /** Delivers a message in flight (or delivered before, again) to its receiver. */
  void deliver(InFlight.Entry e, boolean again) {
    inFlight.remove(e, true);
    deliverBytes(e.describe() + (again ? " (again)" : ""), e.signed(), replica(e.to()));
  }

  /** Delivers signed bytes to {@code to} through its verifier, under {@code header}. */
  void deliverBytes(String header, SignedMessage m, ScriptReplica to) {
    if (unreachable(to, header)) {
      return;
    }
    Verdict<VerifiedMessage> v = verifier.verify(m);
    out.under(header, () -> {
      if (!v.isOk()) {
        refused.get(to.id()).count(v.reason());
        out.line("refused by r" + to.id() + "'s verifier: " + v.reason().label());
      } else {
        to.run(core -> core.onMessage(to.clock(), v.value()));
      }
    });
  }

  private boolean unreachable(ScriptReplica to, String header) {
    if (to.traitor()) {
      out.line(header + " (r" + to.id() + " is a traitor: not run)");
      return true;
    }
    if (to.down()) {
      out.line(header + " (r" + to.id() + " is down: lost)");
      return true;
    }
    return false;
  }

  /** A replica's clock ticks (if it is up and not a traitor). */
  void tick(ScriptReplica r) {
    if (!r.down() && !r.traitor()) {
      out.underIfAny("r" + r.id() + " tick @" + r.clock(), () -> r.run(core -> core.tick(r.clock())));
    }
  }

  /** Replicas whose cores threw, and agreement. */
  List<String> problems() {
    List<String> problems = new ArrayList<>(agreement.violations(traitors()));
    for (ScriptReplica r : replicas) {
      if (!r.traitor()) {
        r.failures().forEach(x -> problems.add("r" + r.id() + " failed: " + x));
      }
    }
    return problems;
  }

  Set<Integer> ids() {
    Set<Integer> ids = new TreeSet<>();
    replicas.forEach(r -> ids.add(r.id()));
    return ids;
  }
}

package io.pbft.chaos.script;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.proto.Batch;
import io.pbft.proto.Commit;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * The script as the network: {@code deliver}, {@code drop}, {@code queue}; and as a Byzantine
 * replica: {@code forge} (a message signed with a replica's real key, put in flight) and
 * {@code inject} (recorded signed bytes, delivered at once).
 */
final class NetworkCommands {
  /** {@code deliver all} stops after this many deliveries (a script that never goes quiet). */
  static final int DELIVERIES_MAX = 10_000;

  private NetworkCommands() {}

  /**
   * {@code deliver SELECTOR}: every message in flight that matches, oldest first. {@code deliver
   * all [SELECTOR]}: one at a time, including what the deliveries cause, until none matches. A
   * selector with an id that matches nothing in flight delivers that message again.
   */
  static void deliver(ScriptCluster cluster, Command c) {
    List<String> words = new ArrayList<>(c.words());
    boolean repeat = words.remove("all");
    Selector s = Selector.parse(c, words);
    if (repeat) {
      int delivered = 0;
      while (true) {
        List<InFlight.Entry> next = cluster.inFlight.select(s);
        if (next.isEmpty()) {
          return;
        }
        if (++delivered > DELIVERIES_MAX) {
          cluster.out.line("stopped after " + DELIVERIES_MAX + " deliveries: the replicas never went quiet");
          return;
        }
        at(c, cluster, next.get(0));
        cluster.deliver(next.get(0), false);
      }
    }
    List<InFlight.Entry> chosen = cluster.inFlight.select(s);
    if (chosen.isEmpty()) {
      InFlight.Entry again = cluster.inFlight.selectDelivered(s);
      if (again == null) {
        throw new ScriptError("no message in flight matches");
      }
      at(c, cluster, again);
      cluster.deliver(again, true);
      return;
    }
    for (InFlight.Entry e : chosen) {
      at(c, cluster, e);
      cluster.deliver(e, false);
    }
  }

  private static void at(Command c, ScriptCluster cluster, InFlight.Entry e) {
    ReplicaCommands.at(c, cluster.replica(e.to()));
  }

  /** {@code drop SELECTOR}: the network loses every matching message in flight. */
  static void drop(ScriptCluster cluster, Command c) {
    List<InFlight.Entry> chosen = cluster.inFlight.select(Selector.parse(c, c.words()));
    if (chosen.isEmpty()) {
      throw new ScriptError("no message in flight matches");
    }
    for (InFlight.Entry e : chosen) {
      cluster.inFlight.remove(e, false);
      cluster.out.line("dropped " + e.describe());
    }
  }

  static void queue(ScriptCluster cluster) {
    List<String> lines = cluster.inFlight.describe();
    if (lines.isEmpty()) {
      cluster.out.line("(nothing in flight)");
    }
    lines.forEach(cluster.out::line);
  }

  /**
   * {@code inject 3->1 [@T] hex:SIGNED}: delivers the signed message bytes now, through the
   * verifier (what a traitor sent, as a simulator run recorded it).
   */
  static void inject(ScriptCluster cluster, Command c) {
    int from = -1;
    int to = -1;
    SignedMessage m = null;
    for (String w : c.words()) {
      if (w.contains("->")) {
        from = Command.replica(w.substring(0, w.indexOf("->")));
        to = Command.replica(w.substring(w.indexOf("->") + 2));
      } else if (w.startsWith("hex:")) {
        try {
          m = SignedMessage.parseFrom(Digests.fromHex(w.substring(4)));
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
          throw new ScriptError("inject: not a signed message: " + e.getMessage());
        }
      }
    }
    if (from < 0 || to < 0 || m == null) {
      throw new ScriptError("inject needs FROM->TO and hex:SIGNED-MESSAGE");
    }
    ScriptReplica receiver = cluster.replica(to);
    ReplicaCommands.at(c, receiver);
    String by = m.getSender() != from ? " (signed by r" + m.getSender() + ")" : "";
    cluster.deliverBytes("r" + from + "->r" + to + " " + Describe.message(m) + by + " (injected)", m, receiver);
  }

  /**
   * {@code forge 0->2 pre-prepare v=0 n=1 batch=c0:t1+c1:t1 [d=..]}, {@code forge 0->* prepare v=0
   * n=1 d=c0:t1}, {@code forge 1->0 commit v=0 n=1 d=null}: a message signed with replica 0's real
   * key, put in flight as if it had sent it (a Byzantine replica). A digest is written as the
   * batch it is the digest of, {@code null} (the empty batch) or 64 hex digits.
   */
  static void forge(ScriptCluster cluster, Command c) {
    if (c.words().size() != 2 || !c.words().get(0).contains("->")) {
      throw new ScriptError("forge FROM->TO KIND v= n= ...");
    }
    String route = c.words().get(0);
    int from = Command.replica(route.substring(0, route.indexOf("->")));
    String toWord = route.substring(route.indexOf("->") + 2);
    long v = Command.parseLong("v", c.required("v"));
    long n = Command.parseLong("n", c.required("n"));
    ReplicaMessage.Builder m = ReplicaMessage.newBuilder();
    switch (Selector.kind(c.words().get(1))) {
      case PRE_PREPARE -> {
        List<SignedRequest> batch = batch(cluster, c.required("batch"));
        // The proposed time: t=, or the forging replica's clock (at least 1, as a primary proposes).
        long t = c.has("t") ? Command.parseLong("t", c.options().get("t")) : Math.max(1, cluster.replica(from).clock());
        ByteString d = c.has("d") ? digest(cluster, c.options().get("d"))
            : ByteString.copyFrom(Digests.batchDigest(batch, t));
        m.setPrePrepare(PrePrepare.newBuilder().setView(v).setSequence(n).setDigest(d).setTimeMs(t)
            .setBatch(Batch.newBuilder().addAllRequests(batch)));
      }
      case PREPARE -> m.setPrepare(Prepare.newBuilder().setView(v).setSequence(n)
          .setDigest(digest(cluster, c.required("d"))).setReplicaId(from));
      case COMMIT -> m.setCommit(Commit.newBuilder().setView(v).setSequence(n)
          .setDigest(digest(cluster, c.required("d"))).setReplicaId(from));
      default -> throw new ScriptError("forge makes pre-prepare, prepare and commit messages");
    }
    byte[] payload = m.build().toByteArray();
    SignedMessage signed = SignedMessage.newBuilder().setSender(from).setPayload(ByteString.copyFrom(payload))
        .setSignature(ByteString.copyFrom(cluster.keys.replicas().get(cluster.replica(from).id()).sign(payload))).build();
    for (ScriptReplica to : cluster.replicas(toWord)) {
      if (to.id() != from) {
        cluster.inFlight.add(from, to.id(), signed);
      }
    }
    cluster.out.line("r" + from + "->" + (toWord.equals("*") ? "*" : "r" + Command.replica(toWord)) + " "
        + Describe.message(signed) + " (forged)");
  }

  /** "c0:t1+c1:t1" (requests signed before), or empty: the null request. */
  private static List<SignedRequest> batch(ScriptCluster cluster, String spec) {
    List<SignedRequest> out = new ArrayList<>();
    if (spec.isEmpty() || spec.equals("null")) {
      return out;
    }
    for (String part : spec.split("\\+")) {
      String[] ct = part.split(":");
      if (ct.length != 2 || !ct[0].startsWith("c") || !ct[1].startsWith("t")) {
        throw new ScriptError("a batch is written c0:t1+c1:t1, got " + spec);
      }
      out.add(cluster.signedRequest((int) Command.parseLong("c", ct[0].substring(1)),
          Command.parseLong("t", ct[1].substring(1))));
    }
    return out;
  }

  /**
   * A digest given in full hex, or as a batch ({@code c0:t1+c1:t1}) proposed at time 1 (what a
   * primary whose clock starts at 0 proposes first), or at time T as {@code c0:t1@T}; {@code null}
   * is the null batch's (time 0).
   */
  private static ByteString digest(ScriptCluster cluster, String spec) {
    if (spec.length() == 2 * Digests.SIZE_BYTES && spec.matches("[0-9a-f]+")) {
      return ByteString.copyFrom(Digests.fromHex(spec));
    }
    int at = spec.indexOf('@');
    List<SignedRequest> batch = batch(cluster, at < 0 ? spec : spec.substring(0, at));
    // The null batch proposes no time: its digest is SHA-256 of nothing.
    long time = at >= 0 ? Command.parseLong("time", spec.substring(at + 1)) : batch.isEmpty() ? 0 : 1;
    return ByteString.copyFrom(Digests.batchDigest(batch, time));
  }
}

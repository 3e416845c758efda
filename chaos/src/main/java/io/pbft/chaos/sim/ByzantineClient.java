package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.config.Authentication;
import io.pbft.crypto.Signer;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.RequestMac;
import io.pbft.proto.SignedRequest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * A keyed client that misbehaves: it holds a valid client identity and its keys, so its requests
 * authenticate (where it wants them to), and a behaviour ({@link ClientBehaviours}) decides what it
 * sends, to whom and when. It needs no reply and completes nothing: the checkers let its
 * operations run or not, and hold the group to exactly-once, validity and agreement for them and
 * to the liveness bound for the honest clients around it.
 *
 * <p>Every operation it signs is registered with the {@link ExecutionLog} before it leaves (several
 * under one timestamp if it equivocates), so that the validity check knows what it issued. It
 * counts what it did ({@link #report}), so that tests can tell an attack that happened from one
 * that never got going.
 */
abstract class ByzantineClient {
  /**
   * What a Byzantine client may know beyond its own traffic: the simulator's adversary is strong
   * (it sees the network), and the counts of what its attacks achieved need the group's progress.
   */
  interface World {
    /** The sequence number at which correct replicas executed (client, timestamp), or -1. */
    long executedAt(int client, long timestamp);

    /** The highest stable checkpoint of a correct replica. */
    long stableCheckpoint();

    /** The highest view a correct replica is in. */
    long view();

    /**
     * Correct replicas whose executed state holds a reconfiguration pending that was ordered at
     * {@code sequence} (see {@link Administrator}).
     */
    long replicasWithPending(long sequence);

    /** How many correct replicas that are up run each configuration epoch, by epoch. */
    java.util.SortedMap<Long, Long> correctReplicasByEpoch();

    /** The public key the simulation holds for a replica rotated in {@code epoch} (administrator's runs). */
    byte[] replacementKey(long epoch);
  }

  /**
   * What every Byzantine client is built from. {@code membership} and {@code administrator}, the
   * group's epoch 0 and its administration key, are there for the {@link Administrator} only (null
   * for runs without it).
   */
  record Context(int id, Signer keys, SimulationConfig config, Workload workload, Scheduler scheduler,
      SimNetwork network, ExecutionLog log, World world, io.pbft.config.Membership membership,
      io.pbft.crypto.Ed25519Keys administrator) {}

  private record Candidate(SimOp op, long invokeMs) {}

  protected final int id;
  protected final SimulationConfig config;
  protected final Scheduler scheduler;
  protected final Random random;
  protected final World world;
  private final Signer keys;
  private final SimNetwork network;
  private final ExecutionLog log;
  private final Workload.Generator generator;
  private final Map<Long, List<Candidate>> issued = new TreeMap<>();
  private final Map<String, Long> counts = new TreeMap<>();
  private long view;
  private boolean stopped;

  ByzantineClient(Context c) {
    this.id = c.id();
    this.keys = c.keys();
    this.config = c.config();
    this.scheduler = c.scheduler();
    this.network = c.network();
    this.log = c.log();
    this.world = c.world();
    // Its own stream, apart from the honest clients' (whose ids are below every Byzantine id).
    this.random = new Random(config.seed() * 1_000_003L + id);
    this.generator = c.workload().generator(id, random);
  }

  /** The behaviour's catalogue name. */
  abstract String behaviour();

  /** The first step, at the client's start time; a behaviour schedules its next steps itself. */
  protected abstract void begin();

  int id() {
    return id;
  }

  void start(long atMs) {
    scheduler.at(atMs, () -> {
      if (!stopped) {
        begin();
      }
    });
  }

  /** From now on the client sends nothing (the honest clients are done; the group may settle). */
  void stop() {
    stopped = true;
  }

  /**
   * Whether it still has work the run must wait for before it ends: false for a faulty client,
   * whose requests nobody owes anything; the {@link Administrator}'s changes must take effect.
   */
  boolean busy() {
    return false;
  }

  protected boolean stopped() {
    return stopped;
  }

  /** Runs {@code step} after {@code delayMs} unless the client has stopped by then. */
  protected void later(long delayMs, Runnable step) {
    scheduler.after(delayMs, () -> {
      if (!stopped) {
        step.run();
      }
    });
  }

  // ---------------------------------------------------------------- operations and requests

  /** A new operation of the workload, registered as issued under {@code timestamp}. */
  protected SimOp issue(long timestamp) {
    return register(timestamp, generator.next(timestamp));
  }

  /**
   * {@code count} operations that differ from each other, all registered as issued under
   * {@code timestamp} (for an equivocating client).
   */
  protected List<SimOp> issueDistinct(long timestamp, int count) {
    List<SimOp> ops = new ArrayList<>();
    List<byte[]> encodings = new ArrayList<>();
    for (int tries = 0; ops.size() < count && tries < 50; tries++) {
      SimOp op = generator.next(timestamp);
      byte[] encoded = op.encode();
      if (encodings.stream().noneMatch(e -> Arrays.equals(e, encoded))) {
        encodings.add(encoded);
        ops.add(register(timestamp, op));
      }
    }
    return ops;
  }

  private SimOp register(long timestamp, SimOp op) {
    log.issued(id, timestamp, op.encode());
    issued.computeIfAbsent(timestamp, t -> new ArrayList<>()).add(new Candidate(op, scheduler.nowMs()));
    return op;
  }

  /** The request bytes of {@code op} under {@code timestamp}. */
  protected ByteString request(long timestamp, SimOp op) {
    return Request.newBuilder().setClientId(id).setTimestamp(timestamp)
        .setOperation(ByteString.copyFrom(op.encode())).build().toByteString();
  }

  /**
   * {@code request} authenticated for the replicas in {@code validAt}: signed (the signature does
   * not depend on the replica, so a replica outside {@code validAt} gets {@link #badSignature}
   * from the caller), or with MACs an authenticator whose entries check only at {@code validAt}.
   */
  protected SignedRequest authenticate(ByteString request, Set<Integer> validAt) {
    if (config.authentication() == Authentication.SIGNATURES) {
      return SignedRequest.newBuilder().setRequest(request)
          .setSignature(ByteString.copyFrom(keys.sign(request.toByteArray()))).build();
    }
    SignedRequest.Builder b = SignedRequest.newBuilder().setRequest(request);
    for (int r = 0; r < config.replicaSlots(); r++) {
      RequestMac entry = ClusterKeys.macEntry(config.fastCrypto(), id, r, request);
      if (!validAt.contains(r)) {
        byte[] mac = entry.getMac().toByteArray();
        mac[0] ^= 1;
        entry = entry.toBuilder().setMac(ByteString.copyFrom(mac)).build();
      }
      b.addAuthenticator(entry);
    }
    return b.build();
  }

  /** {@code request} authenticated for every replica. */
  protected SignedRequest authenticate(ByteString request) {
    return authenticate(request, allReplicas());
  }

  /** A copy of signed {@code r} whose signature no longer checks. */
  protected static SignedRequest badSignature(SignedRequest r) {
    byte[] signature = r.getSignature().toByteArray();
    signature[signature.length / 2] ^= 1;
    return r.toBuilder().setSignature(ByteString.copyFrom(signature)).build();
  }

  protected Set<Integer> allReplicas() {
    Set<Integer> all = new java.util.TreeSet<>();
    for (int r = 0; r < config.replicaSlots(); r++) {
      all.add(r);
    }
    return all;
  }

  // ---------------------------------------------------------------- the wire

  /** Sends {@code r} to replica {@code to} on this client's own link. */
  protected void send(int to, SignedRequest r) {
    count("messages sent");
    network.sendRequest(id, to, r);
  }

  protected void sendToAll(SignedRequest r) {
    for (int to = 0; to < config.replicaSlots(); to++) {
      send(to, r);
    }
  }

  /**
   * Sends {@code r} to {@code to} as if on {@code client}'s link: a copy injected into the network
   * (in the runtime, the session's MAC would catch it; here the cores' own rules must).
   */
  protected void sendAs(int client, int to, SignedRequest r) {
    count("messages sent");
    network.sendRequest(client, to, r);
  }

  /** The primary of the newest view a reply to this client named. */
  protected int believedPrimary() {
    return (int) (view % config.replicas());
  }

  void onReply(int from, Reply reply) {
    count("replies received");
    if (reply.getClientId() == id && reply.getReplicaId() == from) {
      view = Math.max(view, reply.getView());
    }
  }

  /** A request from this client's link reached replica {@code to} and passed its verifier. */
  void delivered(int to, SignedRequest r) {}

  /** A request from this client's link reached replica {@code to} and its verifier refused it. */
  void refused(int to, SignedRequest r) {}

  /** An honest client's request, as replica {@code to} received it (the adversary sees the network). */
  void overheard(int client, int to, SignedRequest r) {}

  protected static Request parse(SignedRequest r) {
    try {
      return Request.parseFrom(r.getRequest());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a Byzantine client's own request does not parse", e);
    }
  }

  // ---------------------------------------------------------------- accounting

  protected void count(String what) {
    add(what, 1);
  }

  protected void add(String what, long n) {
    counts.merge(what, n, Long::sum);
  }

  /** Counts a behaviour adds at the end, from what it kept (it may read the world). */
  protected void finish(Map<String, Long> out) {}

  ByzantineClientReport report() {
    Map<String, Long> out = new TreeMap<>(counts);
    long executed = 0;
    for (long t : issued.keySet()) {
      if (world.executedAt(id, t) >= 0) {
        executed++;
      }
    }
    out.put("timestamps issued", (long) issued.size());
    out.put("timestamps executed", executed);
    finish(out);
    return new ByzantineClientReport(id, behaviour(), out);
  }

  /**
   * Its operations, none of them completed (it accepts no results), for the checkers that replay
   * the committed order: for each timestamp the operation correct replicas executed, or the first
   * it signed if none ran.
   */
  List<OpRecord> history() {
    List<OpRecord> out = new ArrayList<>();
    issued.forEach((t, candidates) -> {
      ByteString ran = log.executedOperation(id, t);
      Candidate chosen = candidates.get(0);
      for (Candidate c : candidates) {
        if (ran != null && ran.equals(ByteString.copyFrom(c.op().encode()))) {
          chosen = c;
        }
      }
      out.add(new OpRecord(id, t, chosen.op(), null, chosen.invokeMs(), -1, candidates.size()));
    });
    return out;
  }
}

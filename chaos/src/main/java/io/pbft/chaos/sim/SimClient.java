package io.pbft.chaos.sim;

import io.pbft.config.Authentication;
import io.pbft.proto.RequestMac;
import java.util.Set;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Signer;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A closed-loop client identity, as PbftClient behaves: one outstanding request at a time with
 * increasing timestamps, sent first to the primary it believes in (the newest view its replies
 * carried, mod n), and after a timeout retransmitted, the same signed bytes, to every replica,
 * with the timeout doubling up to a bound. A result counts once f + 1 distinct replicas returned
 * it for the current timestamp.
 */
final class SimClient {
  private final int id;
  private final Signer keys;
  private final SimulationConfig config;
  private final Scheduler scheduler;
  private final SimNetwork network;
  private final ExecutionLog log;
  private final Random random;
  private final Runnable finished;
  private final Workload.Generator generator;
  private final List<OpRecord> history = new ArrayList<>();

  private long view;
  private long timestamp;
  private SimOp op;
  private SignedRequest signed;
  private long invokeMs;
  private int sends;
  private long timeoutMs;
  private final Map<Integer, Reply> replies = new HashMap<>();

  SimClient(int id, Signer keys, SimulationConfig config, Workload workload, Scheduler scheduler,
      SimNetwork network, ExecutionLog log, Runnable finished) {
    this.id = id;
    this.keys = keys;
    this.config = config;
    this.scheduler = scheduler;
    this.network = network;
    this.log = log;
    this.random = new Random(config.seed() * 1_000_003L + id);
    this.generator = workload.generator(id, random);
    this.finished = finished;
  }

  void start(long atMs) {
    scheduler.at(atMs, this::issue);
  }

  int id() {
    return id;
  }

  /** Completed operations, then the outstanding one (incomplete) if any. */
  List<OpRecord> history() {
    List<OpRecord> out = new ArrayList<>(history);
    if (op != null) {
      out.add(new OpRecord(id, timestamp, op, null, invokeMs, -1, sends));
    }
    return out;
  }

  private void issue() {
    if (history.size() >= config.opsPerClient()) {
      finished.run();
      return;
    }
    timestamp++;
    op = generator.next(timestamp);
    byte[] operation = op.encode();
    log.issued(id, timestamp, operation);
    byte[] request = Request.newBuilder().setClientId(id).setTimestamp(timestamp)
        .setOperation(ByteString.copyFrom(operation)).build().toByteArray();
    signed = authenticate(ByteString.copyFrom(request));
    invokeMs = scheduler.nowMs();
    sends = 1;
    replies.clear();
    network.sendRequest(id, (int) (view % config.replicas()), signed);
    timeoutMs = config.requestTimeoutMs();
    armTimeout(timestamp);
  }

  /**
   * Signed, or with {@code authentication: macs} an authenticator with one entry per replica;
   * a Byzantine client ({@link SimulationConfig#badMacs}) spoils the entries of some replicas.
   */
  private SignedRequest authenticate(ByteString request) {
    if (config.authentication() == Authentication.SIGNATURES) {
      return SignedRequest.newBuilder().setRequest(request)
          .setSignature(ByteString.copyFrom(keys.sign(request.toByteArray()))).build();
    }
    Set<Integer> spoiled = config.badMacs().getOrDefault(id, Set.of());
    SignedRequest.Builder b = SignedRequest.newBuilder().setRequest(request);
    for (int r = 0; r < config.replicas(); r++) {
      RequestMac entry = ClusterKeys.macEntry(config.fastCrypto(), id, r, request);
      if (spoiled.contains(r)) {
        byte[] mac = entry.getMac().toByteArray();
        mac[0] ^= 1;
        entry = entry.toBuilder().setMac(ByteString.copyFrom(mac)).build();
      }
      b.addAuthenticator(entry);
    }
    return b.build();
  }

  private void armTimeout(long t) {
    scheduler.after(timeoutMs, () -> onTimeout(t));
  }

  /** No f + 1 answers in time: the primary may be faulty, so tell every replica. */
  private void onTimeout(long t) {
    if (op == null || t != timestamp) {
      return; // that operation completed meanwhile
    }
    sends++;
    for (int r = 0; r < config.replicas(); r++) {
      network.sendRequest(id, r, signed);
    }
    timeoutMs = Math.min(2 * timeoutMs, config.requestTimeoutMaxMs());
    armTimeout(t);
  }

  void onReply(int from, Reply reply) {
    // The transport authenticates the sending replica (the session MAC), hence `from`.
    if (op == null || reply.getTimestamp() != timestamp || reply.getClientId() != id || reply.getReplicaId() != from) {
      return; // late answer to an older operation, or not for us
    }
    replies.put(from, reply);
    int matching = 0;
    long newestView = view;
    for (Reply r : replies.values()) {
      if (r.getResult().equals(reply.getResult())) {
        matching++;
        newestView = Math.max(newestView, r.getView());
      }
    }
    if (matching < config.effectiveClientRepliesNeeded()) {
      return;
    }
    history.add(new OpRecord(id, timestamp, op, reply.getResult(), invokeMs, scheduler.nowMs(), sends));
    generator.completed(op, reply.getResult());
    op = null;
    view = newestView;
    scheduler.after(0, this::issue);
  }
}

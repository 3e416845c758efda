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
 *
 * <p>A read (an operation that {@link SimOp#readOnly changes nothing}) goes, with {@link
 * SimulationConfig#readOnlyReads}, as a read-only request to every replica at once; it counts once
 * 2f + 1 ({@link SimulationConfig#effectiveReadRepliesNeeded}) read-only answers match. After half
 * the request timeout, or as soon as the answers split so that none can get there, the same
 * operation goes again as an ordered request under the next timestamp, as PbftClient does.
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
  /**
   * The primary of a view in an epoch, as the membership of that epoch (which a client follows
   * through the chain of changes) names it: {@code view mod n} until members are added or removed.
   */
  private PrimaryGuess primaryGuess;
  /** The configuration epoch of {@link #view}: views start again at 0 in each. */
  private long epoch;
  private long timestamp;
  private SimOp op;
  private SignedRequest signed;
  private long invokeMs;
  private int sends;
  private long timeoutMs;
  /** The outstanding operation was sent read-only (and has not fallen back to ordering). */
  private boolean readOnly;
  private long readOnlyAnswered;
  private long readOnlyFallbacks;
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
      out.add(new OpRecord(id, timestamp, op, null, invokeMs, -1, sends, readOnly));
    }
    return out;
  }

  /** Reads answered read-only (on matching answers), and reads that fell back to ordering. */
  long readOnlyAnswered() {
    return readOnlyAnswered;
  }

  long readOnlyFallbacks() {
    return readOnlyFallbacks;
  }

  private void issue() {
    if (history.size() >= config.opsPerClient()) {
      finished.run();
      return;
    }
    timestamp++;
    op = generator.next(timestamp);
    invokeMs = scheduler.nowMs();
    sends = 1;
    readOnly = config.readOnlyReads() && op.readOnly();
    if (readOnly) {
      // Never ordered, so not issued for the execution log: a correct replica executing it in a
      // batch is a violation (the linearizability check sees a read-only record in the order).
      signed = authenticate(request(op.encode(), true));
      replies.clear();
      for (int r = 0; r < config.replicaSlots(); r++) {
        network.sendRequest(id, r, signed);
      }
      long t = timestamp;
      scheduler.after(Math.max(1, config.requestTimeoutMs() / 2), () -> {
        if (op != null && readOnly && t == timestamp) {
          fallBack();
        }
      });
      return;
    }
    sendOrdered();
  }

  private ByteString request(byte[] operation, boolean readOnly) {
    return Request.newBuilder().setClientId(id).setTimestamp(timestamp)
        .setOperation(ByteString.copyFrom(operation)).setReadOnly(readOnly).build().toByteString();
  }

  /** Sends the outstanding operation under the current timestamp as an ordered request. */
  private void sendOrdered() {
    byte[] operation = op.encode();
    log.issued(id, timestamp, operation);
    signed = authenticate(request(operation, false));
    replies.clear();
    network.sendRequest(id, primaryGuess != null ? primaryGuess.applyAsInt(epoch, view) : (int) (view % config.replicas()),
        signed);
    timeoutMs = config.requestTimeoutMs();
    armTimeout(timestamp);
  }

  /** The read-only answers did not agree in time: the same operation, ordered, next timestamp. */
  private void fallBack() {
    readOnlyFallbacks++;
    readOnly = false;
    timestamp++;
    sends++;
    sendOrdered();
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
    for (int r = 0; r < config.replicaSlots(); r++) {
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
    for (int r = 0; r < config.replicaSlots(); r++) {
      network.sendRequest(id, r, signed);
    }
    timeoutMs = Math.min(2 * timeoutMs, config.requestTimeoutMaxMs());
    armTimeout(t);
  }

  void onReply(int from, Reply reply) {
    // The transport authenticates the sending replica (the session MAC), hence `from`.
    if (op == null || reply.getTimestamp() != timestamp || reply.getClientId() != id || reply.getReplicaId() != from
        || reply.getReadOnly() != readOnly) {
      return; // late answer to an older operation, or not for us
    }
    replies.put(from, reply);
    int matching = 0;
    int committed = 0;
    long newestEpoch = epoch;
    long newestView = view;
    Map<ByteString, Integer> counts = new HashMap<>();
    int best = 0;
    for (Reply r : replies.values()) {
      best = Math.max(best, counts.merge(r.getResult(), 1, Integer::sum));
      if (r.getResult().equals(reply.getResult())) {
        matching++;
        committed += r.getTentative() ? 0 : 1;
        // Views start again at 0 in each configuration epoch: a reply of a later epoch names
        // the view to follow, whatever the views of earlier epochs were.
        if (r.getEpoch() > newestEpoch) {
          newestEpoch = r.getEpoch();
          newestView = r.getView();
        } else if (r.getEpoch() == newestEpoch) {
          newestView = Math.max(newestView, r.getView());
        }
      }
    }
    int needed = readOnly ? config.effectiveReadRepliesNeeded() : config.effectiveClientRepliesNeeded();
    // An ordered result settles on f + 1 matching committed replies, or 2f + 1 matching ones of
    // either kind (protocol.tentativeExecution).
    boolean settled = readOnly ? matching >= needed
        : committed >= needed || matching >= config.effectiveTentativeRepliesNeeded();
    if (!settled) {
      if (readOnly && best + (config.replicaSlots() - replies.size()) < needed) {
        fallBack(); // the answers split: none can reach the quorum
      }
      return;
    }
    history.add(new OpRecord(id, timestamp, op, reply.getResult(), invokeMs, scheduler.nowMs(), sends, readOnly));
    generator.completed(op, reply.getResult());
    op = null;
    if (readOnly) {
      readOnlyAnswered++; // a read-only answer's view says nothing about ordering
    } else {
      epoch = newestEpoch;
      view = newestView;
    }
    scheduler.after(0, this::issue);
  }

  /** The primary of view {@code view} of configuration epoch {@code epoch}. */
  @FunctionalInterface
  interface PrimaryGuess {
    int applyAsInt(long epoch, long view);
  }

  /** Guesses primaries with {@code guess} (the memberships of the run's epochs) from now on. */
  void guessPrimaryWith(PrimaryGuess guess) {
    this.primaryGuess = guess;
  }
}

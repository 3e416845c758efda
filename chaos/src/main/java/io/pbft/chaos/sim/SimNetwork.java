package io.pbft.chaos.sim;

import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Reply;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * The simulated wire between replicas and clients. Each message is delivered after a seeded
 * random latency, through the {@link Scheduler}, unless a fault in force when it is sent loses
 * it. Whether the receiver is up is decided at delivery, by the receiver.
 */
final class SimNetwork {
  /** Where delivered messages go. */
  interface Receiver {
    void replicaMessage(int from, int to, SignedMessage message);

    void request(int client, int to, SignedRequest request);

    void reply(int from, int client, Reply reply);
  }

  private final SimulationConfig config;
  private final Scheduler scheduler;
  private final Faults faults;
  private final Random random;
  private final Trace trace;
  private Receiver receiver;
  private boolean healed;
  /** FIFO links only: when the last message on each link arrives, so none overtakes it. */
  private final Map<Long, Long> lastArrival = new HashMap<>();
  private long sent;
  private long lost;
  private long duplicated;
  private final long[] sentByKind = new long[ReplicaMessage.BodyCase.values().length];

  private SimRecorder tap = SimRecorder.NONE;

  SimNetwork(SimulationConfig config, Scheduler scheduler, Random random, Trace trace) {
    this.config = config;
    this.scheduler = scheduler;
    this.faults = config.faults();
    this.random = random;
    this.trace = trace;
  }

  void connect(Receiver r) {
    receiver = r;
  }

  /** Tells {@code r} of everything sent, and when it arrives. */
  void tap(SimRecorder r) {
    tap = r;
  }

  /** Every fault window ends now (crashes are the simulation's business). */
  void heal() {
    healed = true;
  }

  boolean healed() {
    return healed;
  }

  long sent() {
    return sent;
  }

  long lost() {
    return lost;
  }

  /** Replica messages sent, by kind. */
  Map<String, Long> sentByKind() {
    Map<String, Long> out = new java.util.TreeMap<>();
    for (ReplicaMessage.BodyCase kind : ReplicaMessage.BodyCase.values()) {
      if (sentByKind[kind.ordinal()] > 0) {
        out.put(kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'), sentByKind[kind.ordinal()]);
      }
    }
    return out;
  }

  void sendReplica(int from, int to, SignedMessage message, ReplicaMessage parsed) {
    sentByKind[parsed.getBodyCase().ordinal()]++;
    int client = parsed.hasForwardedRequest() ? Trace.clientOf(parsed.getForwardedRequest().getRequest()) : -1;
    long now = scheduler.nowMs();
    if (faults.blocksReplicaMessage(from, to, parsed.getBodyCase(), client, Faults.roundOf(parsed), now, healed)) {
      lose(from, "r" + to, parsed);
      tap.wire(now, -1, from, to, parsed);
      return;
    }
    transmit(from, to, () -> receiver.replicaMessage(from, to, message), parsed, "r" + from, "r" + to);
  }

  void sendRequest(int client, int to, SignedRequest request) {
    if (faults.blocksRequest(client, to, scheduler.nowMs(), healed)) {
      lose(-1 - client, "r" + to, request);
      tap.wire(scheduler.nowMs(), -1, config.replicaSlots() + client, to, request);
      return;
    }
    transmit(config.replicaSlots() + client, to, () -> receiver.request(client, to, request), request, "c" + client,
        "r" + to);
  }

  void sendReply(int from, int client, Reply reply) {
    if (faults.blocksReply(from, scheduler.nowMs(), healed)) {
      lose(from, "c" + client, reply);
      tap.wire(scheduler.nowMs(), -1, from, config.replicaSlots() + client, reply);
      return;
    }
    transmit(from, config.replicaSlots() + client, () -> receiver.reply(from, client, reply), reply, "r" + from,
        "c" + client);
  }

  private void lose(int from, String to, Object what) {
    sent++;
    lost++;
    trace.record(scheduler.nowMs(), "lost", from < 0 ? "c" + (-1 - from) : "r" + from, to, what);
  }

  private void transmit(int fromEndpoint, int toEndpoint, Runnable delivery, Object what, String from, String to) {
    sent++;
    long now = scheduler.nowMs();
    long latency = config.latencyMinMs() + random.nextInt(config.latencyMaxMs() - config.latencyMinMs() + 1);
    Faults.Lossy lossy = faults.lossyAt(now, healed);
    if (lossy != null) {
      double roll = random.nextDouble();
      if (roll < lossy.dropProbability()) {
        lost++;
        trace.record(now, "lost", from, to, what);
        tap.wire(now, -1, fromEndpoint, toEndpoint, what);
        return;
      }
      if (roll < lossy.dropProbability() + lossy.delayProbability()) {
        latency += 1 + random.nextInt(Math.max(1, lossy.delayMaxMs()));
      }
    }
    long arrival = now + latency;
    if (config.fifoLinks()) {
      long link = ((long) fromEndpoint << 32) | toEndpoint;
      arrival = Math.max(arrival, lastArrival.getOrDefault(link, 0L));
      lastArrival.put(link, arrival);
    }
    scheduler.at(arrival, delivery);
    tap.wire(now, arrival, fromEndpoint, toEndpoint, what);
    Faults.Duplicate duplicate = faults.duplicateAt(now, healed);
    if (duplicate != null && random.nextDouble() < duplicate.probability()) {
      // The copy may overtake later messages on the link, as a retransmitting network's would.
      duplicated++;
      long copyArrival = arrival + random.nextInt(Math.max(1, duplicate.delayMaxMs()));
      scheduler.at(copyArrival, delivery);
      tap.wire(now, copyArrival, fromEndpoint, toEndpoint, what);
    }
  }

  long duplicated() {
    return duplicated;
  }
}

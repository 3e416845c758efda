package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.config.ClusterConfig;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.core.Effects;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.execution.Execution;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.node.EffectApplier;
import io.pbft.replica.node.InlineReplica;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;

/**
 * n replica cores wired together in one thread, without gRPC. Every message goes through the
 * same {@link InboundVerifier} the runtime uses (real Ed25519 signatures), and the network
 * delivers in an order drawn from a seeded generator, so a run replays exactly from its seed.
 */
public final class InMemoryCluster {
  /** A message on the simulated wire. */
  private sealed interface Envelope permits ToReplica, ToClient {}

  private record ToReplica(int to, SignedMessage message) implements Envelope {}

  private record ToClient(int clientId, Reply reply) implements Envelope {}

  /** Receives every reply a replica sends to a client. */
  public interface ReplyListener {
    void onReply(int clientId, Reply reply);
  }

  private final ClusterConfig config;
  private final InboundVerifier verifier;
  private final List<InlineReplica> cores = new ArrayList<>();
  private final List<StateMachine> apps = new ArrayList<>();
  private final List<Envelope> inFlight = new ArrayList<>();
  private final Random random;
  private final Map<String, Long> rejectedByVerifier = new HashMap<>();
  private ReplyListener listener = (c, r) -> {};
  private long delivered;

  public InMemoryCluster(ClusterConfig config, List<Ed25519Keys> replicaKeys, IntFunction<StateMachine> appFactory,
      long seed) {
    this.config = config;
    this.verifier = new InboundVerifier(config);
    this.random = new Random(seed);
    for (int i = 0; i < config.n(); i++) {
      StateMachine app = appFactory.apply(i);
      apps.add(app);
      ReplicaCore core = new ReplicaCore(i, config.n(), config.f(), config.protocol(), replicaKeys.get(i),
          verifier::knownClient);
      core.checkEverythingAfterEachEvent();
      int from = i;
      EffectApplier.Transport transport = new EffectApplier.Transport() {
        @Override
        public void send(Effects.Outgoing out) {
          enqueue(from, out);
        }

        @Override
        public void sendLater(Effects.Outgoing out, long delayMs) {
          enqueue(from, out);
        }
      };
      cores.add(new InlineReplica(core, new Execution(app, CheckpointStore.NONE), EffectApplier.Storage.NONE,
          Behaviour.HONEST, Behaviour.Signing.of(i, replicaKeys.get(i)), transport,
          (clientId, reply) -> inFlight.add(new ToClient(clientId, reply))));
    }
  }

  public void onReply(ReplyListener listener) {
    this.listener = listener;
  }

  public ReplicaCore core(int i) {
    return cores.get(i).core();
  }

  /** Replica {@code i}'s state digest (application and client table). */
  public byte[] stateDigest(int i) {
    return cores.get(i).execution().stateDigest().toByteArray();
  }

  public StateMachine app(int i) {
    return apps.get(i);
  }

  public int size() {
    return cores.size();
  }

  public long delivered() {
    return delivered;
  }

  public Map<String, Long> rejectedByVerifier() {
    return rejectedByVerifier;
  }

  /** A client sends a signed request to replica {@code to}; it is verified like the runtime does. */
  public void clientSends(int to, SignedRequest request) {
    Verdict<VerifiedRequest> v = verifier.verify(request, -1);
    if (!v.isOk()) {
      rejectedByVerifier.merge(v.reason().label(), 1L, Long::sum);
      return;
    }
    cores.get(to).run(delivered, core -> core.onRequest(delivered, v.value()));
  }

  /** Delivers one in-flight message chosen at random; false when nothing is in flight. */
  public boolean step() {
    if (inFlight.isEmpty()) {
      return false;
    }
    // Swap-remove a random element: any interleaving of concurrent messages can happen.
    int index = random.nextInt(inFlight.size());
    Envelope e = inFlight.get(index);
    inFlight.set(index, inFlight.get(inFlight.size() - 1));
    inFlight.remove(inFlight.size() - 1);
    delivered++;
    if (e instanceof ToReplica m) {
      Verdict<VerifiedMessage> v = verifier.verify(m.message());
      if (!v.isOk()) {
        rejectedByVerifier.merge(v.reason().label(), 1L, Long::sum);
        return true;
      }
      cores.get(m.to()).run(delivered, core -> core.onMessage(delivered, v.value()));
    } else if (e instanceof ToClient r) {
      listener.onReply(r.clientId(), r.reply());
    }
    return true;
  }

  /** Delivers until the network is quiet or {@code maxSteps} messages went through. */
  public long runUntilQuiet(long maxSteps) {
    long steps = 0;
    while (steps < maxSteps && step()) {
      steps++;
    }
    return steps;
  }

  public boolean quiet() {
    return inFlight.isEmpty();
  }

  private void enqueue(int from, Effects.Outgoing out) {
    if (out.broadcast()) {
      for (int j = 0; j < config.n(); j++) {
        if (j != from) {
          inFlight.add(new ToReplica(j, out.message()));
        }
      }
    } else {
      inFlight.add(new ToReplica(out.to(), out.message()));
    }
  }

  /** Builds a signed request as client {@code clientId} would. */
  public static SignedRequest sign(Ed25519Keys clientKeys, int clientId, long timestamp, byte[] operation) {
    byte[] bytes = Request.newBuilder().setClientId(clientId).setTimestamp(timestamp)
        .setOperation(ByteString.copyFrom(operation)).build().toByteArray();
    return SignedRequest.newBuilder().setRequest(ByteString.copyFrom(bytes))
        .setSignature(ByteString.copyFrom(clientKeys.sign(bytes))).build();
  }

  public ClusterConfig config() {
    return config;
  }
}

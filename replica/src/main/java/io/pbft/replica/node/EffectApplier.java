package io.pbft.replica.node;

import io.pbft.proto.Reply;
import io.pbft.proto.WalRecord;
import io.pbft.replica.core.Effects;
import java.util.List;

/**
 * Carries out a core's {@link Effects} in the order their contract gives, for every way a replica
 * runs (the gRPC runtime and the simulator use this one class): persist, hand the application its
 * work, then the behaviour filter, then send and reply. Every message and every reply a replica
 * produces passes here, so a traitor's {@link Behaviour} sees all of them.
 *
 * <p>The ports do the I/O: {@link Storage} must make records durable before it returns;
 * {@link Application} queues work for the executor (which reports back to the core as events);
 * {@link Transport} sends now or after a delay; {@link Clients} authenticates and sends replies.
 */
public final class EffectApplier {
  /** The durable log. */
  public interface Storage {
    Storage NONE = (records, compaction) -> { };

    /** Appends {@code records}, then {@code compaction} if not null, durably, before returning. */
    void persist(List<WalRecord> records, List<WalRecord> compaction);
  }

  /** The executor's side: executions, state installs, chunk reads, snapshot releases. */
  public interface Application {
    void submit(Effects effects);
  }

  /** Messages to other replicas. */
  public interface Transport {
    void send(Effects.Outgoing message);

    /** Sends after {@code delayMs} (a slow traitor holds messages back). */
    void sendLater(Effects.Outgoing message, long delayMs);
  }

  /** Replies to clients. */
  public interface Clients {
    void reply(int clientId, Reply reply);
  }

  private final Storage storage;
  private final Application application;
  private final Behaviour behaviour;
  private final Behaviour.Signing signing;
  private final Transport transport;
  private final Clients clients;

  public EffectApplier(Storage storage, Application application, Behaviour behaviour, Behaviour.Signing signing,
      Transport transport, Clients clients) {
    this.storage = storage;
    this.application = application;
    this.behaviour = behaviour;
    this.signing = signing;
    this.transport = transport;
    this.clients = clients;
  }

  public Behaviour behaviour() {
    return behaviour;
  }

  /**
   * Carries out one burst of effects. A storage failure propagates before anything of the burst
   * left, so nothing that depends on the failed records is ever sent.
   */
  public void apply(Effects effects) {
    if (!effects.records().isEmpty() || effects.compaction() != null) {
      storage.persist(effects.records(), effects.compaction());
    }
    if (!effects.executions().isEmpty() || effects.install() != null || !effects.serves().isEmpty()
        || !effects.releasedSnapshots().isEmpty() || effects.stableCheckpoint() >= 0) {
      application.submit(effects);
    }
    if (!effects.messages().isEmpty()) {
      for (Effects.Outgoing out : behaviour.outgoing(effects.messages(), signing)) {
        long delay = behaviour.delayMs(out);
        if (delay > 0) {
          transport.sendLater(out, delay);
        } else {
          transport.send(out);
        }
      }
    }
    if (!effects.replies().isEmpty()) {
      reply(effects.replies());
    }
  }

  /**
   * Sends replies through the behaviour: the core's (from {@link #apply}), and the answers to
   * read-only requests, which the executor's side produces (on the runtime's execution thread, so
   * the behaviour's filter is called under a lock: a traitor's state needs no locking of its own).
   */
  public void reply(List<Effects.ClientReply> replies) {
    List<Effects.ClientReply> out;
    synchronized (this) { // not the behaviour: HONEST is one object shared by every replica in a JVM
      out = behaviour.replies(replies, signing);
    }
    for (Effects.ClientReply reply : out) {
      clients.reply(reply.clientId(), reply.reply());
    }
  }
}

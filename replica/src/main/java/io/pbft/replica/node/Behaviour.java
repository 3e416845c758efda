package io.pbft.replica.node;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Signer;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.core.Effects;
import io.pbft.replica.verify.VerifiedMessage;
import java.util.List;

/**
 * What sits between a replica's core and its transport, applied by the {@link EffectApplier} to
 * every message and every reply. A correct replica uses {@link #HONEST},
 * which passes everything through. The chaos harness plugs in traitors here: they run the real
 * core with the real keys, so the lies they tell are validly signed.
 *
 * <p>Implementations must be deterministic given their inputs (the simulator replays runs from
 * a seed); any randomness they need comes from a generator they were built with.
 */
public interface Behaviour {
  Behaviour HONEST = new Behaviour() {};

  /** Signs messages as this replica (with its real key). */
  interface Signing {
    int replicaId();

    SignedMessage sign(ReplicaMessage message);

    /** Signs as replica {@code id} with {@code signer}, the way the core signs its own messages. */
    static Signing of(int id, Signer signer) {
      return of(id, signer, 0);
    }

    /** As {@link #of(int, Signer)}, stamping what it signs with configuration epoch {@code epoch}. */
    static Signing of(int id, Signer signer, long epoch) {
      return new Signing() {
        @Override
        public int replicaId() {
          return id;
        }

        @Override
        public SignedMessage sign(ReplicaMessage message) {
          byte[] payload = (message.getEpoch() == epoch ? message : message.toBuilder().setEpoch(epoch).build())
              .toByteArray();
          return SignedMessage.newBuilder().setSender(id).setPayload(ByteString.copyFrom(payload))
              .setSignature(ByteString.copyFrom(signer.sign(payload))).build();
        }
      };
    }
  }

  /** The messages that actually leave, given those the core wants to send. */
  default List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    return wanted;
  }

  /** How long to hold a message back before sending it (a slow replica). */
  default long delayMs(Effects.Outgoing message) {
    return 0;
  }

  /**
   * The result a read-only request gets, given the one this replica's state gives (a traitor
   * answers reads with stale or made-up values). Called by the executor's side, before the reply
   * passes {@link #replies} like every other.
   */
  default ByteString readOnlyResult(Request request, ByteString result) {
    return result;
  }

  /**
   * The replies that actually go to clients. Answers to read-only requests pass here too (their
   * Reply has read_only set), from the runtime's execution thread: the {@link EffectApplier}
   * serialises the calls.
   */
  default List<Effects.ClientReply> replies(List<Effects.ClientReply> wanted, Signing signing) {
    return wanted;
  }

  /** Whether a verified client request reaches the core (a primary that ignores a client). */
  default boolean admitRequest(Request request) {
    return true;
  }

  /** Whether a verified replica message reaches the core. */
  default boolean admitMessage(int sender, ReplicaMessage message) {
    return true;
  }

  /**
   * Whether a verified replica message reaches the core, seen with its signed form (a traitor
   * that keeps others' signed votes to pass them on): by default {@link #admitMessage}.
   */
  default boolean admit(VerifiedMessage m) {
    return admitMessage(m.sender(), m.message());
  }

  /** A name for logs and summaries. */
  default String name() {
    return "honest";
  }
}

package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.crypto.PeerKeys;
import io.pbft.crypto.Signer;
import io.pbft.proto.PeerMac;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.WalRecord;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Rejection;
import io.pbft.replica.verify.Rejections;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the sub-protocols put what they want done: signed messages (each one this replica says in
 * the protocol also logged, so that it never contradicts itself after a crash), replies, log
 * records, executions; and the one place that counts and logs dropped input.
 */
final class Outbox {
  private static final Logger log = LoggerFactory.getLogger(Outbox.class);

  private final int id;
  private final Signer signer;
  /** Pair keys for MACs ({@code authentication: macs}); null signs everything. */
  private PeerKeys peerKeys;
  private final Rejections rejections = new Rejections();
  private boolean durable;
  private boolean compactionDue;
  private Effects effects = new Effects();
  /** The configuration epoch every message this replica says is stamped with. */
  private long epoch;

  Outbox(int id, Signer signer) {
    this.id = id;
    this.signer = signer;
  }

  /**
   * From now on the messages that never travel as proof ({@link InboundVerifier#macAllowed}) go
   * out with MACs under {@code keys} to the peers whose keys are known, signed to the others.
   */
  void useMacs(PeerKeys keys) {
    peerKeys = keys;
  }

  /** From now on every message goes out stamped with configuration epoch {@code e}. */
  void epoch(long e) {
    epoch = e;
  }

  /** {@code message} as of this replica's epoch (unchanged in epoch 0, where the field is absent). */
  private ReplicaMessage stamped(ReplicaMessage message) {
    return message.getEpoch() == epoch ? message : message.toBuilder().setEpoch(epoch).build();
  }

  PeerKeys peerKeys() {
    return peerKeys;
  }

  void enableDurability() {
    durable = true;
  }

  boolean durable() {
    return durable;
  }

  /** A checkpoint became stable: the log may restart from the live state (when durable). */
  void compactionDue() {
    compactionDue = durable;
  }

  /** True once after {@link #compactionDue()}. */
  boolean takeCompactionDue() {
    boolean due = compactionDue;
    compactionDue = false;
    return due;
  }

  Effects effects() {
    return effects;
  }

  /** Hands out what accumulated and starts afresh. */
  Effects take() {
    Effects out = effects;
    effects = new Effects();
    return out;
  }

  Rejections rejections() {
    return rejections;
  }

  SignedMessage sign(ReplicaMessage message) {
    return signed(stamped(message).toByteString());
  }

  /**
   * Authenticates (signs, or MACs where allowed), logs (if it is a protocol statement) and
   * multicasts to every other replica.
   */
  SignedMessage broadcast(ReplicaMessage unstamped) {
    ReplicaMessage message = stamped(unstamped);
    ByteString payload = message.toByteString();
    SignedMessage out = macable(message.getBodyCase()) ? emitMaced(Effects.Outgoing.ALL, payload) : null;
    if (out == null) {
      out = signed(payload);
      effects.messages().add(new Effects.Outgoing(Effects.Outgoing.ALL, out));
    }
    recordSent(message, out);
    return out;
  }

  /** Authenticates, logs (if it is a protocol statement) and sends to one replica. */
  SignedMessage send(int to, ReplicaMessage unstamped) {
    ReplicaMessage message = stamped(unstamped);
    ByteString payload = message.toByteString();
    SignedMessage out = macable(message.getBodyCase()) ? emitMaced(to, payload) : null;
    if (out == null) {
      out = signed(payload);
      effects.messages().add(new Effects.Outgoing(to, out));
    }
    recordSent(message, out);
    return out;
  }

  /**
   * Sends again, unchanged, something signed before (by this replica or relayed from another).
   * This replica's own MAC-authenticated messages get fresh MACs: a peer may have restarted with
   * a new key since.
   */
  void resend(int to, SignedMessage signed) {
    if (signed.getSender() == id && signed.getSignature().isEmpty() && peerKeys != null) {
      if (emitMaced(to, signed.getPayload()) == null) {
        effects.messages().add(new Effects.Outgoing(to, signed(signed.getPayload())));
      }
      return;
    }
    effects.messages().add(new Effects.Outgoing(to, signed));
  }

  private boolean macable(ReplicaMessage.BodyCase kind) {
    return peerKeys != null && InboundVerifier.macAllowed(kind);
  }

  private SignedMessage signed(ByteString payload) {
    return SignedMessage.newBuilder().setSender(id).setPayload(payload)
        .setSignature(ByteString.copyFrom(signer.sign(payload.toByteArray()))).build();
  }

  /**
   * Queues {@code payload} with MACs for {@code to} (or every peer): one message with an entry per
   * peer that confirmed the pair key, and a signed copy to each other peer (its key or its
   * confirmation is not here yet). Returns the MAC-authenticated message, or null (nothing queued)
   * if no peer confirmed.
   */
  private SignedMessage emitMaced(int to, ByteString payload) {
    List<PeerMac> macs = peerKeys.authenticator(payload, to == Effects.Outgoing.ALL ? null : new int[] {to});
    if (macs.isEmpty()) {
      return null;
    }
    SignedMessage maced = SignedMessage.newBuilder().setSender(id).setPayload(payload).addAllAuthenticator(macs).build();
    if (to != Effects.Outgoing.ALL || macs.size() == peerCount()) {
      effects.messages().add(new Effects.Outgoing(to, maced));
      return maced;
    }
    SignedMessage signedCopy = null;
    for (int r = 0; r < peerKeys.replicas(); r++) {
      if (r == id) {
        continue;
      }
      if (peerKeys.confirmed(r)) {
        effects.messages().add(new Effects.Outgoing(r, maced));
      } else {
        if (signedCopy == null) {
          signedCopy = signed(payload);
        }
        effects.messages().add(new Effects.Outgoing(r, signedCopy));
      }
    }
    return maced;
  }

  private int peerCount() {
    return peerKeys.replicas() - 1;
  }

  void record(WalRecord r) {
    if (durable) {
      effects.records().add(r);
    }
  }

  void reply(Effects.ClientReply reply) {
    if (epoch != 0 && reply.reply().getEpoch() != epoch) {
      reply = new Effects.ClientReply(reply.clientId(), reply.reply().toBuilder().setEpoch(epoch).build());
    }
    effects.replies().add(reply);
  }

  void execute(Effects.Execute execute) {
    effects.executions().add(execute);
  }

  /** A batch reached a phase here (see {@link Effects.Milestone}); nothing is sent for it. */
  void milestone(Effects.Milestone.Kind kind, Slot slot) {
    effects.milestone(new Effects.Milestone(kind, slot.view, slot.sequence,
        kind == Effects.Milestone.Kind.PRE_PREPARED && slot.requests != null ? slot.requests : List.of()));
  }

  /** Counts dropped input by reason and logs the detail at debug level. */
  void reject(Rejection reason, String detailFormat, Object... args) {
    rejections.count(reason);
    if (log.isDebugEnabled()) {
      log.debug("replica {}: dropped ({}): {}", id, reason.label(), String.format(detailFormat, args));
    }
  }

  /** What this replica says in the protocol must survive a crash, so it never says otherwise. */
  private void recordSent(ReplicaMessage message, SignedMessage signed) {
    switch (message.getBodyCase()) {
      case PRE_PREPARE, PREPARE, COMMIT, CHECKPOINT, VIEW_CHANGE, NEW_VIEW ->
          record(WalRecord.newBuilder().setSent(signed).build());
      default -> { }
    }
  }
}

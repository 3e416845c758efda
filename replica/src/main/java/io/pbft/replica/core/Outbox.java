package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Signer;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.WalRecord;
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
  private final Rejections rejections = new Rejections();
  private boolean durable;
  private boolean compactionDue;
  private Effects effects = new Effects();

  Outbox(int id, Signer signer) {
    this.id = id;
    this.signer = signer;
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
    byte[] payload = message.toByteArray();
    return SignedMessage.newBuilder().setSender(id).setPayload(ByteString.copyFrom(payload))
        .setSignature(ByteString.copyFrom(signer.sign(payload))).build();
  }

  /** Signs, logs (if it is a protocol statement) and multicasts to every other replica. */
  SignedMessage broadcast(ReplicaMessage message) {
    SignedMessage signed = sign(message);
    recordSent(message, signed);
    effects.messages().add(new Effects.Outgoing(Effects.Outgoing.ALL, signed));
    return signed;
  }

  /** Signs, logs (if it is a protocol statement) and sends to one replica. */
  SignedMessage send(int to, ReplicaMessage message) {
    SignedMessage signed = sign(message);
    recordSent(message, signed);
    effects.messages().add(new Effects.Outgoing(to, signed));
    return signed;
  }

  /** Sends again, unchanged, something signed before (by this replica or relayed from another). */
  void resend(int to, SignedMessage signed) {
    effects.messages().add(new Effects.Outgoing(to, signed));
  }

  void record(WalRecord r) {
    if (durable) {
      effects.records().add(r);
    }
  }

  void reply(Effects.ClientReply reply) {
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

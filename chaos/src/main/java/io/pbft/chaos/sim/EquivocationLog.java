package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.CommittedCertificate;
import io.pbft.proto.NewView;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * No correct replica signs two different statements about one thing: every message a correct
 * replica sends (and every message it signed that rides inside one, such as the pre-prepares of
 * its NEW-VIEW or its own votes in the certificates it passes on) is recorded by what it speaks
 * about, and a second, different one about the same thing is a violation:
 *
 * <ul>
 *   <li>PRE-PREPARE, PREPARE, COMMIT: one digest per (view, sequence number);
 *   <li>CHECKPOINT: one state digest per sequence number;
 *   <li>VIEW-CHANGE: one message per view it asks for; NEW-VIEW and COMPLAINT: one per view.
 * </ul>
 *
 * <p>What a correct replica may sign twice is the same statement again: it repeats its
 * CHECKPOINTs, COMPLAINT and VIEW-CHANGE at heartbeats and its votes for slots still waiting, as
 * the very signed message it kept; a COMPLAINT withdrawn on progress and made again in the same
 * view is byte for byte the one before (its content is the view and the replica; Ed25519 signs
 * deterministically). Nothing else is exempt: a VIEW-CHANGE is built once per view (a replica
 * only moves to a higher view), a NEW-VIEW once per view, and a replica restarted from its disk
 * recovers what it signed from its log before it signs anything (the log is written before any
 * message leaves), so a restart is no excuse either. Messages that state no vote (HEARTBEAT,
 * COMMITTED certificates themselves, state transfer, forwarded requests) change legitimately
 * and are not statements here. Faulty replicas (traitors, twins) may sign anything and are left
 * out.
 */
final class EquivocationLog {
  /**
   * What a signed message speaks about: its signer, configuration epoch (views start again at 0 in
   * each), kind, view (or -1) and sequence number (or -1).
   */
  private record Subject(int signer, long epoch, ReplicaMessage.BodyCase kind, long view, long sequence) {}

  private final Map<Subject, ByteString> said = new HashMap<>();
  private final Set<Integer> faulty;
  private final Consumer<String> violation;
  private long checked;

  EquivocationLog(Set<Integer> faulty, Consumer<String> violation) {
    this.faulty = Set.copyOf(faulty);
    this.violation = violation;
  }

  /** Signed messages of correct replicas compared. */
  long checked() {
    return checked;
  }

  /**
   * A replica sent {@code signed} (parsed as {@code body}); its signer (a correct replica
   * passes on others' messages too, such as a NEW-VIEW it missed) is who spoke.
   */
  void sent(SignedMessage signed, ReplicaMessage body) {
    int signer = signed.getSender();
    if (faulty.contains(signer)) {
      return;
    }
    boolean first = statement(signer, body, signed.getPayload());
    if (!first) {
      return; // the same statement again: what rides inside it was checked the first time
    }
    switch (body.getBodyCase()) {
      case NEW_VIEW -> {
        NewView nv = body.getNewView();
        nv.getPrePreparesList().forEach(m -> inner(signer, m));
      }
      case VIEW_CHANGE -> {
        ViewChange vc = body.getViewChange();
        vc.getCheckpointProofList().forEach(m -> inner(signer, m));
        vc.getComplaintsList().forEach(m -> inner(signer, m));
        for (PreparedCertificate c : vc.getPreparedList()) {
          inner(signer, c.getPrePrepare());
          c.getPreparesList().forEach(m -> inner(signer, m));
        }
      }
      default -> { }
    }
  }

  /**
   * A COMMITTED certificate sent for a replica to catch up: the signer's own pre-prepare or
   * commit inside is a statement of its own (others' were checked when they sent them).
   */
  private void committed(int signer, CommittedCertificate c) {
    inner(signer, c.getPrePrepare());
    c.getCommitsList().forEach(m -> inner(signer, m));
  }

  /** A message inside one {@code signer} sent: checked only if {@code signer} signed it too. */
  private void inner(int signer, SignedMessage m) {
    if (m.getSender() != signer) {
      return;
    }
    try {
      statement(signer, ReplicaMessage.parseFrom(m.getPayload()), m.getPayload());
    } catch (InvalidProtocolBufferException e) {
      violation.accept("equivocation: replica " + signer + " signed a message that does not parse");
    }
  }

  /** Records what {@code body} states; true if it said nothing about its subject before. */
  private boolean statement(int signer, ReplicaMessage body, ByteString payload) {
    Subject subject;
    ByteString content;
    switch (body.getBodyCase()) {
      case PRE_PREPARE -> {
        subject = new Subject(signer, body.getEpoch(), body.getBodyCase(), body.getPrePrepare().getView(),
            body.getPrePrepare().getSequence());
        content = body.getPrePrepare().getDigest();
      }
      case PREPARE -> {
        subject = new Subject(signer, body.getEpoch(), body.getBodyCase(), body.getPrepare().getView(), body.getPrepare().getSequence());
        content = body.getPrepare().getDigest();
      }
      case COMMIT -> {
        subject = new Subject(signer, body.getEpoch(), body.getBodyCase(), body.getCommit().getView(), body.getCommit().getSequence());
        content = body.getCommit().getDigest();
      }
      case CHECKPOINT -> {
        subject = new Subject(signer, body.getEpoch(), body.getBodyCase(), -1, body.getCheckpoint().getSequence());
        content = body.getCheckpoint().getStateDigest();
      }
      case VIEW_CHANGE -> {
        subject = new Subject(signer, body.getEpoch(), body.getBodyCase(), body.getViewChange().getNewView(), -1);
        content = payload;
      }
      case NEW_VIEW -> {
        subject = new Subject(signer, body.getEpoch(), body.getBodyCase(), body.getNewView().getView(), -1);
        content = payload;
      }
      case COMPLAINT -> {
        subject = new Subject(signer, body.getEpoch(), body.getBodyCase(), body.getComplaint().getView(), -1);
        content = payload;
      }
      case COMMITTED -> {
        committed(signer, body.getCommitted());
        return false;
      }
      default -> {
        return false; // states no vote
      }
    }
    checked++;
    ByteString before = said.putIfAbsent(subject, content);
    if (before == null) {
      return true;
    }
    if (!before.equals(content)) {
      violation.accept("equivocation: correct replica " + signer + " signed two different "
          + subject.kind().name().replace('_', '-') + "s" + (subject.view() >= 0 ? " for view " + subject.view() : "")
          + (subject.sequence() >= 0 ? " at n=" + subject.sequence() : "") + ": first " + describe(subject, before)
          + ", then " + Trace.describe(body));
    }
    return false;
  }

  private static String describe(Subject subject, ByteString content) {
    return switch (subject.kind()) {
      case PRE_PREPARE, PREPARE, COMMIT, CHECKPOINT -> "digest " + Trace.shortHex(content);
      default -> "a message of digest " + Trace.shortHex(ByteString.copyFrom(
          io.pbft.crypto.Digests.sha256(content.toByteArray())));
    };
  }
}

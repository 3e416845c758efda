package io.pbft.replica.core;

import io.pbft.proto.Complaint;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.verify.Rejection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Suspicion needs evidence (complain, then change, as SmartBFT does): a replica whose view-change
 * timer expires multicasts a signed COMPLAINT naming its view and keeps working in it. Replicas
 * leave view v only once f + 1 distinct replicas complain about v, so at least one correct replica
 * suspects its primary; those f + 1 complaints travel in every VIEW-CHANGE for v + 1 as the
 * evidence that lets any replica join it. A lone slow or lagging replica therefore never leaves
 * the group's view, and a faulty one cannot make anybody leave.
 *
 * <p>A complaint counts while it is fresh: its sender repeats it every heartbeat while it still
 * suspects, and stops once the primary makes progress for it, so that two complaints far apart in
 * time do not add up.
 */
final class Complaints {
  private static final Logger log = LoggerFactory.getLogger(Complaints.class);

  private record Heard(SignedMessage signed, long atMs) {}

  private final ReplicaState state;
  private final Outbox outbox;
  /** Complaints about views at or above this replica's, per view, per complaining replica. */
  private final TreeMap<Long, Map<Integer, Heard>> byView = new TreeMap<>();
  /** This replica's complaint about its current view, while it still suspects; null otherwise. */
  private SignedMessage own;
  private long sent;

  Complaints(ReplicaState state, Outbox outbox) {
    this.state = state;
    this.outbox = outbox;
  }

  /** Complaints this replica multicast. */
  long sent() {
    return sent;
  }

  boolean suspecting() {
    return own != null;
  }

  /**
   * How long a complaint counts after its sender last repeated it: one heartbeat period (its
   * sender repeats it at every heartbeat while it suspects) and half of one more for delays. It
   * used to be three periods, and under an outsider's stream flood, which slowed one backup at a
   * time for a moment, two such moments 2.7 s apart added up to f + 1 and cost a view change.
   */
  private long freshMs() {
    return 3L * state.settings.viewChangeTimeoutMs() / 2;
  }

  /**
   * This replica's timer expired in its view: complain (once per view; {@link #repeat} sends it
   * again while the suspicion lasts). Returns the evidence for leaving the view if f + 1 replicas
   * now complain about it, or null.
   */
  List<SignedMessage> complain(String why) {
    if (own == null || complaintView(own) != state.view) {
      own = outbox.broadcast(ReplicaMessage.newBuilder().setComplaint(Complaint.newBuilder().setView(state.view)
          .setReplicaId(state.id)).build());
      sent++;
      log.info("replica {}: complains about view {} (primary {}): {}", state.id, state.view, state.primary(), why);
    }
    record(state.id, state.view, own);
    return evidence(state.view);
  }

  /**
   * Progress: the primary served what this replica waited for, so it no longer suspects (its
   * complaint, already sent, ages out at the others).
   */
  void withdraw() {
    own = null;
  }

  /** Heartbeat: repeat this replica's complaint while it still suspects (complaints can be lost). */
  void repeat() {
    if (own != null && complaintView(own) == state.view) {
      outbox.resend(Effects.Outgoing.ALL, own);
      record(state.id, state.view, own);
    }
  }

  /**
   * A peer's complaint. Returns the evidence for leaving the view it names if that makes f + 1
   * fresh complaints about a view at or above this replica's, or null.
   */
  List<SignedMessage> onComplaint(int sender, Complaint c, SignedMessage signed) {
    if (c.getReplicaId() != sender) {
      outbox.reject(Rejection.SENDER_NOT_SIGNER, "complaint names %d, signed by %d", c.getReplicaId(), sender);
      return null;
    }
    if (c.getView() < state.view) {
      return null; // old news: that view is left already
    }
    record(sender, c.getView(), signed);
    return evidence(c.getView());
  }

  private void record(int sender, long view, SignedMessage signed) {
    byView.computeIfAbsent(view, k -> new HashMap<>()).put(sender, new Heard(signed, state.nowMs));
  }

  /** f + 1 fresh complaints about {@code view} from distinct replicas, or null. */
  private List<SignedMessage> evidence(long view) {
    Map<Integer, Heard> about = byView.get(view);
    if (about == null || view < state.view) {
      return null;
    }
    List<SignedMessage> fresh = new ArrayList<>();
    for (Heard h : about.values()) {
      if (state.nowMs - h.atMs() <= freshMs()) {
        fresh.add(h.signed());
      }
    }
    if (fresh.size() < state.weakQuorum()) {
      return null;
    }
    fresh.sort((a, b) -> Integer.compare(a.getSender(), b.getSender()));
    return List.copyOf(fresh.subList(0, state.weakQuorum()));
  }

  /** The replica moved to {@code view}: complaints about older views no longer matter. */
  void viewChanged() {
    byView.headMap(state.view, false).clear();
    if (own != null && complaintView(own) != state.view) {
      own = null;
    }
  }

  /** A stall of this replica (it was not running): complaints it heard age from its resumption. */
  void shift(long stallMs, long stallStartMs) {
    for (Map<Integer, Heard> about : byView.values()) {
      about.replaceAll((r, h) -> h.atMs() <= stallStartMs ? new Heard(h.signed(), h.atMs() + stallMs) : h);
    }
  }

  private static long complaintView(SignedMessage signed) {
    try {
      return ViewChangeRules.parse(signed).getComplaint().getView();
    } catch (ViewChangeRules.Invalid e) {
      throw new InvariantViolation("own complaint does not parse", e);
    }
  }
}

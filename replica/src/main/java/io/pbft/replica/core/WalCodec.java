package io.pbft.replica.core;

import io.pbft.proto.Checkpoint;
import io.pbft.proto.Commit;
import io.pbft.proto.CommittedBatch;
import io.pbft.proto.NewView;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.StablePoint;
import io.pbft.proto.ViewChange;
import io.pbft.proto.WalRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a durable replica keeps in its write-ahead log, written and read back side by side.
 *
 * <p>Written as it goes (by the sub-protocols, through the {@link Outbox}): every message it signs
 * in the protocol, every pre-prepare it accepts, its prepared certificates, the NEW-VIEW that
 * opened its view and every batch it hands to execution. After a checkpoint becomes stable the
 * log restarts from {@link #liveRecords()}.
 *
 * <p>Read back by {@link #recover}: the replica's view, stable checkpoint, the pre-prepares it
 * accepted and the votes it sent (so that it never contradicts them), its prepared certificates,
 * and the batches it executed after the application's last durable checkpoint.
 */
final class WalCodec {
  /** What recovery found: the batches to replay, in sequence order. */
  record Recovered(TreeMap<Long, CommittedBatch> committed) {}

  private final ReplicaState state;
  private final ViewChangeProtocol viewChange;
  private final Checkpoints checkpoints;

  WalCodec(ReplicaState state, ViewChangeProtocol viewChange, Checkpoints checkpoints) {
    this.state = state;
    this.viewChange = viewChange;
    this.checkpoints = checkpoints;
  }

  /**
   * Everything the log must still hold once checkpoint h is stable: the stable point with its
   * view, the NEW-VIEW of the current view, this replica's VIEW-CHANGE if it is changing views,
   * and for every sequence number above the checkpoint the pre-prepare it accepted or sent, its
   * own votes, its prepared certificate and the batch if it handed it to execution.
   */
  List<WalRecord> liveRecords() {
    List<WalRecord> live = new ArrayList<>();
    StablePoint.Builder stable = StablePoint.newBuilder().setSequence(state.lowWatermark)
        .setStateDigest(state.stableDigest).addAllProof(state.stableProof).setView(state.view)
        .setViewChanging(state.viewChanging);
    if (state.epoch > 0) {
      stable.setEpoch(state.epoch).setGenesis(state.genesis).setGenesisDigest(viewChange.certificates().genesisDigest());
    }
    live.add(WalRecord.newBuilder().setStable(stable).build());
    if (state.lastNewView != null) {
      live.add(WalRecord.newBuilder().setAcceptedNewView(state.lastNewView).build());
    }
    SignedMessage ownViewChange = viewChange.own();
    if (ownViewChange != null) {
      live.add(WalRecord.newBuilder().setSent(ownViewChange).build());
    }
    for (Slot slot : state.slots.values()) {
      if (slot.prePrepare != null) {
        live.add(slot.prePrepare.getSender() == state.id
            ? WalRecord.newBuilder().setSent(slot.prePrepare).build()
            : WalRecord.newBuilder().setAcceptedPrePrepare(slot.prePrepare).build());
      }
      for (Map<Integer, Slot.Vote> votes : List.of(slot.prepares, slot.commits)) {
        Slot.Vote own = votes.get(state.id);
        if (own != null) {
          live.add(WalRecord.newBuilder().setSent(own.signed()).build());
        }
      }
      if (slot.certificate != null) {
        live.add(WalRecord.newBuilder().setPrepared(slot.certificate).build());
      }
      if (slot.handedOut) {
        live.add(WalRecord.newBuilder().setCommitted(CommittedBatch.newBuilder().setSequence(slot.sequence)
            .setView(slot.view).setDigest(slot.digest).setBatch(slot.batch).setTimeMs(slot.timeMs)).build());
      }
    }
    return live;
  }

  /**
   * Reads the records back into the replica's state and returns the batches executed after the
   * application's checkpoint at {@code appSequence}, which the caller replays.
   */
  Recovered recover(long appSequence, List<WalRecord> records) {
    TreeMap<Long, CommittedBatch> committed = new TreeMap<>();
    for (WalRecord r : records) {
      if (epochOf(r) != state.epoch) {
        continue; // the previous epoch's, written before this replica entered its current one
      }
      try {
        switch (r.getEntryCase()) {
          case STABLE -> recoverStable(r.getStable());
          case SENT -> recoverSent(r.getSent());
          case ACCEPTED_PRE_PREPARE -> {
            PrePrepare pp = ViewChangeRules.parse(r.getAcceptedPrePrepare()).getPrePrepare();
            state.view = Math.max(state.view, pp.getView());
            install(pp, r.getAcceptedPrePrepare());
          }
          case PREPARED -> {
            PrePrepare pp = ViewChangeRules.parse(r.getPrepared().getPrePrepare()).getPrePrepare();
            Slot slot = state.slot(pp.getSequence());
            if (pp.getView() >= slot.certificateView) {
              slot.certificate = r.getPrepared();
              slot.certificateView = pp.getView();
            }
          }
          case ACCEPTED_NEW_VIEW -> recoverNewView(r.getAcceptedNewView());
          case COMMITTED -> committed.put(r.getCommitted().getSequence(), r.getCommitted());
          default -> throw new InvariantViolation("unknown log record " + r.getEntryCase());
        }
      } catch (ViewChangeRules.Invalid e) {
        throw new InvariantViolation("own log record does not parse: " + e.getMessage(), e);
      }
    }
    state.slots.headMap(state.lowWatermark, true).clear();
    for (Slot slot : state.slots.values()) {
      slot.prepared = slot.certificate != null && slot.certificateView == slot.view;
      if (slot.sequence <= appSequence) {
        // Executed before the crash: the application's checkpoint holds it.
        slot.handedOut = true;
        slot.executedDigest = slot.digest;
      }
    }
    TreeMap<Long, CommittedBatch> replay = new TreeMap<>(committed.tailMap(appSequence, false));
    // Every batch the log says this replica executed above the stable checkpoint gets its slot
    // back as committed, also those the application's checkpoint already holds: a peer behind
    // may need this replica's claim for them. Without those claims a replica restarted with its
    // application ahead of its stable checkpoint could vouch for nothing in between, and a peer
    // that needed f + 1 claims there stayed behind for good (simulator seed 100689: two restarts
    // and a traitor, one replica left at 93 while the others executed 125).
    for (CommittedBatch c : committed.tailMap(state.lowWatermark, false).values()) {
      Slot slot = state.slot(c.getSequence());
      if (slot.hasPrePrepare() && (slot.view != c.getView() || !slot.digest.equals(c.getDigest()))) {
        slot.forgetPrePrepare(); // committed through a certificate over what it had accepted
      }
      try {
        slot.accept(c.getView(), c.getDigest(), c.getBatch(), ViewChangeRules.requestsOf(c.getBatch()), slot.prePrepare,
            c.getTimeMs());
      } catch (ViewChangeRules.Invalid e) {
        throw new InvariantViolation("own log holds a batch that does not parse at " + c.getSequence(), e);
      }
      slot.prepared = true;
      slot.committed = true;
      slot.commitSent = true;
      if (c.getSequence() <= appSequence) {
        slot.handedOut = true;
        slot.executedDigest = slot.digest;
      }
    }
    return new Recovered(replay);
  }

  /**
   * The configuration epoch of the newest stable point in {@code records}: the epoch the replica's
   * core ran when it last compacted its log (0 for an empty log or a group that never changed).
   */
  public static long latestEpoch(List<WalRecord> records) {
    long epoch = 0;
    for (WalRecord r : records) {
      if (r.hasStable()) {
        epoch = Math.max(epoch, r.getStable().getEpoch());
      }
    }
    return epoch;
  }

  /**
   * The epoch a record belongs to: a stable point's own, a signed message's (its payload names
   * it), a committed batch's is the epoch of the stable point before it (it carries none; a
   * batch of the previous epoch is at or below the current genesis and never replayed).
   */
  private long epochOf(WalRecord r) {
    try {
      return switch (r.getEntryCase()) {
        case STABLE -> r.getStable().getEpoch();
        case SENT -> ViewChangeRules.parse(r.getSent()).getEpoch();
        case ACCEPTED_PRE_PREPARE -> ViewChangeRules.parse(r.getAcceptedPrePrepare()).getEpoch();
        case PREPARED -> ViewChangeRules.parse(r.getPrepared().getPrePrepare()).getEpoch();
        case ACCEPTED_NEW_VIEW -> ViewChangeRules.parse(r.getAcceptedNewView()).getEpoch();
        case COMMITTED -> r.getCommitted().getSequence() > state.genesis || state.epoch == 0 ? state.epoch : -1;
        default -> state.epoch;
      };
    } catch (ViewChangeRules.Invalid e) {
      throw new InvariantViolation("own log record does not parse: " + e.getMessage(), e);
    }
  }

  private void install(PrePrepare pp, SignedMessage signed) throws ViewChangeRules.Invalid {
    Slot slot = state.slot(pp.getSequence());
    if (slot.view < pp.getView()) {
      slot.accept(pp.getView(), pp.getDigest(), pp.getBatch(), ViewChangeRules.requestsOf(pp.getBatch()), signed,
          pp.getTimeMs());
    } else if (slot.view == pp.getView() && slot.prePrepare == null) {
      // A committed batch came first for this view: keep it, and the pre-prepare as its proof.
      slot.prePrepare = signed;
    }
  }

  private void recoverStable(StablePoint p) {
    if (state.epoch > 0 && !p.getGenesisDigest().isEmpty()) {
      state.genesis = p.getGenesis();
      viewChange.certificates().genesis(p.getGenesis(), p.getGenesisDigest());
    }
    if (p.getSequence() >= state.lowWatermark) {
      state.lowWatermark = p.getSequence();
      state.stableDigest = p.getStateDigest();
      state.stableProof = List.copyOf(p.getProofList());
    }
    if (p.getView() > state.view || (p.getView() == state.view && p.getViewChanging())) {
      state.view = p.getView();
      state.viewChanging = p.getViewChanging();
    }
  }

  private void recoverNewView(SignedMessage signed) throws ViewChangeRules.Invalid {
    NewView nv = ViewChangeRules.parse(signed).getNewView();
    if (nv.getView() < state.view) {
      return;
    }
    state.view = nv.getView();
    state.viewChanging = false;
    state.lastNewView = signed;
    for (SignedMessage m : nv.getPrePreparesList()) {
      PrePrepare pp = ViewChangeRules.parse(m).getPrePrepare();
      install(pp, m);
      if (m.getSender() == state.id) {
        // It was the new primary: these sequence numbers are assigned in this view. Reusing one
        // after a restart would be a second, different pre-prepare for the same (v, n).
        state.lastAssigned = Math.max(state.lastAssigned, pp.getSequence());
        state.slot(pp.getSequence()).notePrePrepared(pp.getView(), pp.getDigest());
      }
    }
  }

  private void recoverSent(SignedMessage signed) throws ViewChangeRules.Invalid {
    ReplicaMessage m = ViewChangeRules.parse(signed);
    switch (m.getBodyCase()) {
      case PRE_PREPARE -> {
        PrePrepare pp = m.getPrePrepare();
        state.view = Math.max(state.view, pp.getView());
        install(pp, signed);
        state.slot(pp.getSequence()).notePrePrepared(pp.getView(), pp.getDigest());
        state.lastAssigned = Math.max(state.lastAssigned, pp.getSequence());
      }
      case PREPARE -> {
        Prepare p = m.getPrepare();
        state.view = Math.max(state.view, p.getView());
        Slot slot = state.slot(p.getSequence());
        slot.prepares.put(state.id, new Slot.Vote(p.getView(), p.getDigest(), signed));
        slot.notePrePrepared(p.getView(), p.getDigest());
      }
      case COMMIT -> {
        Commit c = m.getCommit();
        state.view = Math.max(state.view, c.getView());
        Slot slot = state.slot(c.getSequence());
        slot.commits.put(state.id, new Slot.Vote(c.getView(), c.getDigest(), signed));
        slot.commitSent = true;
      }
      case CHECKPOINT -> {
        Checkpoint cp = m.getCheckpoint();
        if (cp.getSequence() > state.lowWatermark) {
          checkpoints.votes().record(state.id, cp.getSequence(), cp.getStateDigest(), signed);
        }
      }
      case VIEW_CHANGE -> {
        ViewChange vc = m.getViewChange();
        if (vc.getNewView() > state.view || (vc.getNewView() == state.view && state.viewChanging)) {
          state.view = vc.getNewView();
          state.viewChanging = true;
          viewChange.recoverOwn(vc, signed);
        }
      }
      case NEW_VIEW -> recoverNewView(signed);
      default -> { }
    }
  }
}

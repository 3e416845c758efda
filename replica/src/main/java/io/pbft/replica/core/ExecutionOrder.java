package io.pbft.replica.core;

import io.pbft.proto.CommittedBatch;
import io.pbft.proto.Reply;
import io.pbft.proto.WalRecord;
import java.util.function.BooleanSupplier;

/**
 * Hands committed batches to the executor strictly in sequence order (section 4.2) and takes
 * their results back: replies for the clients, the client table, and the digest of a checkpoint.
 * The core itself never runs the application; execution is an effect and its report an event, as
 * etcd raft hands out committed entries and takes them back with Advance.
 */
final class ExecutionOrder {
  private final ReplicaState state;
  private final Outbox outbox;
  private final Requests requests;
  private final BooleanSupplier fetchingState;
  private long executedRequests;

  ExecutionOrder(ReplicaState state, Outbox outbox, Requests requests, BooleanSupplier fetchingState) {
    this.state = state;
    this.outbox = outbox;
    this.requests = requests;
    this.fetchingState = fetchingState;
  }

  long executedRequests() {
    return executedRequests;
  }

  /**
   * Hands out every committed batch that is next in sequence (none while fetching state). Returns
   * true if one held a request this replica waited for (the primary makes progress).
   */
  boolean handOut() {
    boolean awaitedRan = false;
    while (!fetchingState.getAsBoolean()) {
      Slot slot = state.slots.get(state.lastHandedOut + 1);
      if (slot == null || !slot.committed || slot.handedOut) {
        break;
      }
      awaitedRan |= handOut(slot);
    }
    handOutTentatively();
    return awaitedRan;
  }

  /**
   * Tentative execution (protocol.tentativeExecution; Castro and Liskov, TOCS 2002, section
   * 5.1.2): the lowest batch not yet committed runs as soon as it is prepared in the current view,
   * every batch before it being committed and handed out; its clients get tentative replies and
   * accept 2f + 1 matching ones, a phase earlier. Checkpoints run committed only, so every
   * checkpoint (and state served to peers) is committed state. When a view change puts another
   * batch at its sequence number, the executor rolls it back before the next batch.
   */
  private void handOutTentatively() {
    if (state.tentativeSequence != 0) {
      Slot t = state.slots.get(state.tentativeSequence);
      if (state.tentativeSequence > state.lastHandedOut && t != null && state.tentativeDigest.equals(t.digest)) {
        return; // still to commit
      }
      // Handed out committed since (the executor kept or rolled back what ran), or replaced.
      state.tentativeSequence = 0;
      state.tentativeDigest = null;
    }
    if (!state.settings.tentativeExecution() || state.viewChanging || fetchingState.getAsBoolean()) {
      return;
    }
    long s = state.lastHandedOut + 1;
    Slot slot = state.slots.get(s);
    if (slot == null || !slot.prepared || slot.committed || slot.view != state.view
        || s % state.settings.checkpointInterval() == 0) {
      return;
    }
    state.tentativeSequence = s;
    state.tentativeDigest = slot.digest;
    outbox.execute(new Effects.Execute(s, slot.view, slot.requests, false, slot.timeMs, slot.digest, true));
  }

  private boolean handOut(Slot slot) {
    slot.handedOut = true;
    slot.executedDigest = slot.digest;
    state.lastHandedOut = slot.sequence;
    outbox.record(WalRecord.newBuilder().setCommitted(CommittedBatch.newBuilder().setSequence(slot.sequence)
        .setView(slot.view).setDigest(slot.digest).setBatch(slot.batch).setTimeMs(slot.timeMs)).build());
    outbox.execute(new Effects.Execute(slot.sequence, slot.view, slot.requests,
        slot.sequence % state.settings.checkpointInterval() == 0, slot.timeMs, slot.digest, false,
        slot.batch == null ? 0 : slot.batch.getProposedView()));
    return requests.committed(slot.requests);
  }

  /**
   * Hands out a batch again after a restart: it ran before the crash, after the application's
   * last durable checkpoint, and is replayed from the log (not logged again).
   */
  void replay(long sequence, long view, java.util.List<io.pbft.replica.verify.VerifiedRequest> batch, long timeMs,
      com.google.protobuf.ByteString digest, long proposedView) {
    if (sequence != state.lastHandedOut + 1) {
      throw new InvariantViolation("replaying " + sequence + " after " + state.lastHandedOut);
    }
    state.lastHandedOut = sequence;
    requests.committed(batch);
    outbox.execute(new Effects.Execute(sequence, view, batch, sequence % state.settings.checkpointInterval() == 0,
        timeMs, digest, false, proposedView));
  }

  /** The executor ran batch {@code e.sequence()}: answer its clients. */
  void onExecuted(Executed e) {
    if (e.tentative()) {
      // Its clients hear at once; everything else waits for the commit. A report that a state
      // installed meanwhile overtook says nothing any more.
      if (e.sequence() == state.lastExecuted + 1) {
        for (Executed.ClientResult r : e.results()) {
          outbox.reply(new Effects.ClientReply(r.clientId(), reply(e, r).setTentative(true).build()));
        }
      }
      return;
    }
    if (e.sequence() != state.lastExecuted + 1 || e.sequence() > state.lastHandedOut) {
      throw new InvariantViolation("executor reported batch " + e.sequence() + " after " + state.lastExecuted
          + " (handed out up to " + state.lastHandedOut + ")");
    }
    state.lastExecuted = e.sequence();
    for (Executed.ClientResult r : e.results()) {
      outbox.reply(new Effects.ClientReply(r.clientId(), reply(e, r).build()));
      if (r.fresh()) {
        executedRequests++;
      }
    }
    requests.executed(e.results());
  }

  private Reply.Builder reply(Executed e, Executed.ClientResult r) {
    return Reply.newBuilder().setView(e.view()).setTimestamp(r.timestamp()).setClientId(r.clientId())
        .setReplicaId(state.id).setResult(r.result());
  }

  /** State transfer moved execution to checkpoint {@code s}. */
  void installed(long s) {
    state.lastExecuted = s;
    state.lastHandedOut = s;
    state.tentativeSequence = 0; // the executor dropped it with the rest of its state
    state.tentativeDigest = null;
  }
}

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
    return awaitedRan;
  }

  private boolean handOut(Slot slot) {
    slot.handedOut = true;
    slot.executedDigest = slot.digest;
    state.lastHandedOut = slot.sequence;
    outbox.record(WalRecord.newBuilder().setCommitted(CommittedBatch.newBuilder().setSequence(slot.sequence)
        .setView(slot.view).setDigest(slot.digest).setBatch(slot.batch).setTimeMs(slot.timeMs)).build());
    outbox.execute(new Effects.Execute(slot.sequence, slot.view, slot.requests,
        slot.sequence % state.settings.checkpointInterval() == 0, slot.timeMs, slot.digest));
    return requests.committed(slot.requests);
  }

  /**
   * Hands out a batch again after a restart: it ran before the crash, after the application's
   * last durable checkpoint, and is replayed from the log (not logged again).
   */
  void replay(long sequence, long view, java.util.List<io.pbft.replica.verify.VerifiedRequest> batch, long timeMs,
      com.google.protobuf.ByteString digest) {
    if (sequence != state.lastHandedOut + 1) {
      throw new InvariantViolation("replaying " + sequence + " after " + state.lastHandedOut);
    }
    state.lastHandedOut = sequence;
    requests.committed(batch);
    outbox.execute(new Effects.Execute(sequence, view, batch, sequence % state.settings.checkpointInterval() == 0,
        timeMs, digest));
  }

  /** The executor ran batch {@code e.sequence()}: answer its clients. */
  void onExecuted(Executed e) {
    if (e.sequence() != state.lastExecuted + 1 || e.sequence() > state.lastHandedOut) {
      throw new InvariantViolation("executor reported batch " + e.sequence() + " after " + state.lastExecuted
          + " (handed out up to " + state.lastHandedOut + ")");
    }
    state.lastExecuted = e.sequence();
    for (Executed.ClientResult r : e.results()) {
      outbox.reply(new Effects.ClientReply(r.clientId(), Reply.newBuilder().setView(e.view())
          .setTimestamp(r.timestamp()).setClientId(r.clientId()).setReplicaId(state.id).setResult(r.result()).build()));
      if (r.fresh()) {
        executedRequests++;
      }
    }
    requests.executed(e.results());
  }

  /** State transfer moved execution to checkpoint {@code s}. */
  void installed(long s) {
    state.lastExecuted = s;
    state.lastHandedOut = s;
  }
}

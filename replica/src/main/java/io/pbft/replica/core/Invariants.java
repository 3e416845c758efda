package io.pbft.replica.core;

import java.util.Map;

/**
 * What must hold after every event, whatever the input was; a violation is a bug, never bad
 * input, and ends the replica (see {@link InvariantViolation}). {@link #checkCheap} runs after
 * every event in production (constant time); {@link #checkAll} also walks the log, and runs where
 * it is affordable (the simulator after every event, the runtime every so often).
 */
final class Invariants {
  private final ReplicaState state;
  private final Rules rules;
  private final StateTransfer transfer;

  Invariants(ReplicaState state, Rules rules, StateTransfer transfer) {
    this.state = state;
    this.rules = rules;
    this.transfer = transfer;
  }

  /** Ordering and watermarks, in constant time. */
  void checkCheap() {
    if (state.lastExecuted > state.lastHandedOut) {
      fail("executed " + state.lastExecuted + " beyond what was handed out, " + state.lastHandedOut);
    }
    if (state.lastHandedOut < state.lowWatermark && !transfer.active()) {
      fail("executed " + state.lastHandedOut + " below stable checkpoint " + state.lowWatermark + " and not fetching");
    }
    if (!state.slots.isEmpty() && state.slots.firstKey() <= state.lowWatermark) {
      fail("slot " + state.slots.firstKey() + " kept below low watermark " + state.lowWatermark);
    }
    if (!state.slots.isEmpty() && state.slots.lastKey() > state.highWatermark()) {
      fail("slot " + state.slots.lastKey() + " kept above high watermark " + state.highWatermark());
    }
    if (state.slots.size() > state.settings.windowSize()) {
      fail("log holds " + state.slots.size() + " slots, window is " + state.settings.windowSize());
    }
    if (state.isPrimary() && state.lastAssigned > state.highWatermark()) {
      fail("primary assigned " + state.lastAssigned + " beyond high watermark " + state.highWatermark());
    }
  }

  /**
   * Every slot: its certificates hold the quorums they claim, nothing committed without being
   * prepared, nothing handed to execution without being committed, and every batch at or below
   * what was handed out was handed out (execution never skips a sequence number).
   */
  void checkAll() {
    checkCheap();
    for (Map.Entry<Long, Slot> e : state.slots.entrySet()) {
      Slot slot = e.getValue();
      long s = e.getKey();
      if (slot.sequence != s) {
        fail("slot " + slot.sequence + " filed under " + s);
      }
      if (slot.prepared && !slot.hasPrePrepare()) {
        fail("slot " + s + " prepared without a pre-prepare");
      }
      if (slot.committed && !slot.prepared) {
        fail("slot " + s + " committed without being prepared");
      }
      if (slot.handedOut && slot.committed && slot.executedDigest != null
          && !slot.digest.equals(slot.executedDigest)) {
        fail("slot " + s + " committed a batch other than the one it executed");
      }
      if (s <= state.lastHandedOut && slot.hasPrePrepare() && slot.committed && !slot.handedOut
          && !transfer.active()) {
        fail("slot " + s + " committed at or below " + state.lastHandedOut + " but never executed");
      }
      if (slot.certificate != null) {
        int prepares = slot.certificate.getPreparesCount();
        if (prepares < rules.preparesNeeded(state.quorum())) {
          fail("slot " + s + " holds a prepared certificate with " + prepares + " prepares");
        }
      }
    }
  }

  private static void fail(String what) {
    throw new InvariantViolation(what);
  }
}

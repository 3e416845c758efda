package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;

/**
 * One client operation as the client saw it: what it asked, what f + 1 replicas answered, and
 * when (virtual milliseconds). An operation still outstanding at the end has a null result and
 * completeMs -1. Value-comparable, so two runs' histories can be compared with equals.
 */
public record OpRecord(int client, long timestamp, SimOp op, ByteString result, long invokeMs, long completeMs,
    int sends, boolean readOnly) {
  /** An ordered operation. */
  public OpRecord(int client, long timestamp, SimOp op, ByteString result, long invokeMs, long completeMs, int sends) {
    this(client, timestamp, op, result, invokeMs, completeMs, sends, false);
  }

  public boolean completed() {
    return result != null;
  }

  @Override
  public String toString() {
    return "client " + client + " t=" + timestamp + " " + op + " @" + invokeMs
        + (completed() ? " -> " + op.describeResult(result) + " @" + completeMs : " (incomplete)")
        + (sends > 1 ? " after " + (sends - 1) + " retransmissions" : "") + (readOnly ? " (read-only)" : "");
  }
}

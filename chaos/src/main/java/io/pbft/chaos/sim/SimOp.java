package io.pbft.chaos.sim;

/** One client operation of a simulated workload: the bytes the client signs, and a readable form. */
public interface SimOp {
  byte[] encode();

  /** Changes no state: a client may send it as a read-only request (StateMachine.query answers it). */
  default boolean readOnly() {
    return false;
  }

  /** A readable form of a result of this operation. */
  default String describeResult(com.google.protobuf.ByteString result) {
    return "0x" + Trace.shortHex(result);
  }
}

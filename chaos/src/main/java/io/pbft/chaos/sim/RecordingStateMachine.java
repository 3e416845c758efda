package io.pbft.chaos.sim;

import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.app.kv.KvStateMachine;
import java.util.List;

/** The key-value store of one simulated replica, reporting every batch it executes to the checkers. */
final class RecordingStateMachine implements StateMachine {
  private final int replica;
  private final KvStateMachine kv = new KvStateMachine();
  private final ExecutionLog log;

  RecordingStateMachine(int replica, ExecutionLog log) {
    this.replica = replica;
    this.log = log;
  }

  KvStateMachine kv() {
    return kv;
  }

  @Override
  public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
    log.onExecute(replica, context, operations);
    return kv.execute(context, operations);
  }

  @Override
  public byte[] query(byte[] operation) {
    return kv.query(operation);
  }

  @Override
  public byte[] stateDigest() {
    return kv.stateDigest();
  }

  @Override
  public byte[] snapshot() {
    return kv.snapshot();
  }

  @Override
  public void restore(byte[] snapshot) {
    kv.restore(snapshot);
  }
}

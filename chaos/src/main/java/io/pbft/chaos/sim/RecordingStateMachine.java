package io.pbft.chaos.sim;

import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import java.util.List;

/** The application of one simulated replica, reporting every batch it executes to the checkers. */
final class RecordingStateMachine implements StateMachine {
  private final int replica;
  private final StateMachine app;
  private final ExecutionLog log;

  RecordingStateMachine(int replica, StateMachine app, ExecutionLog log) {
    this.replica = replica;
    this.app = app;
    this.log = log;
  }

  StateMachine app() {
    return app;
  }

  @Override
  public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
    log.onExecute(replica, context, operations);
    return app.execute(context, operations);
  }

  @Override
  public byte[] query(byte[] operation) {
    return app.query(operation);
  }

  @Override
  public byte[] stateDigest() {
    return app.stateDigest();
  }

  @Override
  public byte[] snapshot() {
    return app.snapshot();
  }

  @Override
  public void restore(byte[] snapshot) {
    app.restore(snapshot);
  }
}

package io.pbft.replica.core;

import io.pbft.crypto.Digests;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A test application: records what it executed, answers "ok:" + operation, digest = hash chain. */
class RecordingApp implements StateMachine {
  final List<Operation> executed = new ArrayList<>();
  final List<Long> sequences = new ArrayList<>();
  /** The context of each batch executed (with at least one fresh operation). */
  final List<ExecutionContext> contexts = new ArrayList<>();
  private byte[] chain = new byte[32];

  @Override
  public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
    List<byte[]> results = new ArrayList<>();
    contexts.add(context);
    for (Operation op : operations) {
      executed.add(op);
      sequences.add(context.sequence());
      byte[] both = new byte[chain.length + op.payload().length];
      System.arraycopy(chain, 0, both, 0, chain.length);
      System.arraycopy(op.payload(), 0, both, chain.length, op.payload().length);
      chain = Digests.sha256(both);
      results.add(("ok:" + new String(op.payload(), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
    }
    return results;
  }

  @Override
  public byte[] query(byte[] operation) {
    // What a read sees: how many operations ran before it, and the query itself.
    return ("seen " + executed.size() + ":" + new String(operation, StandardCharsets.UTF_8))
        .getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public byte[] stateDigest() {
    return chain.clone();
  }

  @Override
  public byte[] snapshot() {
    return chain.clone();
  }

  @Override
  public void restore(byte[] snapshot) {
    chain = snapshot.clone();
  }
}

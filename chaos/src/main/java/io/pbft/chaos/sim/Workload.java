package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.replica.app.StateMachine;
import java.util.Random;
import java.util.function.Consumer;

/**
 * What the simulated clients run, against which application, and how to check the outcome: a
 * generator of operations per client, the replicated {@link StateMachine}, and a sequential
 * model that says what each operation must return when operations run one at a time in the
 * committed order (the linearizability checker replays that order through it).
 */
public interface Workload {
  /** The workloads the simulator knows. */
  enum Kind {
    /** Key-value store; each client reads and writes only its own keys. */
    KV,
    /** Key-value store; every client reads and writes one shared set of keys. */
    KV_SHARED,
    /** Bank ledger: transfers between shared accounts, reads of one or all balances. */
    BANK;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    public static Kind parse(String label) {
      return valueOf(label.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
    }
  }

  /** The operations of one closed-loop client. */
  interface Generator {
    SimOp next(long timestamp);

    /** The operation the client issued last completed with {@code result}. */
    void completed(SimOp op, ByteString result);
  }

  /** The sequential specification: operations applied one at a time, in the committed order. */
  interface Model {
    /** Applies {@code op} and returns what it must return. */
    ByteString apply(SimOp op);

    /** What a {@link SimOp#readOnly read-only} {@code op} returns here; the model stays as it is. */
    default ByteString query(SimOp op) {
      if (!op.readOnly()) {
        throw new IllegalArgumentException("not a read-only operation: " + op);
      }
      return apply(op);
    }
  }

  Kind kind();

  StateMachine newStateMachine();

  Generator generator(int client, Random random);

  Model newModel();

  /** Whether a client's {@code actual} result is the {@code expected} one. */
  default boolean sameResult(ByteString expected, ByteString actual) {
    return expected.equals(actual);
  }

  /**
   * Checks of a single completed operation that need no order (the bank's: a read of every
   * account sums to the initial total).
   */
  default void checkResult(OpRecord op, Consumer<String> violation) {}

  /**
   * Compares a correct replica's application state at the end with the model after the whole
   * committed order ran through it.
   */
  void checkFinalState(Model model, StateMachine app, String replica, Consumer<String> violation);

  static Workload create(Kind kind, SimulationConfig config) {
    return switch (kind) {
      case KV -> KvWorkload.perClient(config.keysPerClient());
      case KV_SHARED -> KvWorkload.shared(Math.max(2, config.keysPerClient() * 2));
      case BANK -> new BankWorkload(Math.max(2, config.keysPerClient() * 2), BankWorkload.INITIAL_BALANCE);
    };
  }
}

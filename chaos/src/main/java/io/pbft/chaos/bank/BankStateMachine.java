package io.pbft.chaos.bank;

import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * A bank ledger, the second application of the chaos harness (Jepsen's bank workload): a fixed
 * set of accounts, transfers between them that never overdraw, and reads of one or all balances.
 * Transfers move money and never create or destroy it, so every read of all accounts must sum to
 * the initial total; a replicated ledger that shows another total executed something twice,
 * skipped something, or let two replicas' histories mix.
 *
 * <p>Deterministic (no clock, no randomness); a malformed operation, an unknown account or a
 * non-positive amount is answered {@link BankOps#BAD} and changes nothing.
 */
public final class BankStateMachine implements StateMachine {
  private final long[] balances;

  public BankStateMachine(int accounts, long initialBalance) {
    if (accounts < 2 || initialBalance < 0) {
      throw new IllegalArgumentException("need at least 2 accounts and a non-negative balance");
    }
    balances = new long[accounts];
    java.util.Arrays.fill(balances, initialBalance);
  }

  public int accounts() {
    return balances.length;
  }

  public long balance(int account) {
    return balances[account];
  }

  public long total() {
    long sum = 0;
    for (long b : balances) {
      sum += b;
    }
    return sum;
  }

  @Override
  public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
    List<byte[]> results = new ArrayList<>(operations.size());
    for (Operation op : operations) {
      results.add(apply(op.payload()));
    }
    return results;
  }

  private byte[] apply(byte[] payload) {
    BankOps.Op op = BankOps.decode(payload);
    if (op == null) {
      return BankOps.status(BankOps.BAD);
    }
    return switch (op.kind()) {
      case BankOps.TRANSFER -> {
        if (!valid(op.from()) || !valid(op.to()) || op.from() == op.to() || op.amount() <= 0) {
          yield BankOps.status(BankOps.BAD);
        }
        if (balances[op.from()] < op.amount()) {
          yield BankOps.status(BankOps.INSUFFICIENT_FUNDS);
        }
        balances[op.from()] -= op.amount();
        balances[op.to()] += op.amount();
        yield BankOps.status(BankOps.OK);
      }
      default -> read(op);
    };
  }

  private byte[] read(BankOps.Op op) {
    if (op.kind() == BankOps.READ_ALL) {
      return BankOps.balances(balances.clone());
    }
    return valid(op.from()) ? BankOps.balances(balances[op.from()]) : BankOps.status(BankOps.BAD);
  }

  private boolean valid(int account) {
    return account >= 0 && account < balances.length;
  }

  @Override
  public byte[] query(byte[] operation) {
    BankOps.Op op = BankOps.decode(operation);
    if (op == null || op.kind() == BankOps.TRANSFER) {
      return BankOps.status(BankOps.BAD);
    }
    return read(op);
  }

  @Override
  public byte[] stateDigest() {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(snapshot());
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public byte[] snapshot() {
    ByteBuffer b = ByteBuffer.allocate(4 + 8 * balances.length).putInt(balances.length);
    for (long v : balances) {
      b.putLong(v);
    }
    return b.array();
  }

  /** @throws IllegalArgumentException if the snapshot is malformed or for another number of accounts */
  @Override
  public void restore(byte[] snapshot) {
    try {
      ByteBuffer b = ByteBuffer.wrap(snapshot);
      int count = b.getInt();
      if (count != balances.length || b.remaining() != 8 * count) {
        throw new IllegalArgumentException("snapshot of " + count + " accounts, ledger has " + balances.length);
      }
      long[] restored = new long[count];
      for (int i = 0; i < count; i++) {
        restored[i] = b.getLong();
      }
      System.arraycopy(restored, 0, balances, 0, count);
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated ledger snapshot", e);
    }
  }
}

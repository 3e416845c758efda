package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.chaos.bank.BankOps;
import io.pbft.chaos.bank.BankStateMachine;
import io.pbft.replica.app.StateMachine;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Jepsen's bank workload on {@link BankStateMachine}: clients transfer random amounts between
 * shared accounts and read balances. Besides the linearizability check every workload gets, the
 * total of every read of all accounts must be the initial total, no balance may go negative, and
 * every correct replica must end holding that total.
 */
final class BankWorkload implements Workload {
  static final long INITIAL_BALANCE = 100;

  private final int accounts;
  private final long initialBalance;

  BankWorkload(int accounts, long initialBalance) {
    this.accounts = accounts;
    this.initialBalance = initialBalance;
  }

  /** A bank operation: decoded form plus its bytes. */
  record BankOp(BankOps.Op op, byte[] bytes) implements SimOp {
    @Override
    public byte[] encode() {
      return bytes;
    }

    @Override
    public boolean readOnly() {
      return op.kind() != BankOps.TRANSFER;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof BankOp b && Arrays.equals(bytes, b.bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }

    @Override
    public String describeResult(ByteString result) {
      return BankOps.describeResult(result.toByteArray());
    }

    @Override
    public String toString() {
      return op.toString();
    }
  }

  @Override
  public Kind kind() {
    return Kind.BANK;
  }

  @Override
  public StateMachine newStateMachine() {
    return new BankStateMachine(accounts, initialBalance);
  }

  long total() {
    return accounts * initialBalance;
  }

  @Override
  public Generator generator(int client, Random random) {
    return new Generator() {
      @Override
      public SimOp next(long timestamp) {
        int roll = random.nextInt(100);
        byte[] bytes;
        if (roll < 70) {
          int from = random.nextInt(accounts);
          int to = (from + 1 + random.nextInt(accounts - 1)) % accounts;
          bytes = BankOps.transfer(from, to, 1 + random.nextInt((int) Math.max(1, initialBalance / 2)));
        } else if (roll < 90) {
          bytes = BankOps.readAll();
        } else {
          bytes = BankOps.read(random.nextInt(accounts));
        }
        return new BankOp(BankOps.decode(bytes), bytes);
      }

      @Override
      public void completed(SimOp op, ByteString result) {}
    };
  }

  @Override
  public Model newModel() {
    return new BankModel(newLedger());
  }

  private BankStateMachine newLedger() {
    return new BankStateMachine(accounts, initialBalance);
  }

  /** The sequential ledger: balances in an array, one operation at a time. */
  static final class BankModel implements Model {
    final long[] balances;

    BankModel(BankStateMachine initial) {
      balances = new long[initial.accounts()];
      for (int i = 0; i < balances.length; i++) {
        balances[i] = initial.balance(i);
      }
    }

    @Override
    public ByteString apply(SimOp op) {
      BankOps.Op o = ((BankOp) op).op();
      return switch (o.kind()) {
        case BankOps.TRANSFER -> {
          if (balances[o.from()] < o.amount()) {
            yield ByteString.copyFrom(new byte[] {BankOps.INSUFFICIENT_FUNDS});
          }
          balances[o.from()] -= o.amount();
          balances[o.to()] += o.amount();
          yield ByteString.copyFrom(new byte[] {BankOps.OK});
        }
        case BankOps.READ -> reads(balances[o.from()]);
        default -> reads(balances.clone());
      };
    }

    private static ByteString reads(long... values) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(5 + 8 * values.length).put(BankOps.OK)
          .putInt(values.length);
      for (long v : values) {
        b.putLong(v);
      }
      return ByteString.copyFrom(b.array());
    }
  }

  @Override
  public void checkResult(OpRecord op, Consumer<String> violation) {
    BankOps.Op o = ((BankOp) op.op()).op();
    long[] balances = BankOps.balancesOf(op.result().toByteArray());
    if (o.kind() == BankOps.READ_ALL) {
      if (balances == null || balances.length != accounts) {
        violation.accept("bank: " + op + " is not a read of " + accounts + " accounts");
        return;
      }
      long sum = Arrays.stream(balances).sum();
      if (sum != total()) {
        violation.accept("bank: " + op + " sums to " + sum + ", the ledger always holds " + total());
      }
    }
    if (balances != null && Arrays.stream(balances).anyMatch(b -> b < 0)) {
      violation.accept("bank: " + op + " shows a negative balance");
    }
  }

  @Override
  public void checkFinalState(Model model, StateMachine app, String replica, Consumer<String> violation) {
    BankStateMachine ledger = (BankStateMachine) app;
    if (ledger.total() != total()) {
      violation.accept("bank: " + replica + " ends holding " + ledger.total() + ", the ledger always holds " + total());
    }
    long[] expected = ((BankModel) model).balances;
    for (int a = 0; a < accounts; a++) {
      if (ledger.balance(a) != expected[a]) {
        violation.accept("final state: " + replica + " holds " + ledger.balance(a) + " in account a" + a
            + " but the committed order leaves " + expected[a]);
        return;
      }
    }
  }
}

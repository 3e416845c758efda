package io.pbft.chaos.bank;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bank ledger: transfers never overdraw and never change the total; bad input changes nothing. */
class BankStateMachineTest {
  private final BankStateMachine bank = new BankStateMachine(3, 100);

  private byte[] run(byte[] op) {
    return bank.execute(new ExecutionContext(1), List.of(new Operation(0, 1, op))).get(0);
  }

  @Test
  void transferMovesMoneyAndKeepsTheTotal() {
    assertArrayEquals(new byte[] {BankOps.OK}, run(BankOps.transfer(0, 1, 30)));
    assertArrayEquals(new long[] {70, 130, 100}, BankOps.balancesOf(run(BankOps.readAll())));
    assertArrayEquals(new long[] {130}, BankOps.balancesOf(run(BankOps.read(1))));
    assertEquals(300, bank.total());
  }

  @Test
  void transferThatWouldOverdrawIsRefused() {
    assertArrayEquals(new byte[] {BankOps.INSUFFICIENT_FUNDS}, run(BankOps.transfer(2, 0, 101)));
    assertArrayEquals(new long[] {100, 100, 100}, BankOps.balancesOf(run(BankOps.readAll())));
  }

  @Test
  void malformedOperationsAreAnsweredBadAndChangeNothing() {
    byte[] before = bank.stateDigest();
    for (byte[] bad : List.of(new byte[0], new byte[] {9}, BankOps.transfer(0, 0, 5), BankOps.transfer(0, 7, 5),
        BankOps.transfer(0, 1, 0), BankOps.transfer(0, 1, -5), BankOps.read(3),
        Arrays.copyOf(BankOps.transfer(0, 1, 5), 10))) {
      assertArrayEquals(new byte[] {BankOps.BAD}, run(bad), () -> Arrays.toString(bad));
    }
    assertArrayEquals(before, bank.stateDigest());
  }

  @Test
  void snapshotRestoresTheSameStateAndDigest() {
    run(BankOps.transfer(1, 2, 40));
    BankStateMachine other = new BankStateMachine(3, 100);
    assertFalse(Arrays.equals(bank.stateDigest(), other.stateDigest()));
    other.restore(bank.snapshot());
    assertArrayEquals(bank.stateDigest(), other.stateDigest());
    assertEquals(140, other.balance(2));
  }

  @Test
  void snapshotOfAnotherLedgerIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> bank.restore(new BankStateMachine(4, 1).snapshot()));
    assertThrows(IllegalArgumentException.class, () -> bank.restore(new byte[] {0, 0}));
  }

  @Test
  void queriesAnswerReadsOnly() {
    assertArrayEquals(new long[] {100, 100, 100}, BankOps.balancesOf(bank.query(BankOps.readAll())));
    assertArrayEquals(new byte[] {BankOps.BAD}, bank.query(BankOps.transfer(0, 1, 1)));
    assertEquals(300, bank.total());
  }
}

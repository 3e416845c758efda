package io.pbft.chaos.bank;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;

/**
 * The wire form of bank operations and results. Operations: {@code TRANSFER from to amount},
 * {@code READ account}, {@code READ_ALL}. Results start with a status byte; reads carry balances.
 * Decoding is strict: anything malformed decodes to null, and the ledger answers {@link #BAD}.
 */
public final class BankOps {
  public static final byte TRANSFER = 1;
  public static final byte READ = 2;
  public static final byte READ_ALL = 3;

  public static final byte OK = 0;
  public static final byte INSUFFICIENT_FUNDS = 1;
  public static final byte BAD = 2;

  /** A decoded operation; {@code account} is the read account or the transfer's source. */
  public record Op(byte kind, int from, int to, long amount) {
    @Override
    public String toString() {
      return switch (kind) {
        case TRANSFER -> "transfer " + amount + " from a" + from + " to a" + to;
        case READ -> "read a" + from;
        case READ_ALL -> "read all";
        default -> "bad op";
      };
    }
  }

  private BankOps() {}

  public static byte[] transfer(int from, int to, long amount) {
    return ByteBuffer.allocate(17).put(TRANSFER).putInt(from).putInt(to).putLong(amount).array();
  }

  public static byte[] read(int account) {
    return ByteBuffer.allocate(5).put(READ).putInt(account).array();
  }

  public static byte[] readAll() {
    return new byte[] {READ_ALL};
  }

  /** The operation, or null if the bytes are not one. */
  public static Op decode(byte[] bytes) {
    try {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      byte kind = b.get();
      Op op = switch (kind) {
        case TRANSFER -> new Op(kind, b.getInt(), b.getInt(), b.getLong());
        case READ -> new Op(kind, b.getInt(), -1, 0);
        case READ_ALL -> new Op(kind, -1, -1, 0);
        default -> null;
      };
      return b.hasRemaining() ? null : op;
    } catch (BufferUnderflowException e) {
      return null;
    }
  }

  static byte[] status(byte status) {
    return new byte[] {status};
  }

  static byte[] balances(long... balances) {
    ByteBuffer b = ByteBuffer.allocate(1 + 4 + 8 * balances.length).put(OK).putInt(balances.length);
    for (long v : balances) {
      b.putLong(v);
    }
    return b.array();
  }

  /** The balances a read returned, or null if the result is not a successful read. */
  public static long[] balancesOf(byte[] result) {
    try {
      ByteBuffer b = ByteBuffer.wrap(result);
      if (b.get() != OK) {
        return null;
      }
      int count = b.getInt();
      if (count < 0 || count > b.remaining() / 8) {
        return null;
      }
      long[] out = new long[count];
      for (int i = 0; i < count; i++) {
        out[i] = b.getLong();
      }
      return b.hasRemaining() ? null : out;
    } catch (BufferUnderflowException e) {
      return null;
    }
  }

  /** A readable form of a result. */
  public static String describeResult(byte[] result) {
    if (result.length == 1) {
      return switch (result[0]) {
        case OK -> "OK";
        case INSUFFICIENT_FUNDS -> "INSUFFICIENT_FUNDS";
        case BAD -> "BAD";
        default -> "status " + result[0];
      };
    }
    long[] balances = balancesOf(result);
    return balances == null ? "(" + result.length + " bytes)" : java.util.Arrays.toString(balances);
  }
}

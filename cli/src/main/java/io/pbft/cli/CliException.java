package io.pbft.cli;

/**
 * A failure the user should see as one line, without a stack trace, and the exit code that goes
 * with it: {@link #USAGE} for bad arguments or configuration, {@link #FAILED} for an operation
 * that did not succeed (timeout, unreachable cluster, port in use), {@link #BROKEN} for a replica
 * that stopped on a broken internal invariant (a supervisor should restart it; recovery runs).
 */
public final class CliException extends RuntimeException {
  public static final int FAILED = 1;
  public static final int USAGE = 2;
  public static final int BROKEN = 3;

  private final int exitCode;

  public CliException(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  public CliException(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  public static CliException usage(String message) {
    return new CliException(USAGE, message);
  }

  public static CliException failed(String message) {
    return new CliException(FAILED, message);
  }

  public int exitCode() {
    return exitCode;
  }
}

package io.pbft.replica.core;

/**
 * A broken internal invariant: a bug, never bad input (bad input is dropped and counted). The
 * replica must not go on with state it cannot trust; the runtime ends the process with the reason
 * so that a supervisor restarts it and recovery runs from the durable log.
 */
public final class InvariantViolation extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public InvariantViolation(String message) {
    super(message);
  }

  public InvariantViolation(String message, Throwable cause) {
    super(message, cause);
  }
}

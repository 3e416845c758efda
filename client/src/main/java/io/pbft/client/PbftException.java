package io.pbft.client;

/**
 * An operation did not produce an agreed result. Unchecked: callers of a replicated service
 * mostly let it propagate; the subclasses say whether waiting longer might have helped
 * ({@link PbftTimeoutException}) or no replica could be reached at all
 * ({@link PbftUnavailableException}).
 */
public class PbftException extends RuntimeException {
  public PbftException(String message) {
    super(message);
  }

  public PbftException(String message, Throwable cause) {
    super(message, cause);
  }
}

package io.pbft.client;

/**
 * Fewer than f + 1 replicas sent matching replies within the operation timeout although some
 * replicas could be reached. The operation may or may not have been executed.
 */
public class PbftTimeoutException extends PbftException {
  public PbftTimeoutException(String message) {
    super(message);
  }
}

package io.pbft.testkit;

/** Something a {@link Cluster} waited for did not happen in time; the message says what, and how things stood. */
public class ClusterTimeoutException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public ClusterTimeoutException(String message) {
    super(message);
  }
}

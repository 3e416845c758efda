package io.pbft.crypto.tls;

/** A certificate or private key that cannot be used; the message names the file and the problem. */
public final class TlsMaterialException extends RuntimeException {
  public TlsMaterialException(String message) {
    super(message);
  }

  public TlsMaterialException(String message, Throwable cause) {
    super(message, cause);
  }
}

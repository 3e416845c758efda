package io.pbft.crypto;

/**
 * A session handshake message that must not be used: malformed, badly signed, meant for
 * another party, or not bound to the message it claims to answer. The message says which.
 *
 * <p>Checked on purpose: handshake messages come straight from the network, possibly from a
 * Byzantine peer, so every caller has to decide what a refusal means for its stream.
 */
public final class HandshakeException extends Exception {
  public HandshakeException(String message) {
    super(message);
  }

  public HandshakeException(String message, Throwable cause) {
    super(message, cause);
  }
}

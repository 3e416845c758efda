package io.pbft.client;

/**
 * Not a single replica could be connected to (session handshake completed) during the whole
 * operation timeout. The operation was not delivered to any replica.
 */
public class PbftUnavailableException extends PbftException {
  public PbftUnavailableException(String message) {
    super(message);
  }
}

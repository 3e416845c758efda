package io.pbft.crypto;

/** Produces signatures with one identity's private key. Implementations are thread-safe. */
@FunctionalInterface
public interface Signer {
  byte[] sign(byte[] message);
}

package io.pbft.crypto;

/**
 * Checks the signatures of one identity. {@link PublicKeyVerifier} checks Ed25519 signatures; the
 * simulator's fast mode checks a keyed hash instead, which binds signer and content just as well
 * as long as only the signer holds the key. Implementations never throw on bad input.
 */
@FunctionalInterface
public interface SignatureCheck {
  /** Whether {@code signature} is this identity's over exactly {@code message}. */
  boolean verify(byte[] message, byte[] signature);
}

package io.pbft.replica.verify;

import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;

/**
 * A client request parsed once and checked once: from a known client, within the size bounds,
 * and, when {@code authenticated}, shown to come from its client (its signature verified, or its
 * authenticator's entry for this replica, by the inbound verifier; or vouched for by a quorum
 * certificate the core checked). A request inside a pre-prepare whose MAC for this replica does
 * not check is carried with {@code authenticated} false: the core then waits for the primary and
 * f backups to vouch for its batch before preparing it. It travels in this form from the verifier
 * through the core to execution, so nothing downstream parses or checks it again.
 */
public record VerifiedRequest(SignedRequest signed, Request request, boolean authenticated) {
  /** A request authenticated by signature, by this replica's MAC, or by a certificate. */
  public VerifiedRequest(SignedRequest signed, Request request) {
    this(signed, request, true);
  }

  public int clientId() {
    return request.getClientId();
  }

  public long timestamp() {
    return request.getTimestamp();
  }
}

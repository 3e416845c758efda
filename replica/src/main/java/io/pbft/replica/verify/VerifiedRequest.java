package io.pbft.replica.verify;

import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;

/**
 * A client request parsed once and checked once: from a known client, within the size bounds,
 * and authenticated (its signature verified by the inbound verifier, or vouched for by a quorum
 * certificate the core checked). It travels in this form from the verifier through the core to
 * execution, so nothing downstream parses or checks it again.
 */
public record VerifiedRequest(SignedRequest signed, Request request) {
  public int clientId() {
    return request.getClientId();
  }

  public long timestamp() {
    return request.getTimestamp();
  }
}

package io.pbft.replica.verify;

import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import java.util.List;

/**
 * A replica message whose sender is known and whose signature verified, parsed. {@code requests}
 * holds the client requests it carries, parsed and checked once: the batch of a PRE-PREPARE
 * (each request's client signature verified) or the request of a FORWARDED-REQUEST; empty for
 * every other kind.
 */
public record VerifiedMessage(int sender, ReplicaMessage message, SignedMessage signed,
    List<VerifiedRequest> requests) {
  public VerifiedMessage(int sender, ReplicaMessage message, SignedMessage signed) {
    this(sender, message, signed, List.of());
  }
}

package io.pbft.replica.verify;

import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;

/** A replica message whose sender is known and whose signatures (its own and, for a
 * pre-prepare, every client request it carries) verified. */
public record VerifiedMessage(int sender, ReplicaMessage message, SignedMessage signed) {}

package io.pbft.chaos.traitor;

import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;

/** Small helpers traitors share. */
final class Messages {
  private Messages() {}

  /** The body of a signed message, or null if it does not parse. */
  static ReplicaMessage parse(SignedMessage m) {
    try {
      return ReplicaMessage.parseFrom(m.getPayload());
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }
}

package io.pbft.replica.verify;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.ReplicaMessage;

/**
 * Replica message payloads parsed and checked for unknown fields once per payload object, for
 * verifiers that see the very same bytes: the simulator hands one signed message to every
 * replica it is addressed to, and each would otherwise parse it and walk it for unknown fields
 * again (about a sixth of a simulated run). A payload is known by its identity, not its content:
 * two equal payloads parse alike, so a miss costs only the work it would have cost anyway, and a
 * hit returns an immutable message. Not thread-safe (nor is a Parsed): one per simulation, whose replicas run on
 * one thread. Replicas over the network parse each payload they receive once and need none.
 */
public final class ParsedPayloads {
  /**
   * A payload parsed: its message, or null if it does not parse; and whether any part has unknown
   * fields, found out on first asking (a message embedded in another is only parsed, not checked).
   */
  public static final class Parsed {
    private final ReplicaMessage message;
    private byte unknownFields = -1;

    Parsed(ReplicaMessage message) {
      this.message = message;
    }

    public ReplicaMessage message() {
      return message;
    }

    public boolean unknownFields() {
      if (unknownFields < 0) {
        unknownFields = (byte) (message != null && InboundVerifier.hasUnknownFields(message) ? 1 : 0);
      }
      return unknownFields == 1;
    }
  }

  private final ByteString[] keys;
  private final Parsed[] values;
  private final int mask;

  /** Remembers up to {@code slots} payloads (a power of two), the newest in each slot. */
  public ParsedPayloads(int slots) {
    if (Integer.bitCount(slots) != 1) {
      throw new IllegalArgumentException("slots must be a power of two, got " + slots);
    }
    keys = new ByteString[slots];
    values = new Parsed[slots];
    mask = slots - 1;
  }

  /** {@code payload} parsed, from memory if this very object was parsed before. */
  public Parsed parse(ByteString payload) {
    int slot = mix(System.identityHashCode(payload)) & mask;
    if (keys[slot] == payload) {
      return values[slot];
    }
    Parsed p = parseNow(payload);
    keys[slot] = payload;
    values[slot] = p;
    return p;
  }

  /** Parses {@code payload} without remembering it. */
  public static Parsed parseNow(ByteString payload) {
    try {
      return new Parsed(ReplicaMessage.parseFrom(payload));
    } catch (InvalidProtocolBufferException e) {
      return new Parsed(null);
    }
  }

  private static int mix(int h) {
    h *= 0x9E3779B9;
    return h ^ (h >>> 16);
  }
}

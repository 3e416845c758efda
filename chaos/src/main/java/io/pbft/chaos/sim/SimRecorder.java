package io.pbft.chaos.sim;

import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;

/**
 * Hears, in the order they happen, the inputs a simulation feeds its replicas' cores, each with
 * the receiving replica's own clock: verified messages and requests, ticks, crashes, resumptions
 * and restarts from disk. With these alone a run can be replayed core by core (a script exporter
 * writes them out). Twins share their replica's id; a recorder that replays should treat every
 * faulty replica's events as its own business.
 */
public interface SimRecorder {
  SimRecorder NONE = new SimRecorder() {};

  /** {@code message}, sent by replica {@code from}, passed the verifier and reaches replica {@code to}. */
  default void delivered(int from, int to, long localMs, SignedMessage message) {}

  /** Client {@code client}'s request passed the verifier and reaches replica {@code to}. */
  default void request(int client, int to, long localMs, SignedRequest request) {}

  default void tick(int replica, long localMs) {}

  /** The replica stops (paused, crashed for good, or crashed losing its memory). */
  default void crashed(int replica) {}

  /** A paused replica goes on, its memory intact. */
  default void resumed(int replica) {}

  /** A new process of the replica recovers from its disk. */
  default void restarted(int replica, long localMs) {}

  /**
   * Something went on the wire at virtual time {@code sentMs}: a replica message ({@link
   * io.pbft.proto.ReplicaMessage}), a client's {@link SignedRequest} or a {@link
   * io.pbft.proto.Reply}. Endpoints are replicas 0..n-1, then clients n, n+1, ...; {@code
   * arrivalMs} is when the network delivers it, or -1 if it is lost (a duplicate is a second call).
   */
  default void wire(long sentMs, long arrivalMs, int from, int to, Object what) {}
}

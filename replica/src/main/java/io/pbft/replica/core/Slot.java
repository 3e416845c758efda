package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.proto.Batch;
import io.pbft.proto.SignedMessage;
import java.util.HashMap;
import java.util.Map;

/**
 * Everything one replica knows about one sequence number in its log: the accepted
 * pre-prepare, the prepare and commit votes seen, and how far the request got
 * (OSDI 1999, section 4.2: pre-prepared, prepared, committed-local, executed).
 */
final class Slot {
  /** A vote (prepare or commit) of one replica, kept with its signed form for proofs. */
  record Vote(long view, ByteString digest, SignedMessage signed) {}

  final long sequence;

  // The accepted pre-prepare, if any.
  long view = -1;
  ByteString digest;
  Batch batch;
  SignedMessage prePrepare;

  final Map<Integer, Vote> prepares = new HashMap<>();
  final Map<Integer, Vote> commits = new HashMap<>();

  boolean prepareSent;
  boolean commitSent;
  boolean prepared;
  boolean committed;
  boolean executed;

  Slot(long sequence) {
    this.sequence = sequence;
  }

  boolean hasPrePrepare() {
    return batch != null;
  }

  /** Votes from distinct replicas for the accepted pre-prepare's (view, digest). */
  int matching(Map<Integer, Vote> votes) {
    if (!hasPrePrepare()) {
      return 0;
    }
    int count = 0;
    for (Vote v : votes.values()) {
      if (v.view() == view && v.digest().equals(digest)) {
        count++;
      }
    }
    return count;
  }
}

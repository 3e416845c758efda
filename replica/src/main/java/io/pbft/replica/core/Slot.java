package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.proto.Batch;
import io.pbft.proto.PreparedCertificate;
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

  /** Proof of the highest-view prepare at this replica; survives view changes (section 4.4). */
  PreparedCertificate certificate;
  long certificateView = -1;

  boolean prepareSent;
  boolean commitSent;
  boolean prepared;
  boolean committed;
  boolean executed;

  Slot(long sequence) {
    this.sequence = sequence;
  }

  /** Installs a pre-prepare for (a new) view, forgetting progress made in an older view. */
  void accept(long view, ByteString digest, Batch batch, SignedMessage prePrepare) {
    this.view = view;
    this.digest = digest;
    this.batch = batch;
    this.prePrepare = prePrepare;
    this.prepareSent = false;
    this.commitSent = false;
    this.prepared = false;
    this.committed = false;
  }

  /** Drops an old view's pre-prepare that the new view did not carry over. */
  void forgetPrePrepare() {
    view = -1;
    digest = null;
    batch = null;
    prePrepare = null;
    prepareSent = false;
    commitSent = false;
    prepared = false;
    committed = false;
  }

  /** The 2f prepares matching the accepted pre-prepare, as signed messages. */
  java.util.List<SignedMessage> matchingPrepares() {
    java.util.List<SignedMessage> out = new java.util.ArrayList<>();
    for (Vote v : prepares.values()) {
      if (v.view() == view && v.digest().equals(digest)) {
        out.add(v.signed());
      }
    }
    return out;
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

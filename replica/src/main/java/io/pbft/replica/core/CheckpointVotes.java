package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.proto.SignedMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * CHECKPOINT votes above the low watermark (section 4.3), kept with their signed form so that a
 * stable checkpoint can be proven to others in a VIEW-CHANGE. Bounded: only sequence numbers in
 * the window are kept, one vote per replica each.
 */
final class CheckpointVotes {
  private record Vote(ByteString digest, SignedMessage signed) {}

  private final TreeMap<Long, Map<Integer, Vote>> votes = new TreeMap<>();

  /**
   * Records {@code sender}'s vote. A replica that signed two digests for one checkpoint is faulty;
   * of its votes the one kept is the first, unless a later one agrees with more of the other
   * replicas. Keeping the first alone let a faulty replica that sent a bogus vote first withhold
   * its genuine one, which a peer relays in a stable proof: a replica that missed a slot the others
   * had already discarded could then never see the checkpoint proven, never fetched its state, and
   * stayed behind for good (simulator seed 99 of the partial-authenticator sweep). Any 2f + 1
   * matching signed votes prove a checkpoint, whatever else their signers signed.
   */
  void record(int sender, long sequence, ByteString digest, SignedMessage signed) {
    Map<Integer, Vote> at = votes.computeIfAbsent(sequence, k -> new HashMap<>());
    Vote known = at.get(sender);
    if (known == null
        || (!known.digest().equals(digest) && othersFor(at, digest, sender) > othersFor(at, known.digest(), sender))) {
      at.put(sender, new Vote(digest, signed));
    }
  }

  private static int othersFor(Map<Integer, Vote> at, ByteString digest, int sender) {
    int n = 0;
    for (Map.Entry<Integer, Vote> e : at.entrySet()) {
      if (e.getKey() != sender && e.getValue().digest().equals(digest)) {
        n++;
      }
    }
    return n;
  }

  ByteString digestOf(int sender, long sequence) {
    Map<Integer, Vote> at = votes.get(sequence);
    Vote v = at == null ? null : at.get(sender);
    return v == null ? null : v.digest();
  }

  /** The signed votes for (sequence, digest), one per replica. */
  /** A digest that at least {@code quorum} distinct replicas voted at {@code sequence}, or null. */
  ByteString withQuorumAt(long sequence, int quorum) {
    Map<Integer, Vote> at = votes.get(sequence);
    if (at == null) {
      return null;
    }
    Map<ByteString, Integer> counts = new HashMap<>();
    for (Vote v : at.values()) {
      if (counts.merge(v.digest(), 1, Integer::sum) >= quorum) {
        return v.digest();
      }
    }
    return null;
  }

  List<SignedMessage> matching(long sequence, ByteString digest) {
    List<SignedMessage> out = new ArrayList<>();
    Map<Integer, Vote> at = votes.get(sequence);
    if (at != null) {
      for (Vote v : at.values()) {
        if (v.digest().equals(digest)) {
          out.add(v.signed());
        }
      }
    }
    return out;
  }

  /**
   * The highest sequence number with at least {@code quorum} matching votes, with its digest, or
   * null. Used to notice that others have moved past this replica.
   */
  Map.Entry<Long, ByteString> highestWithQuorum(int quorum) {
    for (Long s : votes.descendingKeySet()) {
      Map<ByteString, Integer> counts = new HashMap<>();
      for (Vote v : votes.get(s).values()) {
        int c = counts.merge(v.digest(), 1, Integer::sum);
        if (c >= quorum) {
          return Map.entry(s, v.digest());
        }
      }
    }
    return null;
  }

  /** The signed votes of {@code sender}, by sequence number. */
  TreeMap<Long, SignedMessage> of(int sender) {
    TreeMap<Long, SignedMessage> out = new TreeMap<>();
    votes.forEach((s, at) -> {
      Vote v = at.get(sender);
      if (v != null) {
        out.put(s, v.signed());
      }
    });
    return out;
  }

  void discardUpTo(long sequence) {
    votes.headMap(sequence, true).clear();
  }
}

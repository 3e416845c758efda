package io.pbft.chaos.script;

import com.google.protobuf.ByteString;
import io.pbft.crypto.Digests;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.core.Effects;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The safety property of the paper (section 4.5.1) as a script checks it: at every sequence number,
 * every correct replica executed the same batch. Kept from the batches each replica handed to its
 * application; a replica restarted from its log that executes a sequence number again must execute
 * the same batch as before.
 */
final class Agreement {
  private record Ran(long view, ByteString digest, String batch) {}

  private final Map<Integer, TreeMap<Long, Ran>> byReplica = new TreeMap<>();
  private final List<String> contradictions = new ArrayList<>();

  void executed(int replica, Effects.Execute e) {
    List<SignedRequest> signed = new ArrayList<>();
    for (VerifiedRequest r : e.requests()) {
      signed.add(r.signed());
    }
    Ran ran = new Ran(e.view(), ByteString.copyFrom(Digests.batchDigest(signed)), Describe.batch(signed));
    Ran before = byReplica.computeIfAbsent(replica, k -> new TreeMap<>()).putIfAbsent(e.sequence(), ran);
    if (before != null && !before.digest().equals(ran.digest())) {
      contradictions.add("r" + replica + " executed n=" + e.sequence() + " twice: " + before.batch() + " then "
          + ran.batch());
    }
  }

  /** Every disagreement among the replicas not in {@code ignored}, lowest sequence number first. */
  List<String> violations(Set<Integer> ignored) {
    List<String> out = new ArrayList<>();
    Set<Long> sequences = new TreeSet<>();
    byReplica.forEach((r, ran) -> {
      if (!ignored.contains(r)) {
        sequences.addAll(ran.keySet());
      }
    });
    for (long s : sequences) {
      Map<ByteString, List<Integer>> who = new LinkedHashMap<>();
      Map<ByteString, Ran> what = new LinkedHashMap<>();
      byReplica.forEach((r, ran) -> {
        Ran x = ran.get(s);
        if (x != null && !ignored.contains(r)) {
          who.computeIfAbsent(x.digest(), k -> new ArrayList<>()).add(r);
          what.putIfAbsent(x.digest(), x);
        }
      });
      if (who.size() > 1) {
        StringJoiner j = new StringJoiner("; ");
        who.forEach((d, rs) -> {
          StringJoiner names = new StringJoiner(",");
          rs.forEach(r -> names.add("r" + r));
          j.add(names + " executed " + what.get(d).batch() + " (v=" + what.get(d).view() + ")");
        });
        out.add("agreement violated at n=" + s + ": " + j);
      }
    }
    for (String c : contradictions) {
      if (!ignored.contains(Command.replica(c.substring(0, c.indexOf(' '))))) {
        out.add(c);
      }
    }
    return out;
  }
}

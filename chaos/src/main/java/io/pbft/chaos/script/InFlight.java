package io.pbft.chaos.script;

import io.pbft.crypto.Digests;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The messages between replicas that were sent and not yet delivered or dropped, in the order they
 * were sent (a broadcast is one entry per receiver), and those delivered before: a script that
 * names a message by its id may deliver it again, as a network that duplicates would.
 */
final class InFlight {
  /** One message on its way from {@code from}'s transport to {@code to}. */
  record Entry(int from, int to, SignedMessage signed, ReplicaMessage body, String id) {
    /** "r0->r2 PREPARE v=0 n=1 d=1a2b3c", with the signer if another replica signed it. */
    String describe() {
      String by = signed.getSender() != from ? " (signed by r" + signed.getSender() + ")" : "";
      return "r" + from + "->r" + to + " " + (body == null ? "(unparseable)" : Describe.message(body)) + by;
    }
  }

  private final List<Entry> queue = new ArrayList<>();
  private final List<Entry> delivered = new ArrayList<>();

  /** A short name for a signed message: its first 8 hex digits of SHA-256 over its bytes. */
  static String id(SignedMessage m) {
    return Digests.hex(Digests.sha256(m.toByteArray())).substring(0, 8);
  }

  void add(int from, int to, SignedMessage signed) {
    queue.add(new Entry(from, to, signed, Describe.parse(signed), id(signed)));
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  /** The entries in flight that {@code s} selects, oldest first (at most its limit). */
  List<Entry> select(Selector s) {
    List<Entry> out = new ArrayList<>();
    for (Entry e : queue) {
      if (out.size() < s.limit() && s.matches(e)) {
        out.add(e);
      }
    }
    return out;
  }

  /** The newest delivered entry {@code s} selects (only by id: a duplicate of a message delivered). */
  Entry selectDelivered(Selector s) {
    if (s.id() == null) {
      return null;
    }
    for (int i = delivered.size() - 1; i >= 0; i--) {
      if (s.matches(delivered.get(i))) {
        return delivered.get(i);
      }
    }
    return null;
  }

  /** Takes {@code e} off the wire; a delivered one is remembered. */
  void remove(Entry e, boolean deliveredNow) {
    queue.remove(e);
    if (deliveredNow) {
      delivered.add(e);
    }
  }

  /** What is in flight, one line per message, its receivers together: "r0->r1,r2,r3 PREPARE ...". */
  List<String> describe() {
    Map<String, List<Entry>> byMessage = new LinkedHashMap<>();
    for (Entry e : queue) {
      byMessage.computeIfAbsent(e.from() + "/" + e.id(), k -> new ArrayList<>()).add(e);
    }
    List<String> out = new ArrayList<>();
    for (List<Entry> group : byMessage.values()) {
      Entry first = group.get(0);
      StringJoiner to = new StringJoiner(",");
      group.forEach(e -> to.add("r" + e.to()));
      String line = first.describe();
      out.add("r" + first.from() + "->" + to + line.substring(line.indexOf(' ')));
    }
    return out;
  }
}

package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.proto.KvResult;
import io.pbft.proto.NewView;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What happened on the simulated network, kept cheaply (formatted only when a violation asks for
 * it), so that a failing run explains itself next to its seed: the last events before the
 * violation, and from further back the messages about the sequence number the violation names.
 * Every event also folds into a fingerprint: two runs with the same fingerprint and event count
 * saw the same events, in the same order, at the same virtual times.
 */
final class Trace {
  private record Entry(long index, long timeMs, String what, String from, String to, Object body) {}

  /** Events kept for the search of older messages about the violating sequence number. */
  private static final int KEPT_MAX = 4096;
  /** Older messages about that sequence number shown at most. */
  private static final int RELATED_MAX = 40;
  private static final Pattern SEQUENCE = Pattern.compile("\\bn=(\\d+)|committed at (\\d+)");

  private final int shown;
  private final int capacity;
  private final ArrayDeque<Entry> recent = new ArrayDeque<>();
  private long events;
  private long fingerprint = 1;

  /** {@code shown}: how many of the last events a report shows (0: keep nothing). */
  Trace(int shown) {
    this.shown = Math.max(0, shown);
    this.capacity = this.shown == 0 ? 0 : Math.max(this.shown, KEPT_MAX);
  }

  void record(long timeMs, String what, String from, String to, Object body) {
    events++;
    fingerprint = fingerprint * 1_000_003L + (timeMs * 31 + what.hashCode()) * 31 * 31
        + from.hashCode() * 31L + to.hashCode() + stableHash(body) * 7919L;
    if (capacity == 0) {
      return;
    }
    if (recent.size() == capacity) {
      recent.pollFirst();
    }
    recent.addLast(new Entry(events, timeMs, what, from, to, body));
  }

  /**
   * A hash of what an event carried that is the same in every JVM (protobuf's own hashCode mixes
   * in descriptor identities, which differ between processes); byte strings memoize theirs.
   */
  private static int stableHash(Object body) {
    if (body instanceof SignedMessage m) {
      return m.getPayload().hashCode() * 31 + m.getSignature().hashCode();
    } else if (body instanceof SignedRequest r) {
      return r.getRequest().hashCode() * 31 + r.getSignature().hashCode();
    } else if (body instanceof com.google.protobuf.MessageLite m) {
      return m.toByteString().hashCode();
    }
    return body == null ? 0 : body.hashCode();
  }

  void note(long timeMs, String text) {
    record(timeMs, "note", "", "", text);
  }

  long events() {
    return events;
  }

  long fingerprint() {
    return fingerprint;
  }

  /** The last events, oldest first. */
  List<String> lines() {
    List<String> out = new ArrayList<>();
    int skip = Math.max(0, recent.size() - shown);
    for (Entry e : recent) {
      if (skip-- > 0) {
        continue;
      }
      out.add(format(e));
    }
    return out;
  }

  /**
   * The last events, and before them the older messages about the sequence number that
   * {@code violation} names ("n=42", "committed at 42"), if it names one: what a reader needs to
   * see how the replicas came to disagree about it.
   */
  List<String> around(String violation) {
    Matcher m = SEQUENCE.matcher(violation);
    if (!m.find()) {
      return lines();
    }
    String sequence = m.group(1) != null ? m.group(1) : m.group(2);
    Pattern about = Pattern.compile("\\bn=" + sequence + "\\b|\\b" + sequence + "@v|[\\[,]" + sequence + ":");
    List<Entry> all = new ArrayList<>(recent);
    int lastStart = Math.max(0, all.size() - shown);
    ArrayDeque<String> related = new ArrayDeque<>();
    for (int i = lastStart - 1; i >= 0 && related.size() < RELATED_MAX; i--) {
      Entry e = all.get(i);
      String line = format(e);
      if (!"lost".equals(e.what()) && about.matcher(line).find() || "note".equals(e.what())) {
        related.addFirst(line);
      }
    }
    List<String> out = new ArrayList<>();
    if (!related.isEmpty()) {
      out.add("-- earlier messages about n=" + sequence + " (and notes):");
      out.addAll(related);
      out.add("-- the last " + (all.size() - lastStart) + " events:");
    }
    for (int i = lastStart; i < all.size(); i++) {
      out.add(format(all.get(i)));
    }
    return out;
  }

  private static String format(Entry e) {
    String route = e.from().isEmpty() ? "" : e.from() + "->" + e.to() + " ";
    return String.format("%8d ms %-9s %s%s", e.timeMs(), e.what(), route, describe(e.body()));
  }

  // ---------------------------------------------------------------- formatting

  static String describe(Object body) {
    if (body instanceof ReplicaMessage m) {
      return describe(m);
    } else if (body instanceof SignedMessage s) {
      return describe(parse(s));
    } else if (body instanceof SignedRequest r) {
      return "REQUEST " + request(r);
    } else if (body instanceof Reply r) {
      return "REPLY v=" + r.getView() + " t=" + r.getTimestamp() + " " + describeResult(r.getResult());
    }
    return String.valueOf(body);
  }

  static String describe(ReplicaMessage m) {
    if (m == null) {
      return "(unparseable)";
    }
    return switch (m.getBodyCase()) {
      case PRE_PREPARE -> {
        StringJoiner reqs = new StringJoiner(" ", "[", "]");
        m.getPrePrepare().getBatch().getRequestsList().forEach(r -> reqs.add(request(r)));
        yield "PRE-PREPARE v=" + m.getPrePrepare().getView() + " n=" + m.getPrePrepare().getSequence() + " d="
            + shortHex(m.getPrePrepare().getDigest()) + " " + reqs;
      }
      case PREPARE -> "PREPARE v=" + m.getPrepare().getView() + " n=" + m.getPrepare().getSequence() + " d="
          + shortHex(m.getPrepare().getDigest());
      case COMMIT -> "COMMIT v=" + m.getCommit().getView() + " n=" + m.getCommit().getSequence() + " d="
          + shortHex(m.getCommit().getDigest());
      case CHECKPOINT -> "CHECKPOINT n=" + m.getCheckpoint().getSequence() + " d="
          + shortHex(m.getCheckpoint().getStateDigest());
      case FORWARDED_REQUEST -> "FORWARDED " + request(m.getForwardedRequest().getRequest());
      case VIEW_CHANGE -> {
        StringJoiner prepared = new StringJoiner(",", "[", "]");
        for (PreparedCertificate c : m.getViewChange().getPreparedList()) {
          ReplicaMessage pp = parse(c.getPrePrepare());
          prepared.add(pp == null ? "?" : pp.getPrePrepare().getSequence() + "@v" + pp.getPrePrepare().getView());
        }
        yield "VIEW-CHANGE to v=" + m.getViewChange().getNewView() + " stable=" + m.getViewChange().getStableSequence()
            + " prepared=" + prepared;
      }
      case NEW_VIEW -> {
        NewView nv = m.getNewView();
        StringJoiner from = new StringJoiner(",", "[", "]");
        nv.getViewChangesList().forEach(s -> from.add(String.valueOf(s.getSender())));
        StringJoiner pps = new StringJoiner(",", "[", "]");
        for (SignedMessage s : nv.getPrePreparesList()) {
          ReplicaMessage pp = parse(s);
          pps.add(pp == null ? "?"
              : pp.getPrePrepare().getSequence() + ":" + shortHex(pp.getPrePrepare().getDigest()));
        }
        yield "NEW-VIEW v=" + nv.getView() + " view-changes from " + from + " pre-prepares " + pps;
      }
      case FETCH_STATE -> "FETCH-STATE n=" + m.getFetchState().getSequence() + " offset="
          + m.getFetchState().getOffset();
      case STATE_CHUNK -> "STATE-CHUNK n=" + m.getStateChunk().getSequence() + " " + m.getStateChunk().getOffset() + "+"
          + m.getStateChunk().getData().size() + "/" + m.getStateChunk().getTotalBytes();
      case HEARTBEAT -> "HEARTBEAT v=" + m.getHeartbeat().getView()
          + (m.getHeartbeat().getViewChanging() ? " (changing)" : "") + " executed="
          + m.getHeartbeat().getLastExecuted() + " stable=" + m.getHeartbeat().getLowWatermark();
      case COMMITTED -> {
        ReplicaMessage pp = parse(m.getCommitted().getPrePrepare());
        String which = pp == null ? "?" : "v=" + pp.getPrePrepare().getView() + " n="
            + pp.getPrePrepare().getSequence() + " d=" + shortHex(pp.getPrePrepare().getDigest());
        yield "COMMITTED " + which + " with " + m.getCommitted().getCommitsCount() + " commits";
      }
      default -> m.getBodyCase().toString();
    };
  }

  static String describeResult(ByteString result) {
    try {
      KvResult r = KvResult.parseFrom(result);
      return r.getStatus() + (r.getFound() || !r.getValue().isEmpty() ? "(" + r.getValue().toStringUtf8() + ")" : "");
    } catch (InvalidProtocolBufferException e) {
      return "0x" + shortHex(result);
    }
  }

  static int clientOf(SignedRequest r) {
    try {
      return Request.parseFrom(r.getRequest()).getClientId();
    } catch (InvalidProtocolBufferException e) {
      return -1;
    }
  }

  private static String request(SignedRequest r) {
    try {
      Request q = Request.parseFrom(r.getRequest());
      return "c" + q.getClientId() + ":t" + q.getTimestamp();
    } catch (InvalidProtocolBufferException e) {
      return "?";
    }
  }

  private static ReplicaMessage parse(SignedMessage s) {
    try {
      return ReplicaMessage.parseFrom(s.getPayload());
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  static String shortHex(ByteString b) {
    String hex = Digests.hex(b.toByteArray());
    return hex.length() > 8 ? hex.substring(0, 8) : hex;
  }
}

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

/**
 * The last few things that happened on the simulated network, kept cheaply (formatted only when a
 * violation asks for them), so that a failing run explains itself next to its seed.
 */
final class Trace {
  private record Entry(long timeMs, String what, String from, String to, Object body) {}

  private final int capacity;
  private final ArrayDeque<Entry> recent = new ArrayDeque<>();

  Trace(int capacity) {
    this.capacity = Math.max(0, capacity);
  }

  void record(long timeMs, String what, String from, String to, Object body) {
    if (capacity == 0) {
      return;
    }
    if (recent.size() == capacity) {
      recent.pollFirst();
    }
    recent.addLast(new Entry(timeMs, what, from, to, body));
  }

  void note(long timeMs, String text) {
    record(timeMs, "note", "", "", text);
  }

  List<String> lines() {
    List<String> out = new ArrayList<>();
    for (Entry e : recent) {
      String route = e.from().isEmpty() ? "" : e.from() + "->" + e.to() + " ";
      out.add(String.format("%8d ms %-9s %s%s", e.timeMs(), e.what(), route, describe(e.body())));
    }
    return out;
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

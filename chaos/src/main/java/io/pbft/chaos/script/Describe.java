package io.pbft.chaos.script;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.proto.KvResult;
import io.pbft.proto.NewView;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import java.util.List;
import java.util.StringJoiner;

/** How a script's output shows messages, requests, batches and results: short, one line each. */
final class Describe {
  private static final ByteString NULL_DIGEST = ByteString.copyFrom(Digests.batchDigestOf(List.of()));

  private Describe() {}

  /** The first six hex digits of a digest, or {@code null} for the empty (null request) batch. */
  static String digest(ByteString d) {
    if (d.equals(NULL_DIGEST)) {
      return "null";
    }
    String hex = Digests.hex(d.toByteArray());
    return hex.length() > 6 ? hex.substring(0, 6) : hex;
  }

  static ReplicaMessage parse(SignedMessage s) {
    try {
      return ReplicaMessage.parseFrom(s.getPayload());
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  /** "c0:t1". */
  static String request(SignedRequest r) {
    Request q = requestOf(r);
    return q == null ? "?" : "c" + q.getClientId() + ":t" + q.getTimestamp();
  }

  static Request requestOf(SignedRequest r) {
    try {
      return Request.parseFrom(r.getRequest());
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  /** "[c0:t1 c1:t1]". */
  static String batch(List<SignedRequest> requests) {
    StringJoiner j = new StringJoiner(" ", "[", "]");
    requests.forEach(r -> j.add(request(r)));
    return j.toString();
  }

  /** "OK", "OK(1)", "NOT_FOUND", or the first bytes in hex for another application. */
  static String result(ByteString result) {
    try {
      KvResult r = KvResult.parseFrom(result);
      return r.getStatus() + (r.getFound() || !r.getValue().isEmpty() ? "(" + r.getValue().toStringUtf8() + ")" : "");
    } catch (InvalidProtocolBufferException e) {
      return "0x" + digest(result);
    }
  }

  static String message(SignedMessage s) {
    ReplicaMessage m = parse(s);
    return m == null ? "(unparseable)" : message(m);
  }

  static String message(ReplicaMessage m) {
    return switch (m.getBodyCase()) {
      case PRE_PREPARE -> {
        var pp = m.getPrePrepare();
        yield "PRE-PREPARE v=" + pp.getView() + " n=" + pp.getSequence() + " d=" + digest(pp.getDigest()) + " "
            + batch(pp.getBatch().getRequestsList());
      }
      case PREPARE -> "PREPARE v=" + m.getPrepare().getView() + " n=" + m.getPrepare().getSequence() + " d="
          + digest(m.getPrepare().getDigest());
      case COMMIT -> "COMMIT v=" + m.getCommit().getView() + " n=" + m.getCommit().getSequence() + " d="
          + digest(m.getCommit().getDigest());
      case CHECKPOINT -> "CHECKPOINT n=" + m.getCheckpoint().getSequence() + " d="
          + digest(m.getCheckpoint().getStateDigest());
      case FORWARDED_REQUEST -> "FORWARDED " + request(m.getForwardedRequest().getRequest());
      case VIEW_CHANGE -> {
        StringJoiner prepared = new StringJoiner(" ", "[", "]");
        for (PreparedCertificate c : m.getViewChange().getPreparedList()) {
          ReplicaMessage pp = parse(c.getPrePrepare());
          prepared.add(pp == null ? "?" : "n=" + pp.getPrePrepare().getSequence() + "@v" + pp.getPrePrepare().getView()
              + ":" + digest(pp.getPrePrepare().getDigest()));
        }
        StringJoiner evidence = new StringJoiner(",", "[", "]");
        m.getViewChange().getComplaintsList().forEach(c -> evidence.add("r" + c.getSender()));
        yield "VIEW-CHANGE v=" + m.getViewChange().getNewView() + " h=" + m.getViewChange().getStableSequence()
            + " prepared=" + prepared + " complaints=" + evidence;
      }
      case NEW_VIEW -> {
        NewView nv = m.getNewView();
        StringJoiner from = new StringJoiner(",", "[", "]");
        nv.getViewChangesList().forEach(s -> from.add("r" + s.getSender()));
        StringJoiner pps = new StringJoiner(" ", "[", "]");
        for (SignedMessage s : nv.getPrePreparesList()) {
          ReplicaMessage pp = parse(s);
          pps.add(pp == null ? "?" : "n=" + pp.getPrePrepare().getSequence() + ":" + digest(pp.getPrePrepare().getDigest()));
        }
        yield "NEW-VIEW v=" + nv.getView() + " view-changes=" + from + " pre-prepares=" + pps;
      }
      case FETCH_STATE -> "FETCH-STATE n=" + m.getFetchState().getSequence() + " offset=" + m.getFetchState().getOffset();
      case STATE_CHUNK -> "STATE-CHUNK n=" + m.getStateChunk().getSequence() + " bytes=" + m.getStateChunk().getOffset()
          + "+" + m.getStateChunk().getData().size() + "/" + m.getStateChunk().getTotalBytes();
      case HEARTBEAT -> "HEARTBEAT v=" + m.getHeartbeat().getView()
          + (m.getHeartbeat().getViewChanging() ? " changing" : "") + " executed=" + m.getHeartbeat().getLastExecuted()
          + " h=" + m.getHeartbeat().getLowWatermark();
      case COMMITTED -> {
        ReplicaMessage pp = parse(m.getCommitted().getPrePrepare());
        String which = pp == null ? "?" : "v=" + pp.getPrePrepare().getView() + " n=" + pp.getPrePrepare().getSequence()
            + " d=" + digest(pp.getPrePrepare().getDigest());
        yield "COMMITTED " + which + " commits=" + m.getCommitted().getCommitsCount();
      }
      case COMPLAINT -> "COMPLAINT v=" + m.getComplaint().getView();
      default -> m.getBodyCase().toString();
    };
  }
}

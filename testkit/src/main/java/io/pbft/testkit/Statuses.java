package io.pbft.testkit;

import io.pbft.crypto.Digests;
import io.pbft.proto.Drops;
import io.pbft.proto.QueuedBytes;
import io.pbft.proto.StatusResponse;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Reading replica statuses: whether they agree, and one line per replica for messages. */
public final class Statuses {
  private Statuses() {}

  /**
   * True when {@code all} is not empty, every replica answered (no null), and all report the same
   * last executed sequence number and the same state digest, none of it run tentatively (a
   * tentative batch may still be rolled back).
   */
  public static boolean agree(List<StatusResponse> all) {
    if (all.isEmpty() || all.get(0) == null) {
      return false;
    }
    StatusResponse first = all.get(0);
    for (StatusResponse s : all) {
      if (s == null || s.getLastExecuted() != first.getLastExecuted()
          || !s.getStateDigest().equals(first.getStateDigest()) || s.getLastExecutedTentative()) {
        return false;
      }
    }
    return true;
  }

  /** One line per replica ("\n  replica I: ..."), "unreachable" for a null status. */
  public static String describe(List<Integer> ids, List<StatusResponse> statuses) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < ids.size(); i++) {
      StatusResponse s = i < statuses.size() ? statuses.get(i) : null;
      b.append("\n  replica ").append(ids.get(i)).append(": ").append(s == null ? "unreachable" : line(s));
    }
    return b.toString();
  }

  /**
   * View (and whether it is changing), primary, last executed, low watermark, digest prefix, and
   * every counter that is not zero, rejections, drops and garbage with their reasons.
   */
  public static String line(StatusResponse s) {
    StringBuilder b = new StringBuilder();
    b.append("view ").append(s.getView()).append(s.getViewChanging() ? " (changing)" : "")
        .append(", primary ").append(s.getPrimary())
        .append(", last executed ").append(s.getLastExecuted())
        .append(", low watermark ").append(s.getLowWatermark())
        .append(", digest ").append(prefix(Digests.hex(s.getStateDigest().toByteArray())));
    nonZero(b, "view changes started", s.getViewChangesStarted());
    nonZero(b, "executed requests", s.getExecutedRequests());
    nonZero(b, "state transfers", s.getStateTransfers());
    nonZero(b, "state transfer bytes", s.getStateTransferBytes());
    nonZero(b, "log bytes on disk", s.getLogBytesOnDisk());
    if (s.getStorageFailed()) {
      b.append(", STORAGE FAILED");
    }
    Drops d = s.getDropped();
    nonZero(b, "dropped (event loop full)", d.getEventLoopFull());
    nonZero(b, "dropped (replies without session)", d.getRepliesWithoutSession());
    nonZero(b, "dropped (peer queue full)", d.getPeerQueueFull());
    nonZero(b, "dropped (event loop bytes full)", d.getEventLoopBytesFull());
    nonZero(b, "dropped (verification queue full)", d.getVerificationQueueFull());
    nonZero(b, "dropped (verification queue bytes full)", d.getVerificationQueueBytesFull());
    reasons(b, "dropped", d.getByReasonMap());
    reasons(b, "rejected", s.getRejectedMap());
    nonZero(b, "client sessions", s.getClientSessions());
    nonZero(b, "connections", s.getConnections());
    nonZero(b, "pending streams", s.getPendingStreams());
    nonZero(b, "peer streams", s.getPeerStreams());
    nonZero(b, "garbage log lines", s.getGarbage().getLogLines());
    reasons(b, "garbage", s.getGarbage().getByReasonMap());
    QueuedBytes q = s.getQueuedBytes();
    nonZero(b, "queued bytes (verification)", q.getVerification());
    nonZero(b, "queued bytes (event loop)", q.getEventLoop());
    nonZero(b, "queued bytes (peers)", q.getPeers());
    return b.toString();
  }

  private static String prefix(String hex) {
    return hex.length() > 16 ? hex.substring(0, 16) : hex;
  }

  private static void nonZero(StringBuilder b, String name, long value) {
    if (value != 0) {
      b.append(", ").append(name).append(' ').append(value);
    }
  }

  private static void reasons(StringBuilder b, String what, Map<String, Long> byReason) {
    if (!byReason.isEmpty()) {
      b.append(", ").append(what).append(' ').append(new TreeMap<>(byReason));
    }
  }
}

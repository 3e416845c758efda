package io.pbft.cli.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pbft.config.Membership;
import io.pbft.config.Reconfigurations;
import io.pbft.crypto.Digests;
import io.pbft.proto.StatusResponse;
import java.io.PrintWriter;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Renders a {@link ClusterStatus.Snapshot} as a table for people or as JSON for programs. */
public final class StatusReport {
  public static final ObjectMapper JSON = new ObjectMapper();
  /** Digest characters shown in tables: enough to tell states apart at a glance. */
  private static final int SHORT_DIGEST = 16;

  private StatusReport() {}

  public static void printTable(ClusterStatus.Snapshot s, PrintWriter out) {
    String format = "%-3s %-10s %-6s %-6s %-8s %-14s %-14s %s%n";
    out.printf(format, "ID", "REACHABLE", "EPOCH", "VIEW", "PRIMARY", "LAST-EXECUTED", "LOW-WATERMARK", "STATE-DIGEST");
    boolean anyTentative = false;
    for (ReplicaStatus r : s.replicas()) {
      if (r.reachable()) {
        String digest = r.digestHex();
        boolean tentative = r.status().getLastExecutedTentative();
        anyTentative |= tentative;
        out.printf(format, r.id(), "yes", r.status().getEpoch(), r.view(), r.primary(),
            r.lastExecuted() + (tentative ? "*" : ""),
            r.lowWatermark(), digest.length() > SHORT_DIGEST ? digest.substring(0, SHORT_DIGEST) + "..." : digest);
      } else {
        out.printf("%-3s %-10s %s%n", r.id(), "no", r.address() + ": " + r.error());
      }
    }
    if (anyTentative) {
      out.println("* ran tentatively, not committed yet: the state digest includes it and may still be rolled back");
    }
  }

  /**
   * The configuration epoch the reachable replicas report, with its members when it is epoch 0 as
   * {@code initial} (cluster.yaml) has it, and the change pending if any: one line each, and one
   * group of lines per distinct answer when replicas differ (one lags behind a change, say).
   */
  public static List<String> epochLines(ClusterStatus.Snapshot s, Membership initial) {
    Map<String, List<Integer>> byAnswer = new LinkedHashMap<>();
    Map<String, StatusResponse> answers = new LinkedHashMap<>();
    for (ReplicaStatus r : s.replicas()) {
      if (r.reachable()) {
        StatusResponse st = r.status();
        String key = st.getEpoch() + " " + Digests.hex(st.getMembershipDigest().toByteArray()) + " "
            + st.getPendingReconfiguration();
        byAnswer.computeIfAbsent(key, k -> new ArrayList<>()).add(r.id());
        answers.putIfAbsent(key, st);
      }
    }
    List<String> lines = new ArrayList<>();
    for (Map.Entry<String, List<Integer>> e : byAnswer.entrySet()) {
      StatusResponse st = answers.get(e.getKey());
      String digest = shortHex(st.getMembershipDigest().toByteArray());
      String who = byAnswer.size() > 1 ? " (reported by replicas " + join(e.getValue()) + ")" : "";
      if (st.getEpoch() == 0 && MessageDigest.isEqual(st.getMembershipDigest().toByteArray(), initial.digest())) {
        lines.add("epoch 0: replicas " + join(initial.ids()) + ", f = " + initial.f() + ", as in the configuration"
            + " file (membership digest " + digest + ")" + who);
      } else if (st.getEpoch() == 0) {
        // A file that reaches the replicas at other addresses (published container ports, say)
        // names the same group with another digest: addresses are part of the membership.
        lines.add("epoch 0: membership digest " + digest + "; this configuration file's is "
            + shortHex(initial.digest()) + " (the replicas run with other addresses, keys or f, as when reached"
            + " through published ports)" + who);
      } else {
        // The replica's chain of signed changes, checked from this file's epoch 0, names the members.
        Reconfigurations.Followed f = Reconfigurations.follow(initial, st.getReconfigurationsList());
        Membership m = f.reached();
        if (m.epoch() == st.getEpoch() && MessageDigest.isEqual(m.digest(), st.getMembershipDigest().toByteArray())) {
          lines.add("epoch " + st.getEpoch() + ": replicas " + join(m.ids()) + ", f = " + m.f() + " (membership digest "
              + digest + ", reached from the configuration file by " + st.getEpoch() + " signed change"
              + (st.getEpoch() == 1 ? "" : "s") + ", each checked)" + who);
          for (io.pbft.config.Member member : m.members()) {
            boolean asInFile = initial.hasMember(member.id())
                && java.util.Arrays.equals(initial.member(member.id()).publicKey(), member.publicKey());
            boolean moved = initial.hasMember(member.id())
                && !initial.member(member.id()).address().equalsIgnoreCase(member.address());
            boolean added = !initial.hasMember(member.id());
            lines.add("  replica " + member.id() + " at " + member.address() + ", key "
                + shortHex(member.publicKey()) + (added ? " (added since the configuration file)"
                    : moved ? " (moved since the configuration file)"
                    : asInFile ? "" : " (rotated since the configuration file)"));
          }
          List<Integer> removed = initial.ids().stream().filter(id -> !m.hasMember(id)).toList();
          if (!removed.isEmpty()) {
            lines.add("  removed since the configuration file: replica" + (removed.size() == 1 ? " " : "s ")
                + join(removed));
          }
        } else {
          lines.add("epoch " + st.getEpoch() + ": membership digest " + digest + ", not the configuration file's epoch 0;"
              + " its chain of changes reaches only epoch " + m.epoch() + " from this file"
              + (f.refusal() == null ? "" : " (" + f.refusal() + ")") + who);
        }
      }
      if (st.hasPendingReconfiguration()) {
        io.pbft.proto.PendingReconfiguration p = st.getPendingReconfiguration();
        lines.add("  pending: epoch " + p.getEpoch() + " (n = " + p.getReplicas() + ", f = " + p.getF()
            + ", membership digest " + shortHex(p.getMembershipDigest().toByteArray()) + "), ordered at "
            + p.getOrderedAt() + ", takes effect at checkpoint " + p.getHandoverAt());
      }
    }
    return lines;
  }

  private static String join(List<Integer> ids) {
    StringBuilder b = new StringBuilder();
    for (int id : ids) {
      b.append(b.length() == 0 ? "" : ", ").append(id);
    }
    return b.toString();
  }

  private static String shortHex(byte[] digest) {
    String hex = Digests.hex(digest);
    return hex.length() > SHORT_DIGEST ? hex.substring(0, SHORT_DIGEST) + "..." : hex;
  }

  /** One line: whether the reachable replicas are in the same state. */
  public static String agreementLine(ClusterStatus.Snapshot s) {
    long reachable = s.reachableCount();
    int n = s.replicas().size();
    if (reachable == 0) {
      return "replicas agree: unknown (no replica reachable)";
    }
    String counts = " (" + reachable + " of " + n + " reachable)";
    return "replicas agree: " + (s.reachableAgree() ? "yes" : "no") + counts;
  }

  /** The typed counters every reachable replica reports, by JSON field name (null for an unreachable one). */
  private static final List<String> COUNTERS = List.of("viewChanging", "viewChangesStarted", "requestTimeoutMs",
      "agreementLatencyMs", "executedRequests",
      "stateTransfers", "stateTransferBytes", "durable", "logBytesOnDisk", "storageFailed", "clientSessions",
      "dropped", "rejected", "garbage", "connections", "connectionsAccepted", "pendingStreams", "peerStreams",
      "unauthenticatedBytesRead", "queuedBytes", "tentativeRollbacks", "lastExecutedTentative",
      "applicationFailures", "epoch", "membershipDigest", "pendingReconfiguration");

  /**
   * One replica as JSON: id, address, view, primary, last executed, low watermark, state digest,
   * then its counters ({@link #COUNTERS}); drops, rejections and garbage keep their reasons as keys. An
   * unreachable one has reachable:false, its error and null fields.
   */
  public static ObjectNode toJson(ReplicaStatus r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("id", r.id());
    o.put("address", r.address());
    o.put("reachable", r.reachable());
    if (r.reachable()) {
      o.put("view", r.view());
      o.put("primary", r.primary());
      o.put("lastExecuted", r.lastExecuted());
      o.put("lowWatermark", r.lowWatermark());
      o.put("stateDigest", r.digestHex());
      StatusResponse s = r.status();
      o.put("viewChanging", s.getViewChanging());
      o.put("viewChangesStarted", s.getViewChangesStarted());
      o.put("requestTimeoutMs", s.getRequestTimeoutMs());
      o.put("agreementLatencyMs", s.getAgreementLatencyMs());
      o.put("executedRequests", s.getExecutedRequests());
      o.put("stateTransfers", s.getStateTransfers());
      o.put("stateTransferBytes", s.getStateTransferBytes());
      o.put("durable", s.getDurable());
      o.put("logBytesOnDisk", s.getLogBytesOnDisk());
      o.put("storageFailed", s.getStorageFailed());
      o.put("clientSessions", s.getClientSessions());
      ObjectNode dropped = o.putObject("dropped");
      dropped.put("eventLoopFull", s.getDropped().getEventLoopFull());
      dropped.put("repliesWithoutSession", s.getDropped().getRepliesWithoutSession());
      dropped.put("peerQueueFull", s.getDropped().getPeerQueueFull());
      dropped.put("eventLoopBytesFull", s.getDropped().getEventLoopBytesFull());
      dropped.put("verificationQueueFull", s.getDropped().getVerificationQueueFull());
      dropped.put("verificationQueueBytesFull", s.getDropped().getVerificationQueueBytesFull());
      byReason(dropped.putObject("byReason"), s.getDropped().getByReasonMap());
      byReason(o.putObject("rejected"), s.getRejectedMap());
      ObjectNode garbage = o.putObject("garbage");
      garbage.put("logLines", s.getGarbage().getLogLines());
      byReason(garbage.putObject("byReason"), s.getGarbage().getByReasonMap());
      o.put("connections", s.getConnections());
      o.put("connectionsAccepted", s.getConnectionsAccepted());
      o.put("pendingStreams", s.getPendingStreams());
      o.put("peerStreams", s.getPeerStreams());
      o.put("unauthenticatedBytesRead", s.getUnauthenticatedBytesRead());
      ObjectNode queued = o.putObject("queuedBytes");
      queued.put("verification", s.getQueuedBytes().getVerification());
      queued.put("eventLoop", s.getQueuedBytes().getEventLoop());
      queued.put("peers", s.getQueuedBytes().getPeers());
      queued.put("verificationHigh", s.getQueuedBytes().getVerificationHigh());
      queued.put("eventLoopHigh", s.getQueuedBytes().getEventLoopHigh());
      o.put("tentativeRollbacks", s.getTentativeRollbacks());
      o.put("lastExecutedTentative", s.getLastExecutedTentative());
      o.put("applicationFailures", s.getApplicationFailures());
      o.put("epoch", s.getEpoch());
      o.put("membershipDigest", Digests.hex(s.getMembershipDigest().toByteArray()));
      if (s.hasPendingReconfiguration()) {
        io.pbft.proto.PendingReconfiguration p = s.getPendingReconfiguration();
        ObjectNode pending = o.putObject("pendingReconfiguration");
        pending.put("epoch", p.getEpoch());
        pending.put("orderedAt", p.getOrderedAt());
        pending.put("handoverAt", p.getHandoverAt());
        pending.put("replicas", p.getReplicas());
        pending.put("f", p.getF());
        pending.put("membershipDigest", Digests.hex(p.getMembershipDigest().toByteArray()));
      } else {
        o.putNull("pendingReconfiguration");
      }
    } else {
      o.putNull("view");
      o.putNull("primary");
      o.putNull("lastExecuted");
      o.putNull("lowWatermark");
      o.putNull("stateDigest");
      COUNTERS.forEach(o::putNull);
      o.put("error", r.error());
    }
    return o;
  }

  private static void byReason(ObjectNode into, Map<String, Long> counts) {
    new TreeMap<>(counts).forEach(into::put);
  }

  /**
   * The membership for {@code pbft status --json}: the furthest epoch the reachable replicas'
   * chains of signed changes reach from the configuration file's epoch 0, each link checked, with
   * every member's id, address and key (and whether it was rotated since the file), and why any
   * replica's chain stopped short.
   */
  public static ObjectNode membershipJson(ClusterStatus.Snapshot s, Membership initial) {
    ClusterStatus.Followed followed = s.furthestMembership(initial);
    Membership m = followed.membership();
    ObjectNode o = JSON.createObjectNode();
    o.put("epoch", m.epoch());
    o.put("f", m.f());
    o.put("membershipDigest", Digests.hex(m.digest()));
    ArrayNode members = o.putArray("members");
    for (io.pbft.config.Member member : m.members()) {
      ObjectNode e = members.addObject();
      e.put("id", member.id());
      e.put("address", member.address());
      e.put("publicKey", Digests.hex(member.publicKey()));
      e.put("rotated", !initial.hasMember(member.id())
          || !java.util.Arrays.equals(initial.member(member.id()).publicKey(), member.publicKey()));
      e.put("moved", initial.hasMember(member.id())
          && !initial.member(member.id()).address().equalsIgnoreCase(member.address()));
      e.put("added", !initial.hasMember(member.id()));
    }
    ArrayNode removed = o.putArray("removed");
    initial.ids().stream().filter(id -> !m.hasMember(id)).forEach(removed::add);
    ArrayNode refusals = o.putArray("chainRefusals");
    followed.refusals().forEach(refusals::add);
    return o;
  }

  public static ArrayNode toJson(ClusterStatus.Snapshot s) {
    ArrayNode a = JSON.createArrayNode();
    s.replicas().forEach(r -> a.add(toJson(r)));
    return a;
  }
}

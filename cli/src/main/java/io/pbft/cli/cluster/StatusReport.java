package io.pbft.cli.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;

/** Renders a {@link ClusterStatus.Snapshot} as a table for people or as JSON for programs. */
public final class StatusReport {
  public static final ObjectMapper JSON = new ObjectMapper();
  /** Digest characters shown in tables: enough to tell states apart at a glance. */
  private static final int SHORT_DIGEST = 16;

  private StatusReport() {}

  public static void printTable(ClusterStatus.Snapshot s, PrintWriter out) {
    String format = "%-3s %-10s %-6s %-8s %-14s %-14s %s%n";
    out.printf(format, "ID", "REACHABLE", "VIEW", "PRIMARY", "LAST-EXECUTED", "LOW-WATERMARK", "STATE-DIGEST");
    for (ReplicaStatus r : s.replicas()) {
      if (r.reachable()) {
        String digest = r.digestHex();
        out.printf(format, r.id(), "yes", r.view(), r.primary(), r.lastExecuted(), r.lowWatermark(),
            digest.length() > SHORT_DIGEST ? digest.substring(0, SHORT_DIGEST) + "..." : digest);
      } else {
        out.printf("%-3s %-10s %s%n", r.id(), "no", r.address() + ": " + r.error());
      }
    }
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

  /** One replica as JSON; an unreachable one has reachable:false, its error and null fields. */
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
    } else {
      o.putNull("view");
      o.putNull("primary");
      o.putNull("lastExecuted");
      o.putNull("lowWatermark");
      o.putNull("stateDigest");
      o.put("error", r.error());
    }
    return o;
  }

  public static ArrayNode toJson(ClusterStatus.Snapshot s) {
    ArrayNode a = JSON.createArrayNode();
    s.replicas().forEach(r -> a.add(toJson(r)));
    return a;
  }
}

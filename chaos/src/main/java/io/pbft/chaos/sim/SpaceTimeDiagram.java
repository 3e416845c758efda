package io.pbft.chaos.sim;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.pbft.proto.Reply;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A picture of one simulated run: records every message on the wire ({@link SimRecorder#wire})
 * and writes a self-contained HTML page with a space-time diagram: one lane per replica and per
 * client, time left to right, each message an arrow from its sending to its arrival time (a lost
 * one ends in a cross half way), VIEW-CHANGEs and NEW-VIEWs marked on their sender's lane, and
 * the first violation as a red line across all lanes with its text. The page filters by message
 * kind, by sequence number and by time window, and opens on the second before the violation (or
 * on the first seconds of a clean run).
 *
 * <p>A long run sends hundreds of thousands of messages; the page keeps at most {@link
 * #ARROWS_MAX}: those sent last before the violation (or first, without one), and says so.
 */
public final class SpaceTimeDiagram implements SimRecorder {
  /** Arrows a page holds at most: a browser draws this many in well under a second. */
  public static final int ARROWS_MAX = 40_000;
  private static final Pattern VIOLATION_TIME = Pattern.compile("^at (\\d+) ms: ");

  /**
   * One message on the wire.
   *
   * @param arrivedMs -1 if lost
   * @param view its view (a VIEW-CHANGE's new view), or -1
   * @param sequence its sequence number, or -1 (requests and replies have none)
   * @param timestamp a request's or reply's client timestamp, or -1
   */
  record Arrow(long sentMs, long arrivedMs, int from, int to, String kind, long view, long sequence,
      long timestamp) {}

  private final List<Arrow> arrows = new ArrayList<>();

  @Override
  public void wire(long sentMs, long arrivalMs, int from, int to, Object what) {
    arrows.add(describe(sentMs, arrivalMs, from, to, what));
  }

  List<Arrow> arrows() {
    return arrows;
  }

  static Arrow describe(long sentMs, long arrivalMs, int from, int to, Object what) {
    if (what instanceof ReplicaMessage m) {
      long view = -1;
      long sequence = -1;
      FieldDescriptor bodyField = m.getBodyCase() == ReplicaMessage.BodyCase.BODY_NOT_SET ? null
          : ReplicaMessage.getDescriptor().findFieldByNumber(m.getBodyCase().getNumber());
      if (bodyField != null && m.getField(bodyField) instanceof Message body) {
        view = number(body, "new_view", number(body, "view", -1));
        sequence = number(body, "sequence", -1);
      }
      String kind = m.getBodyCase() == ReplicaMessage.BodyCase.BODY_NOT_SET ? "empty"
          : m.getBodyCase().name().toLowerCase(Locale.ROOT).replace('_', '-');
      return new Arrow(sentMs, arrivalMs, from, to, kind, view, sequence, -1);
    }
    if (what instanceof SignedRequest r) {
      long timestamp = -1;
      try {
        timestamp = Request.parseFrom(r.getRequest()).getTimestamp();
      } catch (InvalidProtocolBufferException e) {
        // a malformed request still shows, without its timestamp
      }
      return new Arrow(sentMs, arrivalMs, from, to, "request", -1, -1, timestamp);
    }
    if (what instanceof Reply r) {
      return new Arrow(sentMs, arrivalMs, from, to, "reply", r.getView(), -1, r.getTimestamp());
    }
    return new Arrow(sentMs, arrivalMs, from, to, "other", -1, -1, -1);
  }

  private static long number(Message body, String field, long otherwise) {
    FieldDescriptor f = body.getDescriptorForType().findFieldByName(field);
    if (f == null || f.isRepeated() || !(body.getField(f) instanceof Number n)) {
      return otherwise;
    }
    return n.longValue();
  }

  /** The virtual time of the first violation, or -1 for a clean run. */
  static long violationMs(SimulationResult result) {
    if (result.violations().isEmpty()) {
      return -1;
    }
    Matcher m = VIOLATION_TIME.matcher(result.violations().get(0));
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  /** The page for {@code result}, the run this recorder heard; {@code title} heads it. */
  public String html(SimulationConfig config, SimulationResult result, String title) {
    long violationMs = violationMs(result);
    List<Arrow> shown = arrows;
    String cut = "";
    if (arrows.size() > ARROWS_MAX) {
      if (violationMs >= 0) {
        int end = 0;
        while (end < arrows.size() && arrows.get(end).sentMs() <= violationMs) {
          end++;
        }
        int start = Math.max(0, end - ARROWS_MAX);
        shown = arrows.subList(start, end);
      } else {
        shown = arrows.subList(0, ARROWS_MAX);
      }
      cut = String.format(Locale.ROOT, "%,d of %,d messages shown (sent %d..%d ms)", shown.size(), arrows.size(),
          shown.get(0).sentMs(), shown.get(shown.size() - 1).sentMs());
    }
    StringBuilder data = new StringBuilder(shown.size() * 40);
    data.append('[');
    for (int i = 0; i < shown.size(); i++) {
      Arrow a = shown.get(i);
      if (i > 0) {
        data.append(",\n");
      }
      data.append('[').append(a.sentMs()).append(',').append(a.arrivedMs()).append(',').append(a.from()).append(',')
          .append(a.to()).append(",\"").append(a.kind()).append("\",").append(a.view()).append(',')
          .append(a.sequence()).append(',').append(a.timestamp()).append(']');
    }
    data.append(']');
    List<String> lanes = new ArrayList<>();
    for (int r = 0; r < config.replicaSlots(); r++) {
      String role = config.faultyReplicas().contains(r) ? " (traitor)" : "";
      lanes.add("replica " + r + role);
    }
    for (int c = 0; c < config.allClients(); c++) {
      lanes.add("client " + c + (c < config.clients() ? "" : " (" + config.byzantineClients().get(c - config.clients())
          + ")"));
    }
    String violation = result.violations().isEmpty() ? "" : result.violations().get(0);
    return TEMPLATE
        .replace("%TITLE%", escape(title))
        .replace("%SUMMARY%", escape(String.format(Locale.ROOT, "%d replicas (traitors %s), %d clients, %d messages%s",
            config.replicas(), config.faultyReplicas(), config.clients(), arrows.size(),
            cut.isEmpty() ? "" : "; " + cut)))
        .replace("%VIOLATION%", escape(violation))
        .replace("\"%LANES%\"", json(lanes))
        .replace("\"%VIOLATION_MS%\"", Long.toString(violationMs))
        .replace("\"%ARROWS%\"", data.toString());
  }

  private static String json(List<String> strings) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < strings.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      b.append('"').append(strings.get(i).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    }
    return b.append(']').toString();
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }

  private static final String TEMPLATE = """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><title>%TITLE%</title>
      <style>
        body { font: 13px system-ui, sans-serif; margin: 12px; }
        #controls label { margin-right: 10px; white-space: nowrap; }
        #controls input[type=number] { width: 7em; }
        #violation { color: #b00; font-weight: bold; margin: 6px 0; }
        svg { border: 1px solid #ccc; background: #fff; }
        .lane { stroke: #ddd; } .lanelabel { font-size: 12px; fill: #333; }
        .vline { stroke: #d00; stroke-width: 2; }
      </style></head><body>
      <h2>%TITLE%</h2>
      <div>%SUMMARY%</div>
      <div id="violation">%VIOLATION%</div>
      <div id="controls">
        <div id="kinds"></div>
        <label>time from <input id="from" type="number"> to <input id="to" type="number"> ms</label>
        <label>sequence number from <input id="seqFrom" type="number"> to <input id="seqTo" type="number"></label>
        <button id="draw">draw</button> <span id="count"></span>
      </div>
      <svg id="diagram" width="1400" height="400"></svg>
      <script>
      const lanes = "%LANES%";
      const violationMs = "%VIOLATION_MS%";
      const arrows = "%ARROWS%"; // [sentMs, arrivedMs (-1 lost), from, to, kind, view, sequence, timestamp]
      // lanes the violation names ("replica 3") are drawn in red
      const blamed = new Set([...document.getElementById("violation").textContent.matchAll(/replica (\\d+)/g)]
        .map(m => Number(m[1])));
      const colours = {"pre-prepare":"#1f77b4","prepare":"#2ca02c","commit":"#9467bd","checkpoint":"#8c564b",
        "view-change":"#d62728","new-view":"#ff7f0e","request":"#7f7f7f","reply":"#bcbd22","heartbeat":"#cccccc"};
      const colour = k => colours[k] || "#17becf";
      const kinds = [...new Set(arrows.map(a => a[4]))].sort();
      const kindsDiv = document.getElementById("kinds");
      for (const k of kinds) {
        const l = document.createElement("label");
        const box = document.createElement("input");
        box.type = "checkbox"; box.value = k; box.checked = !(k === "heartbeat");
        box.addEventListener("change", draw);
        l.appendChild(box);
        l.appendChild(document.createTextNode(" " + k + " (" + arrows.filter(a => a[4] === k).length + ")"));
        l.style.color = colour(k);
        kindsDiv.appendChild(l);
      }
      const last = arrows.reduce((m, a) => Math.max(m, a[0], a[1]), 0);
      const first = arrows.length ? arrows[0][0] : 0;
      const start = violationMs >= 0 ? Math.max(first, violationMs - 1000) : first;
      document.getElementById("from").value = start;
      document.getElementById("to").value = violationMs >= 0 ? violationMs + 100 : Math.min(last, start + 2000);
      document.getElementById("draw").addEventListener("click", draw);
      const NS = "http://www.w3.org/2000/svg";
      function el(name, attrs, parent) {
        const e = document.createElementNS(NS, name);
        for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
        parent.appendChild(e);
        return e;
      }
      function draw() {
        const svg = document.getElementById("diagram");
        while (svg.firstChild) svg.removeChild(svg.firstChild);
        const from = Number(document.getElementById("from").value);
        const to = Math.max(from + 1, Number(document.getElementById("to").value));
        const seqFromText = document.getElementById("seqFrom").value;
        const seqToText = document.getElementById("seqTo").value;
        const on = new Set([...kindsDiv.querySelectorAll("input:checked")].map(b => b.value));
        const left = 130, width = Number(svg.getAttribute("width")) - left - 20, laneGap = 28, top = 20;
        svg.setAttribute("height", top + lanes.length * laneGap + 30);
        const x = t => left + (t - from) / (to - from) * width;
        const y = lane => top + lane * laneGap;
        lanes.forEach((name, i) => {
          el("line", {class: "lane", x1: left, x2: left + width, y1: y(i), y2: y(i)}, svg);
          const label = el("text", {class: "lanelabel", x: 4, y: y(i) + 4}, svg);
          label.textContent = name;
          if (blamed.has(i)) label.setAttribute("style", "fill: #d00; font-weight: bold");
        });
        for (let t = Math.ceil(from / 100) * 100; t <= to; t += Math.max(100, Math.round((to - from) / 1000) * 100)) {
          el("text", {x: x(t) - 10, y: top + lanes.length * laneGap + 14, "font-size": 10, fill: "#666"}, svg)
            .textContent = t;
        }
        let drawn = 0;
        const group = el("g", {id: "arrows"}, svg);
        for (const [sent, arrived, src, dst, kind, view, seq, ts] of arrows) {
          if (!on.has(kind)) continue;
          const end = arrived < 0 ? sent + 5 : arrived;
          if (end < from || sent > to) continue;
          // a sequence-number filter shows the messages about those slots only
          if (seqFromText !== "" && (seq < 0 || seq < Number(seqFromText))) continue;
          if (seqToText !== "" && (seq < 0 || seq > Number(seqToText))) continue;
          const line = el("line", {x1: x(sent), y1: y(src), x2: x(end), y2: arrived < 0 ? (y(src) + y(dst)) / 2 : y(dst),
            stroke: colour(kind), "stroke-width": 1, class: "arrow"}, group);
          const title = el("title", {}, line);
          title.textContent = kind + " " + lanes[src] + " -> " + lanes[dst] + (view >= 0 ? ", view " + view : "")
            + (seq >= 0 ? ", n=" + seq : "")
            + (ts >= 0 ? ", timestamp " + ts : "") + ", sent " + sent + " ms" + (arrived < 0 ? ", LOST" : ", arrived " + arrived + " ms");
          if (arrived < 0) {
            const cx = x(end), cy = (y(src) + y(dst)) / 2;
            el("path", {d: `M${cx-3},${cy-3} L${cx+3},${cy+3} M${cx-3},${cy+3} L${cx+3},${cy-3}`, stroke: "#d00", class: "lost"}, group);
          }
          if (kind === "view-change" || kind === "new-view") {
            el("circle", {cx: x(sent), cy: y(src), r: 3, fill: colour(kind), class: "marker"}, group);
          }
          drawn++;
        }
        if (violationMs >= from && violationMs <= to) {
          el("line", {id: "violation-line", class: "vline", x1: x(violationMs), x2: x(violationMs), y1: top - 10,
            y2: top + lanes.length * laneGap}, svg);
        }
        document.getElementById("count").textContent = drawn + " messages drawn";
        svg.setAttribute("data-drawn", drawn);
      }
      draw();
      </script></body></html>
      """;
}

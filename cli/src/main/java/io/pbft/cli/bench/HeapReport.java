package io.pbft.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Heap in use after collections, per process and per interval of a run: the lowest post-GC value
 * in each interval, which is the closest a collector log comes to the live set (a young pause
 * leaves old-generation garbage in place until the next full one). A process whose lowest
 * values stay level over a long run holds bounded state; one whose values climb interval after
 * interval, across full collections, is leaking.
 */
public final class HeapReport {
  private static final double MIB = 1024.0 * 1024.0;

  /**
   * One process.
   *
   * @param lowestAfterBytes per interval, the lowest heap in use after a pause in it, or null
   *     when no pause fell in it
   * @param liveBytes the heap in use after each forced full collection, in order: the live set
   */
  public record Series(String name, List<Long> lowestAfterBytes, int pauses, int fullPauses, long highestAfterBytes,
      long committedBytes, List<Long> liveBytes) {}

  private final long intervalMs;
  private final List<Series> series;

  private HeapReport(long intervalMs, List<Series> series) {
    this.intervalMs = intervalMs;
    this.series = series;
  }

  /** The pauses of each process that fell between {@code fromEpochMs} and {@code toEpochMs}. */
  public static HeapReport of(Map<String, List<GcLog.Pause>> byProcess, long fromEpochMs, long toEpochMs,
      long intervalMs) {
    int intervals = (int) Math.max(1, (toEpochMs - fromEpochMs + intervalMs - 1) / intervalMs);
    List<Series> all = new ArrayList<>();
    for (Map.Entry<String, List<GcLog.Pause>> e : new LinkedHashMap<>(byProcess).entrySet()) {
      List<Long> lowest = new ArrayList<>(Collections.nCopies(intervals, (Long) null));
      int pauses = 0;
      int full = 0;
      long highest = 0;
      long committed = 0;
      List<Long> live = new ArrayList<>();
      for (GcLog.Pause p : e.getValue()) {
        if (p.epochMs() < fromEpochMs || p.epochMs() > toEpochMs) {
          continue;
        }
        int i = (int) Math.min(intervals - 1, (p.epochMs() - fromEpochMs) / intervalMs);
        Long current = lowest.get(i);
        lowest.set(i, current == null ? p.usedAfterBytes() : Math.min(current, p.usedAfterBytes()));
        pauses++;
        full += p.full() ? 1 : 0;
        highest = Math.max(highest, p.usedAfterBytes());
        committed = Math.max(committed, p.committedBytes());
        if (p.forcedFull()) {
          live.add(p.usedAfterBytes());
        }
      }
      all.add(new Series(e.getKey(), lowest, pauses, full, highest, committed, live));
    }
    return new HeapReport(intervalMs, all);
  }

  public long intervalMs() {
    return intervalMs;
  }

  public List<Series> series() {
    return series;
  }

  /** A table: one row per process, one column per interval, MiB. */
  public void printTable(PrintWriter out) {
    out.printf("heap:       MiB in use after GC, lowest per %d s interval of the run (warm-up included; - = no GC)%n",
        intervalMs / 1000);
    if (series.isEmpty()) {
      out.println("            (no collector log)");
      return;
    }
    StringBuilder header = new StringBuilder(String.format("            %-12s", "from"));
    int intervals = series.get(0).lowestAfterBytes().size();
    for (int i = 0; i < intervals; i++) {
      header.append(String.format(" %6s", i * intervalMs / 1000 + "s"));
    }
    out.println(header);
    for (Series s : series) {
      StringBuilder row = new StringBuilder(String.format("            %-12s", s.name()));
      for (Long v : s.lowestAfterBytes()) {
        row.append(String.format(" %6s", v == null ? "-" : String.format("%.0f", v / MIB)));
      }
      row.append(String.format("   (%d pauses, %d full; heap %.0f MiB)", s.pauses(), s.fullPauses(),
          s.committedBytes() / MIB));
      out.println(row);
    }
    if (series.stream().anyMatch(s -> !s.liveBytes().isEmpty())) {
      out.println("            live set (MiB after a forced full GC at the end of the warm-up, then at the end):");
      for (Series s : series) {
        out.printf("            %-12s %s%n", s.name(), s.liveBytes().isEmpty() ? "-"
            : String.join(" -> ", s.liveBytes().stream().map(v -> String.format("%.1f", v / MIB)).toList()));
      }
    }
  }

  /** {@code {"intervalSec": .., "processes": [{"name", "lowestAfterGcMiB": [..], ...}]}} */
  public ObjectNode toJson(ObjectMapper json) {
    ObjectNode o = json.createObjectNode();
    o.put("intervalSec", intervalMs / 1000.0);
    ArrayNode processes = o.putArray("processes");
    for (Series s : series) {
      ObjectNode p = processes.addObject();
      p.put("name", s.name());
      ArrayNode values = p.putArray("lowestAfterGcMiB");
      for (Long v : s.lowestAfterBytes()) {
        if (v == null) {
          values.addNull();
        } else {
          values.add(Math.round(v / MIB * 10) / 10.0);
        }
      }
      p.put("pauses", s.pauses());
      p.put("fullPauses", s.fullPauses());
      p.put("highestAfterGcMiB", Math.round(s.highestAfterBytes() / MIB * 10) / 10.0);
      p.put("heapCommittedMiB", Math.round(s.committedBytes() / MIB * 10) / 10.0);
      ArrayNode live = p.putArray("liveAfterForcedFullGcMiB");
      s.liveBytes().forEach(v -> live.add(Math.round(v / MIB * 10) / 10.0));
    }
    return o;
  }
}

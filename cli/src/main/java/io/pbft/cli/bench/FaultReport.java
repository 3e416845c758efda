package io.pbft.cli.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;

/**
 * What a fault did to a run, from the completion timeline: throughput in the measured interval
 * before the fault, throughput from the fault to the end of the run (and relative to before), the
 * longest stretch without any completed operation from the fault on (the outage clients saw),
 * throughput from the end of that stretch to the end of the run, and the view changes.
 *
 * @param replica the replica the fault hit, or -1 (every replica, or an outsider's attack)
 * @param atSec when it hit, in seconds after the warm-up
 * @param throughputUnder throughput from the fault to the end of the run
 * @param firstCompletionAfterMs from the fault to the first operation completed after it, or -1
 * @param maxGapMs the longest stretch without a completion from the fault to the end of the run
 * @param recoveredAtSec where the longest stretch that a completion ended did end, in seconds
 *     after the warm-up; -1 if nothing completed after the fault, or if the run ended in a silence
 *     of at least a second that outlasted every earlier one (a stall, no recovery)
 * @param viewBefore the highest view when the fault was injected
 * @param viewAfter the highest view a reachable replica was in after the run, or -1 if none answered
 * @param attackerSent what the fault's attacker had sent by its last report: requests of a Byzantine
 *     client, streams an outsider opened, or garbage bytes an outsider sent; -1 (no attacker, or
 *     no report)
 */
public record FaultReport(Fault fault, int replica, double atSec, double throughputBefore, double throughputUnder,
    double throughputAfterRecovery, long firstCompletionAfterMs, long maxGapMs, double recoveredAtSec,
    long viewBefore, long viewAfter, double latencyP50BeforeMs, double latencyP50UnderMs, long attackerSent,
    long changeTookMs) {
  /**
   * A silence at the end of the run shorter than this is not taken for a stall: with a handful of
   * clients the last completions can be a few hundred milliseconds apart in a healthy run.
   */
  static final long STALL_MS = 1000;

  public static FaultReport of(Fault fault, int replica, LoadDriver.Result r, long faultAtMs, long viewBefore,
      long viewAfter, long attackerSent) {
    CompletionTimeline t = r.timeline();
    long from = r.measureFromMs();
    long to = r.measureToMs();
    double before = faultAtMs > from ? t.count(from, faultAtMs) * 1000.0 / (faultAtMs - from) : 0;
    double under = to > faultAtMs ? t.count(faultAtMs, to) * 1000.0 / (to - faultAtMs) : 0;
    long first = t.firstCompletion(faultAtMs, to);
    // The outage is the longest stretch that a completion ended. The silence after the last
    // completion is not an outage the group came out of; it counts as a stall (no recovery) only if
    // it outlasts that stretch and STALL_MS: shorter, it is just where the run was cut off.
    CompletionTimeline.Gap outage = t.longestClosedGap(faultAtMs, to);
    CompletionTimeline.Gap trailing = t.trailingGap(faultAtMs, to);
    if (first >= 0 && trailing.lengthMs() >= STALL_MS && trailing.lengthMs() > outage.lengthMs()) {
      // The window ended in a silence (a view change the fault caused, late in the run): if an
      // operation in flight then completed afterwards, the group came out of it, and the
      // silence, up to that completion, is the outage.
      long next = t.firstCompletion(to, Long.MAX_VALUE);
      if (next >= 0) {
        outage = new CompletionTimeline.Gap(trailing.fromMs(), next);
        trailing = new CompletionTimeline.Gap(to, to);
      }
    }
    boolean recovered = first >= 0
        && (trailing.lengthMs() < STALL_MS || trailing.lengthMs() <= outage.lengthMs());
    long recoveredAt = outage.lengthMs() > 0 ? outage.toMs() : first;
    double after = recovered && to > recoveredAt ? t.count(recoveredAt, to) * 1000.0 / (to - recoveredAt) : 0;
    long maxGap = Math.max(outage.lengthMs(), trailing.lengthMs());
    return new FaultReport(fault, replica, (faultAtMs - from) / 1000.0, before, under, after,
        first < 0 ? -1 : first - faultAtMs, maxGap, recovered ? (recoveredAt - from) / 1000.0 : -1,
        viewBefore, viewAfter, t.latencyP50Ms(from, faultAtMs), t.latencyP50Ms(faultAtMs, to), attackerSent, -1);
  }

  /**
   * This report with how long a change of the group ({@link Fault#changesGroup}) took from
   * being submitted to every replica running its epoch (-1: not within the run).
   */
  public FaultReport withChangeTookMs(long ms) {
    return new FaultReport(fault, replica, atSec, throughputBefore, throughputUnder, throughputAfterRecovery,
        firstCompletionAfterMs, maxGapMs, recoveredAtSec, viewBefore, viewAfter, latencyP50BeforeMs,
        latencyP50UnderMs, attackerSent, ms);
  }

  /** Median latency under the fault relative to before it (1.0: unchanged; 0 if unknown). */
  public double relativeLatency() {
    return latencyP50BeforeMs > 0 && latencyP50UnderMs > 0 ? latencyP50UnderMs / latencyP50BeforeMs : 0;
  }

  public boolean recovered() {
    return recoveredAtSec >= 0;
  }

  /** Views the group moved through from the fault to the end of the run; -1 if unknown. */
  public long viewChanges() {
    return viewAfter < 0 ? -1 : viewAfter - viewBefore;
  }

  /** Throughput under the fault relative to before it (1.0: unchanged). */
  public double relativeThroughput() {
    return throughputBefore > 0 ? throughputUnder / throughputBefore : 0;
  }

  public void print(PrintWriter out) {
    out.printf("fault:      %s%s at %.1f s after the warm-up (%s)%n", fault.option(),
        replica >= 0 ? " of replica " + replica : "", atSec, fault.description());
    out.printf("            throughput before: %.1f ops/s; from the fault on: %.1f ops/s (%.2f x); after the longest gap: %s%n",
        throughputBefore, throughputUnder, relativeThroughput(),
        recovered() ? String.format("%.1f ops/s (from %.1f s)", throughputAfterRecovery, recoveredAtSec)
            : firstCompletionAfterMs < 0 ? "none (no operation completed after the fault)"
                : "none (the run ended in a stall of " + maxGapMs + " ms)");
    out.printf("            median latency before: %.1f ms; from the fault on: %.1f ms (%.2f x)%n",
        latencyP50BeforeMs, latencyP50UnderMs, relativeLatency());
    out.printf("            first completion after the fault: %s; longest gap without completions: %d ms%n",
        firstCompletionAfterMs < 0 ? "none" : firstCompletionAfterMs + " ms", maxGapMs);
    out.printf("            views: %d -> %s: %s view change%s (expected %s)%n", viewBefore,
        viewAfter < 0 ? "?" : Long.toString(viewAfter), viewChanges() < 0 ? "?" : Long.toString(viewChanges()),
        viewChanges() == 1 ? "" : "s", fault.expectedViewChangesText());
    if (fault.attackerSentKey() != null) {
      String sent = attackerSent < 0 ? "no report of its" : Long.toString(attackerSent);
      out.printf("            %s%n", fault.client() != null ? "the Byzantine client sent " + sent + " requests"
          : fault == Fault.SESSION_EXHAUSTION ? "the outsider opened " + sent + " streams"
          : "the outsider sent " + sent + " garbage bytes");
    }
    if (fault.changesGroup()) {
      out.printf("            %s%n", changeTookMs >= 0 ? "every replica ran the new epoch " + changeTookMs
          + " ms after the command was submitted" : "the new epoch was not reported by every replica within the run");
    }
  }

  public void addTo(ObjectNode o) {
    ObjectNode f = o.putObject("fault");
    f.put("kind", fault.option());
    if (fault.changesGroup()) {
      f.put("changeTookMs", changeTookMs);
    }
    f.put("replica", replica);
    f.put("atSec", atSec);
    f.put("throughputBeforeOpsPerSec", Math.round(throughputBefore * 10) / 10.0);
    f.put("throughputUnderOpsPerSec", Math.round(throughputUnder * 10) / 10.0);
    f.put("relativeThroughput", Math.round(relativeThroughput() * 100) / 100.0);
    f.put("latencyP50BeforeMs", Math.round(latencyP50BeforeMs * 10) / 10.0);
    f.put("latencyP50UnderMs", Math.round(latencyP50UnderMs * 10) / 10.0);
    f.put("relativeLatency", Math.round(relativeLatency() * 100) / 100.0);
    f.put("throughputAfterRecoveryOpsPerSec", Math.round(throughputAfterRecovery * 10) / 10.0);
    f.put("firstCompletionAfterFaultMs", firstCompletionAfterMs);
    f.put("maxCompletionGapMs", maxGapMs);
    f.put("recovered", recovered());
    if (recovered()) {
      f.put("recoveredAtSec", recoveredAtSec);
    } else {
      f.putNull("recoveredAtSec");
    }
    f.put("viewBefore", viewBefore);
    f.put("viewAfter", viewAfter);
    f.put("viewChanges", viewChanges());
    // A number when the fault should cost exactly that many, null when a range (see the bounds).
    if (fault.expectedViewChangesMin() == fault.expectedViewChangesMax()) {
      f.put("expectedViewChanges", fault.expectedViewChangesMin());
    } else {
      f.putNull("expectedViewChanges");
    }
    f.put("expectedViewChangesMin", fault.expectedViewChangesMin());
    f.put("expectedViewChangesMax", fault.expectedViewChangesMax());
    if (fault.attackerSentKey() != null) {
      f.put(fault.attackerSentKey(), attackerSent);
    }
    f.put("viewChangesAsExpected", viewChanges() >= 0 && fault.viewChangesAsExpected(viewChanges()));
  }
}

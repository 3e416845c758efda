package io.pbft.cli.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;

/**
 * What a fault did to a run, from the completion timeline: throughput in the measured interval
 * before the fault, the longest stretch without any completed operation from the fault on (the
 * outage clients saw), and throughput from the end of that stretch to the end of the run.
 *
 * @param replica the replica the fault hit
 * @param atSec when it hit, in seconds after the warm-up
 * @param firstCompletionAfterMs from the fault to the first operation completed after it, or -1
 * @param maxGapMs the longest stretch without a completion from the fault to the end of the run
 * @param recoveredAtSec where that stretch ended, in seconds after the warm-up; -1 if it lasted
 *     to the end (no recovery)
 */
public record FaultReport(Fault fault, int replica, double atSec, double throughputBefore,
    double throughputAfterRecovery, long firstCompletionAfterMs, long maxGapMs, double recoveredAtSec) {

  public static FaultReport of(Fault fault, int replica, LoadDriver.Result r, long faultAtMs) {
    CompletionTimeline t = r.timeline();
    long from = r.measureFromMs();
    long to = r.measureToMs();
    double before = faultAtMs > from ? t.count(from, faultAtMs) * 1000.0 / (faultAtMs - from) : 0;
    long first = t.firstCompletion(faultAtMs, to);
    CompletionTimeline.Gap gap = t.longestGap(faultAtMs, to);
    boolean recovered = gap.toMs() < to;
    double after = recovered && to > gap.toMs() ? t.count(gap.toMs(), to) * 1000.0 / (to - gap.toMs()) : 0;
    return new FaultReport(fault, replica, (faultAtMs - from) / 1000.0, before, after,
        first < 0 ? -1 : first - faultAtMs, gap.lengthMs(), recovered ? (gap.toMs() - from) / 1000.0 : -1);
  }

  public boolean recovered() {
    return recoveredAtSec >= 0;
  }

  public void print(PrintWriter out) {
    out.printf("fault:      %s of replica %d at %.1f s after the warm-up%n", fault.option(), replica, atSec);
    out.printf("            throughput before: %.1f ops/s; after recovery: %s%n", throughputBefore,
        recovered() ? String.format("%.1f ops/s (from %.1f s)", throughputAfterRecovery, recoveredAtSec)
            : "none (no operation completed after the fault)");
    out.printf("            first completion after the fault: %s; longest gap without completions: %d ms%n",
        firstCompletionAfterMs < 0 ? "none" : firstCompletionAfterMs + " ms", maxGapMs);
  }

  public void addTo(ObjectNode o) {
    ObjectNode f = o.putObject("fault");
    f.put("kind", fault.option());
    f.put("replica", replica);
    f.put("atSec", atSec);
    f.put("throughputBeforeOpsPerSec", Math.round(throughputBefore * 10) / 10.0);
    f.put("throughputAfterRecoveryOpsPerSec", Math.round(throughputAfterRecovery * 10) / 10.0);
    f.put("firstCompletionAfterFaultMs", firstCompletionAfterMs);
    f.put("maxCompletionGapMs", maxGapMs);
    f.put("recovered", recovered());
    if (recovered()) {
      f.put("recoveredAtSec", recoveredAtSec);
    } else {
      f.putNull("recoveredAtSec");
    }
  }
}

package io.pbft.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CompletionTimelineTest {
  private static long at(long ms) {
    return TimeUnit.MILLISECONDS.toNanos(ms);
  }

  @Test
  void countsFirstCompletionAndLongestGap() {
    CompletionTimeline t = new CompletionTimeline(0, 10_000);
    for (long ms : new long[] {10, 20, 30, 1000, 3500, 3501, 3600}) {
      t.record(at(ms));
    }
    t.record(at(20_000)); // beyond the span: not recorded
    assertEquals(3, t.count(0, 1000), "[0, 1000) excludes 1000");
    assertEquals(7, t.count(0, 10_000));
    assertEquals(1000, t.firstCompletion(31, 10_000));
    assertEquals(-1, t.firstCompletion(3601, 10_000));
    CompletionTimeline.Gap gap = t.longestClosedGap(40, 5000);
    assertEquals(1001, gap.fromMs(), "the gap opens after the completion at 1000");
    assertEquals(3500, gap.toMs(), "and closes at the next one");
    CompletionTimeline.Gap tail = t.trailingGap(3700, 10_000);
    assertEquals(6300, tail.lengthMs(), "no completion after 3700: the gap runs to the end");
    assertEquals(3601, t.trailingGap(40, 5000).fromMs(), "from just after the last completion");
  }

  @Test
  void faultReportSplitsTheRunAtTheLongestGap() {
    CompletionTimeline t = new CompletionTimeline(0, 20_000);
    // measured from 2 s to 12 s: 10 ops/s until the fault at 6 s, silence until 8 s, then 20 ops/s
    for (long ms = 2000; ms < 6000; ms += 100) {
      t.record(at(ms));
    }
    t.record(at(6010)); // an operation that was already committed when the primary died
    for (long ms = 8000; ms < 12_000; ms += 50) {
      t.record(at(ms));
    }
    LoadDriver.Result r = new LoadDriver.Result(0, 0, 10, null, null, t, 2000, 12_000, java.util.List.of(6000L));
    FaultReport f = FaultReport.of(Fault.KILL_PRIMARY, 0, r, 6000, 0, 1, -1);
    assertEquals(10.0, f.throughputBefore(), 1e-9);
    assertEquals(10, f.firstCompletionAfterMs());
    assertEquals(8000 - 6011, f.maxGapMs());
    assertEquals(6.0, f.recoveredAtSec(), 1e-9, "recovered 6 s after the warm-up");
    assertEquals(20.0, f.throughputAfterRecovery(), 1e-9);
    assertEquals(4.0, f.atSec(), 1e-9);
    assertEquals(81 / 6.0, f.throughputUnder(), 1e-9, "from the fault to the end, the gap included");
    assertEquals(81 / 6.0 / 10.0, f.relativeThroughput(), 1e-9);
    assertEquals(1, f.viewChanges());
    assertEquals(-1, f.latencyP50BeforeMs(), "no latencies recorded");
    assertEquals(0, f.relativeLatency());
  }

  @Test
  void aShortSilenceAtTheEndIsNotAStall() {
    // a healthy run with no gap after the fault longer than the last 120 ms (CI saw this once:
    // the report said "not recovered" because that tail was its longest gap)
    CompletionTimeline t = new CompletionTimeline(0, 20_000);
    for (long ms = 2000; ms < 11_880; ms += 20) {
      t.record(at(ms));
    }
    LoadDriver.Result r = new LoadDriver.Result(0, 0, 10, null, null, t, 2000, 12_000, java.util.List.of(6000L));
    FaultReport f = FaultReport.of(Fault.SLOW_BACKUP, 1, r, 6000, 0, 0, -1);
    assertTrue(f.recovered());
    assertEquals(12_000 - 11_861, f.maxGapMs(), "the tail is still reported as the longest gap");
    assertEquals(0, f.firstCompletionAfterMs());
  }

  @Test
  void aLongSilenceAtTheEndIsAStall() {
    CompletionTimeline t = new CompletionTimeline(0, 20_000);
    for (long ms = 2000; ms < 7000; ms += 20) { // runs on past the fault at 6 s, then stops for 5 s
      t.record(at(ms));
    }
    LoadDriver.Result r = new LoadDriver.Result(0, 0, 10, null, null, t, 2000, 12_000, java.util.List.of(6000L));
    FaultReport f = FaultReport.of(Fault.KILL_PRIMARY, 0, r, 6000, 0, 0, -1);
    assertFalse(f.recovered(), "operations completed after the fault, but the group stopped");
    assertEquals(12_000 - 6981, f.maxGapMs());
    assertEquals(0, f.throughputAfterRecovery());

    FaultReport none = FaultReport.of(Fault.KILL_PRIMARY, 0,
        new LoadDriver.Result(0, 0, 10, null, null, t, 2000, 12_000, java.util.List.of(7500L)), 7500, 0, 0, -1);
    assertFalse(none.recovered());
    assertEquals(-1, none.firstCompletionAfterMs());
  }

  @Test
  void aSilenceAtTheEndThatOperationsInFlightEndedAfterTheWindowIsAnOutageRecoveredFrom() {
    // CI: a view change the fault may cause began 1.3 s before the window ended; the operations
    // in flight completed after it, in the new view. That is an outage the group came out of.
    CompletionTimeline t = new CompletionTimeline(0, 40_000);
    for (long ms = 2000; ms < 10_700; ms += 20) {
      t.record(at(ms));
    }
    t.record(at(12_900)); // after the window, in flight at its end
    LoadDriver.Result r = new LoadDriver.Result(0, 0, 10, null, null, t, 2000, 12_000, java.util.List.of(6000L));
    FaultReport f = FaultReport.of(Fault.KILL_PRIMARY, 0, r, 6000, 0, 1, -1);
    assertTrue(f.recovered());
    assertEquals(12_900 - 10_681, f.maxGapMs(), "from the last completion to the one after the window");
    assertEquals(10.9, f.recoveredAtSec(), 1e-9);
    assertEquals(0, f.throughputAfterRecovery(), "nothing of the window is left after it");
    assertEquals(t.count(6000, 12_000) / 6.0, f.throughputUnder(), 1e-9,
        "completions after the window count in no throughput");
  }

  @Test
  void medianLatencyBeforeAndUnderAFault() {
    CompletionTimeline t = new CompletionTimeline(0, 20_000);
    // 100 ms per operation until the fault at 6 s, 300 ms after it (a flood slowing the others)
    for (long ms = 2000; ms < 6000; ms += 100) {
      t.record(at(ms), 100_000);
    }
    for (long ms = 6000; ms < 12_000; ms += 100) {
      t.record(at(ms), ms < 7000 ? 5_000_000 : 300_000); // one slow second just after the fault
    }
    assertEquals(100, t.latencyP50Ms(2000, 6000), 1);
    assertEquals(300, t.latencyP50Ms(6000, 12_000), 1, "the median, not the mean: one slow second is an outlier");
    assertEquals(-1, t.latencyP50Ms(15_000, 20_000), "nothing completed there");
    LoadDriver.Result r = new LoadDriver.Result(0, 0, 10, null, null, t, 2000, 12_000, java.util.List.of(6000L));
    FaultReport f = FaultReport.of(Fault.FLOOD_CLIENT, -1, r, 6000, 0, 0, -1);
    assertEquals(3.0, f.relativeLatency(), 0.02);
  }
}

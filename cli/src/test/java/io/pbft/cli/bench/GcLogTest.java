package io.pbft.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GcLogTest {
  private static final List<String> LOG = List.of(
      "[1000ms] Using Parallel",
      "[2000ms] GC(0) Pause Young (Allocation Failure) 16M->4M(61M) 32.415ms",
      "[2500ms] GC(1) Pause Young (Allocation Failure) 20M->6M(61M) 25.527ms",
      "[9000ms] GC(2) Pause Full (Ergonomics) 900K->512K(1G) 120.000ms",
      "[9500ms] GC(3) Pause Young (System.gc()) 2G->1G(3G) 1.0ms",
      "[9600ms] GC(4) Pause Full (Diagnostic Command) 1G->300M(3G) 90.0ms",
      "not a collection line");

  @Test
  void readsEveryPauseWithItsUnits() {
    List<GcLog.Pause> pauses = GcLog.parse(LOG);
    assertEquals(5, pauses.size());
    assertEquals(new GcLog.Pause(2000, "Pause Young (Allocation Failure)", 16L << 20, 4L << 20, 61L << 20),
        pauses.get(0));
    assertTrue(pauses.get(2).full());
    assertEquals(512L << 10, pauses.get(2).usedAfterBytes());
    assertEquals(1L << 30, pauses.get(2).committedBytes());
    assertEquals("Pause Young (System.gc())", pauses.get(3).kind());
    assertTrue(pauses.get(4).forcedFull());
  }

  @Test
  void heapReportKeepsTheLowestValuePerInterval() {
    HeapReport r = HeapReport.of(Map.of("replica 0", GcLog.parse(LOG)), 1000, 11_000, 5000);
    HeapReport.Series s = r.series().get(0);
    assertEquals(2, s.lowestAfterBytes().size());
    assertEquals(4L << 20, s.lowestAfterBytes().get(0), "lowest of 4 MiB and 6 MiB in [1 s, 6 s)");
    assertEquals(512L << 10, s.lowestAfterBytes().get(1));
    assertEquals(5, s.pauses());
    assertEquals(2, s.fullPauses());
    assertEquals(List.of(300L << 20), s.liveBytes(), "the forced full collection measured the live set");
    HeapReport quiet = HeapReport.of(Map.of("replica 1", List.of()), 1000, 11_000, 5000);
    assertNull(quiet.series().get(0).lowestAfterBytes().get(0), "no pause: no value");
  }
}

package io.pbft.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class CpuUsageTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void perOperationCountsOnlyProcessesAliveAtBothSamples() {
    CpuUsage.Sample from = new CpuUsage.Sample(0, 1 * SECOND, Map.of("replica-0", 10 * SECOND, "replica-1", 5 * SECOND));
    // replica-0 was killed in between; replica-2 was started in between
    CpuUsage.Sample to = new CpuUsage.Sample(10 * SECOND, 3 * SECOND,
        Map.of("replica-1", 11 * SECOND, "replica-2", 4 * SECOND));
    CpuUsage.Usage u = CpuUsage.between(from, to);
    assertEquals(1, u.processes());
    assertEquals(6 * SECOND, u.processesCpuNanos());
    assertEquals(2 * SECOND, u.clientCpuNanos());
    assertEquals(0.8, u.coresBusy(), 1e-9);
    // 8 s of CPU over 10 s at 1,000 ops/s: 800 us per operation, 600 of them the replicas'
    assertEquals(800, u.microsPerOperation(1000), 1e-9);
    assertEquals(600, u.processesMicrosPerOperation(1000), 1e-9);
    assertEquals(200, u.clientMicrosPerOperation(1000), 1e-9);
    assertEquals("800 us per operation (replicas 600, clients 200); 0.80 cores busy", u.describe(1000, "replicas"));
  }

  @Test
  void withoutStartedProcessesOnlyTheClientsAreReported() {
    CpuUsage.Usage u = CpuUsage.between(new CpuUsage.Sample(0, 0, Map.of()), new CpuUsage.Sample(SECOND, SECOND / 2, Map.of()));
    assertEquals(0, u.microsPerOperation(0), "no operations: no figure, not a division by zero");
    assertTrue(u.describe(500, "replicas").startsWith("1000 us per operation in the clients (the replicas are not measured"),
        u.describe(500, "replicas"));
  }

  @Test
  void thisJvmsCpuIsSampled() {
    CpuUsage.Sample s = CpuUsage.sample(Map::of);
    assertTrue(s.clientCpuNanos() > 0, "the JVM running the test has used CPU");
  }
}

package io.pbft.cli.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The CPU time (user and system) a run's processes used over the measured interval: the bench
 * JVM, which runs the clients, and every process bench started (replicas, or the unreplicated
 * server). Divided by the throughput it gives the CPU each operation costs, the figure that tells
 * how far a 2-core machine is from saturation and what a change saved, however noisy the clock.
 *
 * <p>A process that exits between the two samples (a killed primary) is left out of both.
 */
public final class CpuUsage {
  /** What was used up to one moment: this JVM's CPU, each started process's, and the wall clock. */
  public record Sample(long wallNanos, long clientCpuNanos, Map<String, Long> processCpuNanos) {}

  /**
   * CPU used between two samples.
   *
   * @param processes how many started processes were alive at both samples
   */
  public record Usage(double seconds, long clientCpuNanos, long processesCpuNanos, int processes) {
    /** Cores kept busy on average, all measured processes together. */
    public double coresBusy() {
      return seconds > 0 ? (clientCpuNanos + processesCpuNanos) / 1e9 / seconds : 0;
    }

    /** Microseconds of CPU per operation at {@code opsPerSecond}: all processes, then the clients' and the others' share. */
    public double microsPerOperation(double opsPerSecond) {
      return perOperation(clientCpuNanos + processesCpuNanos, opsPerSecond);
    }

    public double clientMicrosPerOperation(double opsPerSecond) {
      return perOperation(clientCpuNanos, opsPerSecond);
    }

    public double processesMicrosPerOperation(double opsPerSecond) {
      return perOperation(processesCpuNanos, opsPerSecond);
    }

    private double perOperation(long cpuNanos, double opsPerSecond) {
      return seconds > 0 && opsPerSecond > 0 ? cpuNanos / 1e3 / seconds / opsPerSecond : 0;
    }

    /** One line: per operation, the split, and the cores busy. */
    public String describe(double opsPerSecond, String processesName) {
      if (processes == 0) {
        return String.format("%.0f us per operation in the clients (the %s are not measured: bench did not start "
            + "them); %.2f cores busy", clientMicrosPerOperation(opsPerSecond), processesName, coresBusy());
      }
      return String.format("%.0f us per operation (%s %.0f, clients %.0f); %.2f cores busy", microsPerOperation(opsPerSecond),
          processesName, processesMicrosPerOperation(opsPerSecond), clientMicrosPerOperation(opsPerSecond), coresBusy());
    }

    public void addTo(ObjectNode o, double opsPerSecond, String processesName) {
      ObjectNode cpu = o.putObject("cpu");
      cpu.put("processesMeasured", processes);
      cpu.put("microsPerOperation", Math.round(microsPerOperation(opsPerSecond) * 10) / 10.0);
      cpu.put(processesName + "MicrosPerOperation", Math.round(processesMicrosPerOperation(opsPerSecond) * 10) / 10.0);
      cpu.put("clientMicrosPerOperation", Math.round(clientMicrosPerOperation(opsPerSecond) * 10) / 10.0);
      cpu.put("coresBusy", Math.round(coresBusy() * 100) / 100.0);
      cpu.put("seconds", Math.round(seconds * 10) / 10.0);
    }
  }

  private CpuUsage() {}

  /** Samples this JVM and the processes {@code processes} reports (name to CPU nanoseconds so far). */
  public static Sample sample(Supplier<Map<String, Long>> processes) {
    long client = ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos()).orElse(0L);
    return new Sample(System.nanoTime(), client, Map.copyOf(processes.get()));
  }

  /** What was used from {@code from} to {@code to}, over the processes present in both. */
  public static Usage between(Sample from, Sample to) {
    long processes = 0;
    int count = 0;
    for (Map.Entry<String, Long> e : to.processCpuNanos().entrySet()) {
      Long before = from.processCpuNanos().get(e.getKey());
      if (before != null) {
        processes += e.getValue() - before;
        count++;
      }
    }
    return new Usage((to.wallNanos() - from.wallNanos()) / 1e9, to.clientCpuNanos() - from.clientCpuNanos(),
        processes, count);
  }
}

package io.pbft.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** Waiting in wall time for something to hold, by asking again every so often. */
public final class Polling {
  /** How long to wait between two probes. */
  public static final Duration INTERVAL = Duration.ofMillis(100);

  private Polling() {}

  /**
   * Probes until {@code done} holds for the value or {@code limit} has passed, and returns the
   * last value either way (a caller asserts on it, so a failure shows what was seen last).
   */
  public static <T> T until(Supplier<T> probe, Predicate<? super T> done, Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    T value = probe.get();
    while (!done.test(value) && System.nanoTime() - deadline < 0) {
      sleep(INTERVAL);
      value = probe.get();
    }
    return value;
  }

  /**
   * Waits until {@code condition} holds.
   *
   * @throws ClusterTimeoutException naming {@code what} if it does not within {@code timeout}
   */
  public static void await(String what, BooleanSupplier condition, Duration timeout) {
    long start = System.nanoTime();
    if (!until(condition::getAsBoolean, Boolean::booleanValue, timeout)) {
      throw new ClusterTimeoutException("not within " + timeout.toMillis() + " ms (" + (System.nanoTime() - start)
          / 1_000_000 + " ms waited): " + what);
    }
  }

  /** Thread.sleep that turns an interrupt into an unchecked exception (and keeps the flag). */
  public static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}

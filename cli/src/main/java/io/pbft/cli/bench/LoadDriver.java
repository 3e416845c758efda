package io.pbft.cli.bench;

import io.pbft.cli.Main;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;

/**
 * Closed-loop load: each client (one thread) issues its next operation as soon as the previous
 * one completes, so the offered load adapts to the system and latency is not inflated by a
 * queue in front of it. Either time-bound with a warm-up whose operations are not measured
 * (bench), or bound by an operation count with everything measured (demo). Prints a progress
 * line every second. Successful completions are also kept per millisecond on a
 * {@link CompletionTimeline}, and actions can be scheduled at a point of the run (bench injects
 * faults that way), so throughput around an event can be worked out afterwards.
 */
public final class LoadDriver {
  /** Highest latency the histograms track: anything slower is clamped to it. */
  private static final long MAX_MICROS = TimeUnit.MINUTES.toMicros(10);
  private static final long NOT_YET = Long.MIN_VALUE;
  private static final long CANCELLED = Long.MIN_VALUE + 1;
  /** Counted runs have no planned end; their timeline covers this much. */
  private static final long COUNTED_TIMELINE_MS = TimeUnit.HOURS.toMillis(1);

  /** One operation of client {@code client}; throws if it failed. */
  @FunctionalInterface
  public interface ClientStep {
    void run(int client) throws Exception;
  }

  /**
   * @param warmup unmeasured lead-in (time mode)
   * @param duration measured time after the warm-up (time mode), or null for count mode
   * @param totalOps operations to run, spread evenly over the clients (count mode)
   */
  public record Plan(int clients, Duration warmup, Duration duration, long totalOps) {
    public static Plan timed(int clients, Duration warmup, Duration duration) {
      return new Plan(clients, warmup, duration, 0);
    }

    public static Plan counted(int clients, long totalOps) {
      return new Plan(clients, Duration.ZERO, null, totalOps);
    }

    boolean timed() {
      return duration != null;
    }
  }

  /**
   * @param operations measured successful operations
   * @param errors failed operations over the whole run, warm-up included
   * @param seconds length of the measured interval
   * @param latencyMicros latencies of the measured operations
   * @param timeline completions of successful operations over the whole run, warm-up included
   * @param measureFromMs where the measured interval starts on the timeline
   * @param measureToMs where it ends
   * @param actionsAtMs when each scheduled action actually ran, in its order of scheduling (ms
   *     on the timeline), or -1 for one whose time never came
   */
  public record Result(long operations, long errors, double seconds, Histogram latencyMicros, String firstError,
      CompletionTimeline timeline, long measureFromMs, long measureToMs, List<Long> actionsAtMs) {
    public double throughput() {
      return seconds > 0 ? operations / seconds : 0;
    }
  }

  private record Scheduled(Duration at, String name, Runnable action) {}

  /** How long after a timed window the timeline still records completions of operations in flight. */
  static final long IN_FLIGHT_TAIL_MS = 30_000;

  private final Plan plan;
  private final ClientStep step;
  private final PrintWriter progress;
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final AtomicReference<String> firstError = new AtomicReference<>();
  private final List<Scheduled> scheduled = new ArrayList<>();
  private long startNanos;
  private long measureFromNanos;
  private long endNanos;
  private CompletionTimeline timeline;

  public LoadDriver(Plan plan, ClientStep step, PrintWriter progress) {
    this.plan = plan;
    this.step = step;
    this.progress = progress;
  }

  /**
   * Runs {@code action} on a thread of its own {@code at} after the start of the run (warm-up
   * included), while the clients go on; its time is reported in {@link Result#actionsAtMs}. Call
   * before {@link #run}.
   */
  public LoadDriver schedule(Duration at, String name, Runnable action) {
    scheduled.add(new Scheduled(at, name, action));
    return this;
  }

  public Result run() throws InterruptedException {
    startNanos = System.nanoTime();
    measureFromNanos = startNanos + plan.warmup().toNanos();
    endNanos = plan.timed() ? measureFromNanos + plan.duration().toNanos() : Long.MAX_VALUE;
    // A timed run's timeline goes on past the window for the operations still in flight at its
    // end: they count in no figure, but show whether an outage that began just before the end
    // was one the group came out of (FaultReport).
    timeline = new CompletionTimeline(startNanos, plan.timed()
        ? TimeUnit.NANOSECONDS.toMillis(endNanos - startNanos) + 1 + IN_FLIGHT_TAIL_MS : COUNTED_TIMELINE_MS);
    // Per action: NOT_YET, CANCELLED, or the nanoTime it began. Whoever moves it from NOT_YET wins.
    AtomicLongArray actionNanos = new AtomicLongArray(scheduled.size());
    for (int i = 0; i < scheduled.size(); i++) {
      actionNanos.set(i, NOT_YET);
    }
    List<Thread> actions = new ArrayList<>();
    for (int i = 0; i < scheduled.size(); i++) {
      actions.add(startAction(scheduled.get(i), i, actionNanos));
    }
    List<Histogram> histograms = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < plan.clients(); c++) {
      Histogram h = new Histogram(MAX_MICROS, 3);
      histograms.add(h);
      long quota = plan.timed() ? Long.MAX_VALUE
          : plan.totalOps() / plan.clients() + (c < plan.totalOps() % plan.clients() ? 1 : 0);
      int client = c;
      Thread t = new Thread(() -> clientLoop(client, quota, h), "load-client-" + c);
      t.setDaemon(true); // never keeps the JVM alive after Ctrl-C
      threads.add(t);
      t.start();
    }
    report(threads);
    long measuredEnd = plan.timed() ? endNanos : System.nanoTime();
    for (int i = 0; i < actions.size(); i++) {
      if (actionNanos.compareAndSet(i, NOT_YET, CANCELLED)) {
        actions.get(i).interrupt(); // still waiting for its time: the run ended first
      }
      actions.get(i).join(); // one that began finishes (a fault must not be left half done)
    }
    Histogram all = new Histogram(MAX_MICROS, 3);
    histograms.forEach(all::add);
    double seconds = (measuredEnd - measureFromNanos) / 1e9;
    List<Long> actionsAtMs = new ArrayList<>();
    for (int i = 0; i < actionNanos.length(); i++) {
      long at = actionNanos.get(i);
      actionsAtMs.add(at == CANCELLED ? -1 : timeline.msAt(at));
    }
    return new Result(all.getTotalCount(), errors.get(), seconds, all, firstError.get(), timeline,
        timeline.msAt(measureFromNanos), timeline.msAt(measuredEnd), List.copyOf(actionsAtMs));
  }

  private Thread startAction(Scheduled s, int index, AtomicLongArray actionNanos) {
    Thread t = new Thread(() -> {
      long due = startNanos + s.at().toNanos();
      try {
        for (long left = due - System.nanoTime(); left > 0; left = due - System.nanoTime()) {
          TimeUnit.NANOSECONDS.sleep(left);
        }
      } catch (InterruptedException e) {
        return;
      }
      if (!actionNanos.compareAndSet(index, NOT_YET, System.nanoTime())) {
        return; // cancelled: the run is over
      }
      progress.printf("[%4ds] %s%n", Math.round((System.nanoTime() - startNanos) / 1e9), s.name());
      progress.flush();
      try {
        s.action().run();
      } catch (RuntimeException e) {
        progress.printf("%s failed: %s%n", s.name(), Main.brief(String.valueOf(e.getMessage())));
        progress.flush();
      }
    }, "load-action-" + s.name());
    t.setDaemon(true);
    t.start();
    return t;
  }

  private void clientLoop(int client, long quota, Histogram latency) {
    for (long done = 0; done < quota; done++) {
      long start = System.nanoTime();
      if (start - endNanos >= 0 || Thread.currentThread().isInterrupted()) {
        return;
      }
      boolean ok;
      try {
        step.run(client);
        ok = true;
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        ok = false;
        errors.incrementAndGet();
        firstError.compareAndSet(null, Main.brief(e.getMessage() != null ? e.getMessage() : e.toString()));
      }
      long end = System.nanoTime();
      completed.incrementAndGet();
      if (ok && end - endNanos <= 0) {
        timeline.record(end, (end - start) / 1_000);
      } else if (ok) {
        timeline.record(end); // after the window: its completion only, for FaultReport
      }
      // Only operations wholly inside the measured interval count: the warm-up is for JIT,
      // connections and batching to settle, and an operation still running at the end belongs
      // to no interval.
      if (ok && start - measureFromNanos >= 0 && end - endNanos <= 0) {
        latency.recordValue(Math.min(MAX_MICROS, Math.max(1, (end - start) / 1_000)));
      }
    }
  }

  /** Waits for the clients, printing one line a second. */
  private void report(List<Thread> threads) throws InterruptedException {
    long lastCount = 0;
    long lastNanos = startNanos;
    long nextTick = startNanos + TimeUnit.SECONDS.toNanos(1);
    while (threads.stream().anyMatch(Thread::isAlive)) {
      long waitMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(nextTick - System.nanoTime()));
      Thread.sleep(Math.min(waitMs, 100));
      long now = System.nanoTime();
      if (now - nextTick < 0) {
        continue;
      }
      long count = completed.get();
      double rate = (count - lastCount) / ((now - lastNanos) / 1e9);
      long elapsed = Math.round((now - startNanos) / 1e9);
      String phase = !plan.timed() ? count + "/" + plan.totalOps() + " ops"
          : (now - measureFromNanos < 0 ? "warm-up  " : "measuring") + " " + count + " ops";
      progress.printf("[%4ds] %s, %.0f ops/s, errors %d%s%n", elapsed, phase, rate, errors.get(),
          errors.get() > 0 && firstError.get() != null ? " (first: " + firstError.get() + ")" : "");
      progress.flush();
      lastCount = count;
      lastNanos = now;
      nextTick += TimeUnit.SECONDS.toNanos(1);
    }
  }
}

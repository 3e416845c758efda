package io.pbft.chaos.sim;

import java.util.PriorityQueue;

/**
 * The virtual clock and its agenda. Events run in (time, insertion order): two events due at the
 * same virtual millisecond run in the order they were scheduled, so a run depends on nothing but
 * its seed (no wall clock, no hash order, no threads).
 */
final class Scheduler {
  private record Event(long timeMs, long order, Runnable action) implements Comparable<Event> {
    @Override
    public int compareTo(Event o) {
      int byTime = Long.compare(timeMs, o.timeMs);
      return byTime != 0 ? byTime : Long.compare(order, o.order);
    }
  }

  private final PriorityQueue<Event> agenda = new PriorityQueue<>();
  private long nowMs;
  private long scheduled;
  private long ran;

  long nowMs() {
    return nowMs;
  }

  long eventsRun() {
    return ran;
  }

  /** Runs {@code action} {@code delayMs} virtual milliseconds from now (0: after what is due now). */
  void after(long delayMs, Runnable action) {
    at(nowMs + Math.max(0, delayMs), action);
  }

  void at(long timeMs, Runnable action) {
    agenda.add(new Event(Math.max(timeMs, nowMs), scheduled++, action));
  }

  /** Runs the next event if one is due at or before {@code untilMs}; false otherwise. */
  boolean runNext(long untilMs) {
    Event next = agenda.peek();
    if (next == null || next.timeMs() > untilMs) {
      nowMs = Math.max(nowMs, Math.min(untilMs, next == null ? untilMs : next.timeMs()));
      return false;
    }
    agenda.poll();
    nowMs = next.timeMs();
    ran++;
    next.action().run();
    return true;
  }
}

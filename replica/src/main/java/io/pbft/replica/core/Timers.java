package io.pbft.replica.core;

/**
 * The view-change timer (section 4.4, with the backoff of 4.5.2) and the heartbeat schedule.
 * Time comes in with the events; nothing here reads a clock.
 */
final class Timers {
  private final ReplicaState state;
  /** Consecutive view changes stop doubling the timeout beyond 2^this. */
  private final int backoffDoublingsMax;
  private long deadlineMs = -1;
  private int consecutiveViewChanges;
  private long nextHeartbeatMs;

  Timers(ReplicaState state, int backoffDoublingsMax) {
    this.state = state;
    this.backoffDoublingsMax = backoffDoublingsMax;
  }

  /** The timeout now: the configured one, doubled per consecutive view change. */
  long timeoutMs() {
    int doublings = Math.min(Math.max(consecutiveViewChanges - 1, 0), backoffDoublingsMax);
    return (long) state.settings.viewChangeTimeoutMs() << doublings;
  }

  boolean armed() {
    return deadlineMs >= 0;
  }

  long deadlineMs() {
    return deadlineMs;
  }

  /** Starts the timer unless it runs already. */
  void arm() {
    if (deadlineMs < 0) {
      deadlineMs = state.nowMs + timeoutMs();
    }
  }

  /** Starts the timer afresh. */
  void rearm() {
    deadlineMs = state.nowMs + timeoutMs();
  }

  void disarm() {
    deadlineMs = -1;
  }

  /** True once when the timer expires (it is then disarmed). */
  boolean expired() {
    if (deadlineMs >= 0 && state.nowMs >= deadlineMs) {
      deadlineMs = -1;
      return true;
    }
    return false;
  }

  /**
   * While requests wait at a backup the timer runs; it stops when none do. During a view change
   * the view-change protocol arms it itself.
   */
  void update(boolean requestsAwaited) {
    if (state.viewChanging) {
      return;
    }
    if (!requestsAwaited || state.primary() == state.id) {
      deadlineMs = -1;
    } else {
      arm();
    }
  }

  /** A request this replica waited for ran: the primary works, back to the base timeout. */
  void progress(boolean requestsAwaited) {
    consecutiveViewChanges = 0;
    deadlineMs = -1;
    update(requestsAwaited);
  }

  void viewChangeStarted() {
    consecutiveViewChanges++;
    deadlineMs = -1;
  }

  /** True when a heartbeat is due now; schedules the next. */
  boolean heartbeatDue() {
    if (state.nowMs >= nextHeartbeatMs) {
      nextHeartbeatMs = state.nowMs + state.settings.viewChangeTimeoutMs();
      return true;
    }
    return false;
  }
}

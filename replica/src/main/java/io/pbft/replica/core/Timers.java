package io.pbft.replica.core;

/**
 * The view-change timer (section 4.4, with the backoff of 4.5.2), the heartbeat schedule and this
 * replica's own stalls. Time comes in with the events; nothing here reads a clock.
 *
 * <p>In a view, the timer runs while requests this replica received itself wait for execution:
 * it expires once the longest-waiting client has seen no progress for the timeout (each client's
 * wait restarts when the primary executes one of its requests, so a client that floods with ever
 * newer requests cannot make its own newest one look ignored). While changing views, it is the
 * NEW-VIEW timer, armed once 2f + 1 replicas want the new view.
 */
final class Timers {
  private final ReplicaState state;
  /** Consecutive view changes stop doubling the timeout beyond 2^this. */
  private final int backoffDoublingsMax;
  private long deadlineMs = -1;
  /** The timer does not expire before this (while the replica catches up). */
  private long postponedUntilMs = Long.MIN_VALUE;
  private int consecutiveViewChanges;
  private long nextHeartbeatMs;
  private long firstTickMs = Long.MIN_VALUE;
  private long stalledMs;

  Timers(ReplicaState state, int backoffDoublingsMax) {
    this.state = state;
    this.backoffDoublingsMax = backoffDoublingsMax;
  }

  /**
   * How long a request may wait before this backup suspects the primary: {@code
   * viewChangeTimeoutLatencyFactor} times the observed agreement latency, kept within {@code
   * [viewChangeTimeoutMinMs, viewChangeTimeoutMaxMs]} ({@code viewChangeTimeoutMs} until a batch
   * committed here), doubled within that upper bound while the replica warms up ({@code
   * requestTimerWarmUpBatches}, {@code requestTimerWarmUpMs}); after consecutive view changes, the configured timeout doubled per view
   * change if that is longer. The adaptive part is never doubled, so backoff grows from the configured timeout as in
   * the paper, and a widened timer stays within its upper bound.
   */
  long timeoutMs() {
    long base = baseRequestTimeoutMs();
    return doublings() == 0 ? base : Math.max(base, newViewTimeoutMs());
  }

  /** The request timer before backoff, as {@link #timeoutMs()} describes it. */
  long baseRequestTimeoutMs() {
    long configured = state.settings.viewChangeTimeoutMs();
    long max = Math.max(state.settings.viewChangeTimeoutMaxMs(), configured);
    AgreementLatency agreement = state.agreement;
    long base;
    if (!agreement.known()) {
      base = configured;
    } else {
      long min = Math.min(state.settings.viewChangeTimeoutMinMs(), configured);
      double adaptive = Math.ceil(agreement.estimateMs() * state.settings.viewChangeTimeoutLatencyFactor());
      base = (long) Math.max(min, Math.min(max, adaptive));
    }
    if (warmingUp()) {
      base = Math.max(base, Math.min(2 * base, max));
    }
    return base;
  }

  /**
   * True until this replica has seen requestTimerWarmUpBatches batches commit since it started,
   * or for requestTimerWarmUpMs after its first tick, whichever ends first.
   */
  private boolean warmingUp() {
    if (state.agreement.samples() >= state.settings.requestTimerWarmUpBatches()
        || state.settings.requestTimerWarmUpMs() == 0) {
      return false;
    }
    return firstTickMs == Long.MIN_VALUE || state.nowMs - firstTickMs < state.settings.requestTimerWarmUpMs();
  }

  /**
   * The NEW-VIEW timer, and how long a replica that is catching up holds off suspecting: the
   * configured timeout doubled per consecutive view change (section 4.5.2). While consecutive
   * view changes double it, the request timer is at least this long as well.
   */
  long newViewTimeoutMs() {
    return (long) state.settings.viewChangeTimeoutMs() << doublings();
  }

  private int doublings() {
    return Math.min(Math.max(consecutiveViewChanges - 1, 0), backoffDoublingsMax);
  }

  boolean armed() {
    return deadlineMs >= 0;
  }

  /** Starts the NEW-VIEW timer afresh. */
  void rearm() {
    deadlineMs = state.nowMs + newViewTimeoutMs();
  }

  void disarm() {
    deadlineMs = -1;
  }

  /**
   * The timer may not expire for another timeout: this replica is behind and catches up first, or
   * it just resumed from a stall of its own.
   */
  void postpone() {
    postponedUntilMs = state.nowMs + newViewTimeoutMs();
    if (deadlineMs >= 0) {
      deadlineMs = Math.max(deadlineMs, postponedUntilMs);
    }
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
   * In a view: the timer runs from the longest-waiting client's {@code oldestAwaitedSinceMs}
   * (Long.MAX_VALUE when none waits), and not at all at the primary or while this replica already
   * complains (its complaint is repeated instead). During a view change the view-change protocol
   * arms it itself.
   */
  void update(long oldestAwaitedSinceMs, boolean complaining) {
    if (state.viewChanging) {
      return;
    }
    if (oldestAwaitedSinceMs == Long.MAX_VALUE || state.primary() == state.id || complaining) {
      deadlineMs = -1;
    } else {
      deadlineMs = Math.max(oldestAwaitedSinceMs + timeoutMs(), postponedUntilMs);
    }
  }

  /** A request this replica waited for ran: the primary works, back to the base timeout. */
  void progress() {
    consecutiveViewChanges = 0;
  }

  void viewChangeStarted() {
    consecutiveViewChanges++;
    deadlineMs = -1;
    postponedUntilMs = Long.MIN_VALUE;
  }

  /** True when a heartbeat is due now; schedules the next. */
  boolean heartbeatDue() {
    if (state.nowMs >= nextHeartbeatMs) {
      nextHeartbeatMs = state.nowMs + state.settings.viewChangeTimeoutMs();
      return true;
    }
    return false;
  }

  /**
   * Checks, at a tick, whether this replica itself stalled since the previous one (a pause of its
   * process, a long collection, a starved CPU): returns how long, or 0. Time it did not run does
   * not count against the primary: the caller shifts its waits by that much.
   */
  long stall() {
    if (firstTickMs == Long.MIN_VALUE) {
      firstTickMs = state.nowMs;
    }
    // The whole gap (Stalls.tick): counting only the part above the threshold let a 2 s pause of
    // every replica charge the primary a quarter of a timeout it never had.
    long stall = state.stalls.tick(state.nowMs);
    if (stall == 0) {
      return 0;
    }
    stalledMs += stall;
    if (deadlineMs >= 0) {
      deadlineMs += stall;
    }
    if (postponedUntilMs != Long.MIN_VALUE) {
      postponedUntilMs += stall;
    }
    return stall;
  }

  /** Total time this replica spent stalled (for status). */
  long stalledMs() {
    return stalledMs;
  }

  /** When the previous tick ran (a stall began after it). */
  long lastTickMs() {
    return state.stalls.lastTickMs();
  }
}

package io.pbft.chaos.sim;

import io.pbft.config.ProtocolSettings;

/**
 * How long, once every fault has healed, an operation may take (from its invocation, or from the
 * healing if it was invoked before), derived from the protocol's timers and from what the faults
 * leave behind. Every term is one step of the recovery, as the replica's {@code Timers},
 * {@code Complaints} and {@code ViewChangeProtocol} take it (OSDI 1999, sections 4.4 and 4.5.2):
 *
 * <ol>
 *   <li><b>client</b>: a client whose request was lost sends it again to every replica within
 *       its longest retransmission interval ({@code requestTimeoutMaxMs}); the backups' request
 *       timers run from its arrival.
 *   <li><b>failing views</b>: with {@code t} replicas still faulty after the healing (traitors,
 *       twins, replicas crashed for good; at most f), at most {@code t + 1} views can fail in a
 *       row: the view in force (or being changed to) when the faults heal, whose correct primary
 *       may have been cut off while its backups' timers ran, and then at most {@code t} views in
 *       a row with a faulty primary. Each failing view costs one timer and one heartbeat
 *       ({@code viewChangeTimeoutMs}: complaints and VIEW-CHANGEs lost before are repeated at
 *       every heartbeat, and f + 1 fresh complaints move the group). Every timer is the NEW-VIEW
 *       timer, but the first may be the request timer, which adapts up to
 *       {@code max(viewChangeTimeoutMaxMs, viewChangeTimeoutMs)}: not if the group was changing
 *       views when the faults healed (a correct replica had signed a VIEW-CHANGE for a view no
 *       NEW-VIEW had opened yet; it repeats it, and its evidence moves every correct replica to
 *       that view, where only NEW-VIEW timers run). The NEW-VIEW timer is
 *       {@code viewChangeTimeoutMs << min(c - 1, viewChangeBackoffDoublingsMax)} after the c-th
 *       consecutive view change, and a replica may already have {@code c0} of them behind it when
 *       the faults heal, so the i-th failing view's timer is at most
 *       {@code viewChangeTimeoutMs << min(c0 + i - 1, viewChangeBackoffDoublingsMax)}.
 *   <li><b>opening</b>: the view that works opens on the VIEW-CHANGEs repeated at the next
 *       heartbeat; its slots still waiting are sent again after two heartbeats; a replica behind
 *       catches up by heartbeats (committed certificates, or a state transfer that replaces a
 *       silent source after one heartbeat, t of them at most): {@code (t + 3)} heartbeats.
 *   <li><b>messages</b>: eight one-way delays per view (complaint, VIEW-CHANGE, NEW-VIEW, relayed
 *       request, pre-prepare, prepare, commit, reply), and four per round of batches the waiting
 *       clients' requests need ({@code clients / batchSizeMax}).
 * </ol>
 *
 * Timers run on each replica's own clock, so every timer and heartbeat is divided by the slowest
 * clock rate among correct replicas (a clock at half speed takes twice the virtual time), and a
 * timer fires at a tick, up to {@code tickMs} late.
 *
 * <p>With the simulator's defaults (viewChangeTimeoutMs 1000, viewChangeTimeoutMaxMs 8000,
 * requestTimeoutMaxMs 4000, latency up to 10 ms, 8 clients, batches of 16, ticks of 10 ms) and
 * f = 1 faulty replica left and no view change before the healing, the bound is 4 s (client) +
 * (8 s + 1 s) + (2 s + 1 s) (two failing views) + 4 s (opening) + 0.3 s (messages) = 20.3 s, a
 * third of the default 60 s liveness phase; 13.3 s if the group was changing views when the faults
 * healed (the first timer is then 1 s, not 8 s). The old bound, f + 1 views at the fully
 * backed-off timer plus 30 s (158 s), could never fire inside that phase.
 *
 * @param protocol the replicas' settings
 * @param tickMs how often the replicas' clocks tick
 * @param clientRetryMaxMs a client's longest retransmission interval
 * @param latencyMaxMs the longest one-way delay once the network has healed
 * @param clients closed-loop clients (each has at most one request waiting)
 * @param slowestClockRate the slowest rate among correct replicas' clocks, at most 1
 * @param faultyAfterHealing t: replicas that stay faulty after the healing
 * @param viewChangesBeforeHealing c0: consecutive view changes a correct replica may have behind
 *     it when the faults heal (its timers are backed off that far)
 * @param changingWhenHealed the group was changing views when the faults healed: no request timer
 *     runs before the next view opens
 */
public record LivenessBound(ProtocolSettings protocol, int tickMs, int clientRetryMaxMs, int latencyMaxMs, int clients,
    double slowestClockRate, int faultyAfterHealing, int viewChangesBeforeHealing, boolean changingWhenHealed) {

  public LivenessBound {
    if (slowestClockRate <= 0 || slowestClockRate > 1) {
      throw new IllegalArgumentException("the slowest clock rate must be in (0, 1], got " + slowestClockRate);
    }
    if (faultyAfterHealing < 0 || viewChangesBeforeHealing < 0) {
      throw new IllegalArgumentException("faulty replicas and view changes cannot be negative");
    }
  }

  /** Views that may fail in a row after the healing: the one in force, then one per faulty primary. */
  public int failingViews() {
    return faultyAfterHealing + 1;
  }

  /** The timer the i-th failing view after the healing (from 1) costs, in the replica's own ms. */
  public long timerMs(int i) {
    long timeout = protocol.viewChangeTimeoutMs();
    int doublings = Math.min(Math.max(viewChangesBeforeHealing + i - 1, 0), protocol.viewChangeBackoffDoublingsMax());
    long newView = timeout << doublings;
    boolean requestTimer = i == 1 && !changingWhenHealed;
    return requestTimer ? Math.max(newView, Math.max(protocol.viewChangeTimeoutMaxMs(), timeout)) : newView;
  }

  private long local(long ms) {
    return (long) Math.ceil(ms / slowestClockRate);
  }

  private long heartbeatMs() {
    return local(protocol.viewChangeTimeoutMs());
  }

  private long messagesMs() {
    long batchRounds = (clients + protocol.batchSizeMax() - 1) / protocol.batchSizeMax();
    return (8L * (failingViews() + 1) + 4L * batchRounds) * latencyMaxMs;
  }

  private long openingMs() {
    return (faultyAfterHealing + 3L) * heartbeatMs() + tickMs;
  }

  public long ms() {
    long total = clientRetryMaxMs + openingMs() + messagesMs();
    for (int i = 1; i <= failingViews(); i++) {
      total += local(timerMs(i)) + heartbeatMs() + tickMs;
    }
    return total;
  }

  /** The bound with its terms, for a violation report. */
  public String explain() {
    StringBuilder views = new StringBuilder();
    for (int i = 1; i <= failingViews(); i++) {
      views.append(i == 1 ? "" : " + ").append(local(timerMs(i)) + heartbeatMs() + tickMs);
    }
    return ms() + " ms = client " + clientRetryMaxMs + " + " + failingViews() + " failing views (" + views
        + ") + opening " + openingMs() + " + messages " + messagesMs() + " (" + faultyAfterHealing
        + " faulty after healing, " + viewChangesBeforeHealing + " view changes behind"
        + (changingWhenHealed ? ", changing views" : "")
        + (slowestClockRate < 1 ? ", slowest clock at " + slowestClockRate : "") + ")";
  }
}

package io.pbft.chaos.sim;

import java.util.List;
import java.util.Map;

/**
 * What a simulation run did and whether anything went wrong. {@link #report()} is the text to
 * print when a test fails: seed, faults, figures, violations, the trace of the events before the
 * first violation, and each replica's end state.
 *
 * @param opsCompleted operations acknowledged by f + 1 replicas
 * @param opsIncomplete operations still outstanding when the run ended
 * @param virtualDurationMs virtual time the run covered
 * @param wallMs wall-clock time the run took
 * @param violations safety and liveness violations, in the order they were found
 * @param trace the last network events before the first violation, or before the end of a run
 *     without one
 * @param stateTransfers state transfers completed, summed over replicas
 * @param viewChangesStarted VIEW-CHANGEs sent, summed over replicas
 * @param certificatesCarried prepared certificates carried by those VIEW-CHANGEs
 * @param crossViewExecutions executions of a sequence number in another view than its first
 *     execution elsewhere (a batch carried across a view change)
 * @param history every client operation, by client then timestamp
 * @param events network events of the run (deliveries, losses, refusals, notes)
 * @param fingerprint a hash of every event in order: equal runs have equal fingerprints, in any JVM
 * @param checkpointsCompared CHECKPOINTs of correct replicas whose state digests were compared
 * @param messagesDuplicated messages the network delivered twice
 * @param workload what the clients ran
 * @param healedAtMs when the faults healed and the liveness phase began (-1 if the run stopped before)
 * @param livenessBoundMs the bound every operation was held to after the healing (-1 if the run
 *     stopped before)
 * @param contextsCompared executions whose agreed time and seed were compared with the first correct
 *     replica's at the same sequence number
 * @param tentativeConfirmed batches correct replicas ran tentatively that then committed as they ran
 *     (protocol.tentativeExecution)
 * @param tentativeRolledBack batches correct replicas ran tentatively and rolled back (another batch
 *     took their sequence number in a view change) or dropped with a state transfer
 * @param batchesCompared batches correct replicas executed (null requests included) whose digests
 *     were compared
 * @param statementsCompared messages correct replicas signed (votes, checkpoints, view changes,
 *     complaints) checked against what they signed before about the same thing
 * @param byzantineClients what each Byzantine client did (empty without them); their operations
 *     are not in {@code history}, which holds the honest clients'
 */
public record SimulationResult(
    long seed,
    String faults,
    int opsCompleted,
    int opsIncomplete,
    long virtualDurationMs,
    long wallMs,
    List<String> violations,
    List<String> trace,
    List<ReplicaSummary> replicas,
    long stateTransfers,
    long viewChangesStarted,
    long certificatesCarried,
    long crossViewExecutions,
    long messagesSent,
    long messagesLost,
    Map<String, Long> verifierRejections,
    List<OpRecord> history,
    long events,
    long fingerprint,
    long checkpointsCompared,
    long messagesDuplicated,
    Workload.Kind workload,
    long healedAtMs,
    long livenessBoundMs,
    long batchesCompared,
    long statementsCompared,
    List<ByzantineClientReport> byzantineClients,
    long contextsCompared,
    long tentativeConfirmed,
    long tentativeRolledBack) {

  public SimulationResult {
    byzantineClients = List.copyOf(byzantineClients);
  }

  /** The report of the first Byzantine client running {@code behaviour}. */
  public ByzantineClientReport byzantineClient(String behaviour) {
    return byzantineClients.stream().filter(c -> c.behaviour().equals(behaviour)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no Byzantine client " + behaviour + " in this run"));
  }

  /** One replica at the end of the run. */
  public record ReplicaSummary(int id, boolean crashed, String behaviour, long view, boolean viewChanging,
      long lastExecuted,
      long lowWatermark, String stateDigest, long viewChangesStarted, long stateTransfers, long requestsExecuted,
      Map<String, Long> rejections, int restarts) {
    @Override
    public String toString() {
      return String.format("replica %d%s%s: view %d%s, executed %d (stable %d), digest %s, %d view changes, "
              + "%d transfers, %d requests%s, rejected %s", id, crashed ? " (crashed)" : "",
          "honest".equals(behaviour) ? "" : " (" + behaviour + ")", view,
          viewChanging ? " (changing)" : "", lastExecuted, lowWatermark, stateDigest.substring(0, 12),
          viewChangesStarted, stateTransfers, requestsExecuted,
          restarts == 0 ? "" : ", " + restarts + " restarts from disk", rejections);
    }
  }

  public boolean ok() {
    return violations.isEmpty();
  }

  /** Operations completed per second of wall-clock time (the simulator's speed, not the protocol's). */
  public double opsPerWallSecond() {
    return wallMs == 0 ? opsCompleted * 1000.0 : opsCompleted * 1000.0 / wallMs;
  }

  /** Completed operations that went through ordering (all but the reads answered read-only). */
  public long opsOrdered() {
    return history.stream().filter(o -> o.completed() && !o.readOnly()).count();
  }

  /** Reads completed read-only: on matching answers from the replicas' states, never ordered. */
  public long readOnlyAnswered() {
    return history.stream().filter(o -> o.readOnly() && o.completed()).count();
  }

  /**
   * Reads (operations that change nothing) completed through ordering: every read when clients
   * send none read-only, else the read-only reads that fell back.
   */
  public long readsOrdered() {
    return history.stream().filter(o -> o.op().readOnly() && !o.readOnly() && o.completed()).count();
  }

  /** The highest view any replica that is up ended in. */
  public long maxView() {
    return replicas.stream().filter(r -> !r.crashed()).mapToLong(ReplicaSummary::view).max().orElse(0);
  }

  /** The lowest view among replicas that are up. */
  public long minView() {
    return replicas.stream().filter(r -> !r.crashed()).mapToLong(ReplicaSummary::view).min().orElse(0);
  }

  public ReplicaSummary replica(int id) {
    return replicas.get(id);
  }

  public List<OpRecord> historyOf(int client) {
    return history.stream().filter(o -> o.client() == client).toList();
  }

  public String summary() {
    return String.format("seed %d: %d ops completed (%d incomplete) in %d virtual ms, %d wall ms (%.0f ops/s); "
            + "max view %d, %d view changes, %d state transfers, %d messages (%d lost)%s",
        seed, opsCompleted, opsIncomplete, virtualDurationMs, wallMs, opsPerWallSecond(), maxView(),
        viewChangesStarted, stateTransfers, messagesSent, messagesLost,
        ok() ? "" : "; " + violations.size() + " VIOLATIONS");
  }

  /**
   * The longest an operation took after the faults healed (from its invocation, or from the
   * healing if it was invoked before): what the liveness bound is checked against.
   */
  public long slowestAfterHealMs() {
    if (healedAtMs < 0) {
      return 0;
    }
    return history.stream().filter(o -> o.completed() && o.completeMs() > healedAtMs)
        .mapToLong(o -> o.completeMs() - Math.max(o.invokeMs(), healedAtMs)).max().orElse(0);
  }

  /** The run's identity: event count and fingerprint (equal for a replay of the same seed). */
  public String fingerprintHex() {
    return events + ":" + Long.toHexString(fingerprint);
  }

  public String report() {
    StringBuilder b = new StringBuilder(summary()).append('\n');
    b.append("faults: ").append(faults).append('\n');
    for (String v : violations) {
      b.append("VIOLATION ").append(v).append('\n');
    }
    if (!ok() && !trace.isEmpty()) {
      b.append("trace up to the first violation (replay with seed ").append(seed).append("):\n");
      trace.forEach(line -> b.append("  ").append(line).append('\n'));
    }
    replicas.forEach(r -> b.append("  ").append(r).append('\n'));
    if (!verifierRejections.isEmpty()) {
      b.append("  inbound verifier rejected: ").append(verifierRejections).append('\n');
    }
    byzantineClients.forEach(c -> b.append("  Byzantine ").append(c).append('\n'));
    history.stream().filter(o -> !o.completed()).forEach(o -> b.append("  ").append(o).append('\n'));
    return b.toString();
  }
}

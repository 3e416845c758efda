package io.pbft.replica.execution;

import com.google.protobuf.ByteString;
import io.pbft.chaos.sim.SimulationConfig;

/**
 * Executors with one of {@link ExecutionRules} broken, for the planted bugs of the chaos
 * harness's tests (io.pbft.replica.core.PlantedBug). Test code, in the executor's package (a split
 * package, fine on the class path): the shipped executor has no way to run anything but
 * {@link ExecutionRules#PAPER}.
 */
public final class PlantedExecutionBugs {
  private PlantedExecutionBugs() {}

  /** Executors that execute a request again whatever its timestamp. */
  public static SimulationConfig.ExecutionFactory exactlyOnceSkipped() {
    ExecutionRules rules = new ExecutionRules() {
      @Override
      boolean executedAlready(long timestamp, long lastExecutedTimestamp) {
        return false;
      }
    };
    return (app, store) -> new Execution(app, store, rules);
  }

  /** Executors that install a fetched state whatever its digest. */
  public static SimulationConfig.ExecutionFactory stateDigestNotChecked() {
    ExecutionRules rules = new ExecutionRules() {
      @Override
      boolean fetchedStateMatches(ByteString digest, ByteString certified) {
        return true;
      }
    };
    return (app, store) -> new Execution(app, store, rules);
  }
}

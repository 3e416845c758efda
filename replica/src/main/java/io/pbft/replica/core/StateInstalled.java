package io.pbft.replica.core;

import java.util.List;

/**
 * The executor's report on one {@link Effects.InstallState}. When {@code installed}, the state is
 * now that of checkpoint {@code sequence} and {@code clientTable} holds its client table (each
 * client's last timestamp and result); otherwise the fetched state did not match the certified
 * digest and nothing changed. {@code handoverAt} is as in {@link Executed}: where the installed
 * state's configuration epoch ends, 0 when no change is pending.
 */
public record StateInstalled(long sequence, boolean installed, List<Executed.ClientResult> clientTable,
    long handoverAt) {

  /** A report on a state that holds no pending configuration change. */
  public StateInstalled(long sequence, boolean installed, List<Executed.ClientResult> clientTable) {
    this(sequence, installed, clientTable, 0);
  }
}

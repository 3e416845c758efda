package io.pbft.replica.core;

import java.util.List;

/**
 * The executor's report on one {@link Effects.InstallState}. When {@code installed}, the state is
 * now that of checkpoint {@code sequence} and {@code clientTable} holds its client table (each
 * client's last timestamp and result); otherwise the fetched state did not match the certified
 * digest and nothing changed. {@code handoverAt} is as in {@link Executed}: where the installed
 * state's configuration epoch ends, 0 when no change is pending; {@code epoch} is the installed state's
 * configuration epoch.
 */
public record StateInstalled(long sequence, boolean installed, List<Executed.ClientResult> clientTable,
    long handoverAt, long epoch) {

  /** A report on a state that holds no pending configuration change. */
  public StateInstalled(long sequence, boolean installed, List<Executed.ClientResult> clientTable) {
    this(sequence, installed, clientTable, 0, 0);
  }

  /** A report on a state of epoch 0 (or of an unknown epoch). */
  public StateInstalled(long sequence, boolean installed, List<Executed.ClientResult> clientTable, long handoverAt) {
    this(sequence, installed, clientTable, handoverAt, 0);
  }

  /**
   * Whether the installed state's epoch began at its very sequence number, and that epoch is
   * {@code coreEpoch}: then {@link #handoverAt} is where the epoch before ended, not where the
   * core's ends (a replica that joined the epoch without state installs its genesis).
   */
  public boolean beginsEpoch(long coreEpoch) {
    return epoch == coreEpoch && epoch > 0 && handoverAt == sequence;
  }
}

package io.pbft.replica.core;

import java.util.List;

/**
 * The executor's report on one {@link Effects.InstallState}. When {@code installed}, the state is
 * now that of checkpoint {@code sequence} and {@code clientTable} holds its client table (each
 * client's last timestamp and result); otherwise the fetched state did not match the certified
 * digest and nothing changed.
 */
public record StateInstalled(long sequence, boolean installed, List<Executed.ClientResult> clientTable) {}

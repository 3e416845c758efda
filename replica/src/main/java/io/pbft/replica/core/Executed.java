package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import java.util.List;

/**
 * The executor's report on one {@link Effects.Execute}: the result of every request it ran or
 * had run before (a retransmission of the client's last request gets that request's result again;
 * a request older than the client's last is left out), and the state digest when a checkpoint
 * was asked for.
 *
 * @param checkpointDigest the digest of the replicated state after the batch (the application's
 *     and the client table's), or null when no checkpoint was asked for
 * @param tentative the batch ran tentatively (only prepared): its results go out as tentative
 *     replies, and nothing else in the core moves until it commits
 * @param handoverAt where the configuration epoch of the state after the batch ends: the handover
 *     checkpoint of the change it holds pending, or the batch itself when that change took effect
 *     there; 0 when no change is pending (docs/RECONFIGURATION.md)
 */
public record Executed(long sequence, long view, List<ClientResult> results, ByteString checkpointDigest,
    boolean tentative, long handoverAt) {

  /** The report on a committed batch. */
  public Executed(long sequence, long view, List<ClientResult> results, ByteString checkpointDigest) {
    this(sequence, view, results, checkpointDigest, false);
  }

  /** A report whose state holds no pending configuration change. */
  public Executed(long sequence, long view, List<ClientResult> results, ByteString checkpointDigest,
      boolean tentative) {
    this(sequence, view, results, checkpointDigest, tentative, 0);
  }

  /**
   * One request's outcome: the client, its timestamp and the result the application returned.
   * {@code fresh} is false for a retransmission answered from the client table.
   */
  public record ClientResult(int clientId, long timestamp, ByteString result, boolean fresh) {}
}

package io.pbft.cli.cluster;

import io.pbft.crypto.Digests;
import io.pbft.proto.StatusResponse;
import java.util.Arrays;

/**
 * What one replica's Status RPC said, or why it could not be asked. The numeric fields are
 * meaningful only when {@link #reachable()}; {@link #status()} is the whole answer with its typed
 * counters (null when unreachable).
 */
public record ReplicaStatus(int id, String address, boolean reachable, long view, int primary,
    long lastExecuted, long lowWatermark, byte[] stateDigest, String error, StatusResponse status) {

  static ReplicaStatus of(int id, String address, StatusResponse r) {
    return new ReplicaStatus(id, address, true, r.getView(), r.getPrimary(), r.getLastExecuted(),
        r.getLowWatermark(), r.getStateDigest().toByteArray(), null, r);
  }

  static ReplicaStatus unreachable(int id, String address, String error) {
    return new ReplicaStatus(id, address, false, 0, 0, 0, 0, null, error, null);
  }

  public String digestHex() {
    return stateDigest == null ? null : Digests.hex(stateDigest);
  }

  /**
   * Same executed prefix and same resulting state, all of it committed (a batch run tentatively
   * may still be rolled back, so it is no agreement yet).
   */
  boolean sameStateAs(ReplicaStatus other) {
    return reachable && other.reachable && lastExecuted == other.lastExecuted
        && Arrays.equals(stateDigest, other.stateDigest) && !status.getLastExecutedTentative()
        && !other.status.getLastExecutedTentative();
  }
}

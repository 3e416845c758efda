package io.pbft.replica.verify;

import com.google.protobuf.ByteString;

/**
 * Where a replica finds the request keys it shares with clients ({@code authentication: macs}):
 * in a running replica, the keys its session handshakes agreed; in the simulator, keys derived
 * per client and replica. Implementations must be safe to call from the verification threads.
 */
@FunctionalInterface
public interface RequestKeys {
  /** No keys: no MAC checks. */
  RequestKeys NONE = (clientId, keyId) -> null;

  /** The request key of {@code clientId} named {@code keyId}, or null if this replica has none. */
  byte[] key(int clientId, ByteString keyId);
}

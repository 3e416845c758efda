package io.pbft.replica.runtime;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ConfigException;
import io.pbft.config.TransportSettings;

/**
 * What the replica's byte bounds can hold at once, against the heap it has: the two inbound
 * queues ({@code transport.inboundQueueBytesMax} each), one queue per peer
 * ({@code peerQueueBytesMax}) and the bytes of connections not yet authenticated
 * ({@code unauthenticatedBytesMax}). They may take at most {@link #SHARE_PERCENT} percent of the
 * heap, the rest being the protocol's log, the state and gRPC's buffers; a replica whose bounds
 * do not fit refuses to start rather than fail with an OutOfMemoryError under load or attack.
 */
final class MemoryBudget {
  static final int SHARE_PERCENT = 75;

  private MemoryBudget() {}

  /** Bytes the queue bounds of a replica of {@code config} can hold. */
  static long queueBytes(ClusterConfig config) {
    TransportSettings t = config.transport();
    return 2L * t.inboundQueueBytesMax() + (long) (config.n() - 1) * t.peerQueueBytesMax() + t.unauthenticatedBytesMax();
  }

  /** Throws a {@link ConfigException} saying what to change if the bounds do not fit in {@code maxHeap}. */
  static void check(ClusterConfig config, int id, long maxHeap) {
    long need = queueBytes(config);
    if (maxHeap == Long.MAX_VALUE || need * 100 <= maxHeap * SHARE_PERCENT) {
      return;
    }
    TransportSettings t = config.transport();
    throw new ConfigException("replica " + id + " cannot start: its queue bounds need " + mib(need) + " ("
        + "transport.inboundQueueBytesMax " + mib(t.inboundQueueBytesMax()) + " x 2, transport.peerQueueBytesMax "
        + mib(t.peerQueueBytesMax()) + " x " + (config.n() - 1) + " peers, transport.unauthenticatedBytesMax "
        + mib(t.unauthenticatedBytesMax()) + "), more than " + SHARE_PERCENT + "% of its heap of " + mib(maxHeap)
        + ". Give it a larger heap (PBFT_HEAP for the pbft launcher and the Docker image, or -Xmx), or lower those "
        + "bounds in cluster.yaml.");
  }

  private static String mib(long bytes) {
    return bytes % (1 << 20) == 0 ? (bytes >> 20) + " MiB" : String.format("%.1f MiB", bytes / 1048576.0);
  }
}

package io.pbft.testkit;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.IntUnaryOperator;

/** Copies of a cluster configuration that differ only in where replicas are reached. */
public final class ClusterConfigs {
  private ClusterConfigs() {}

  /** The same keys, clients and settings with replica i at {@code host(i):port(i)}. */
  public static ClusterConfig withAddresses(ClusterConfig c, IntFunction<String> host, IntUnaryOperator port) {
    List<ReplicaInfo> moved = new ArrayList<>();
    for (ReplicaInfo r : c.replicas()) {
      moved.add(r.withAddress(host.apply(r.id()), port.applyAsInt(r.id())));
    }
    return c.withReplicas(moved);
  }

  /** The same with every replica on 127.0.0.1 at {@code ports[i]}. */
  public static ClusterConfig onLoopback(ClusterConfig c, int[] ports) {
    return withAddresses(c, i -> "127.0.0.1", i -> ports[i]);
  }
}

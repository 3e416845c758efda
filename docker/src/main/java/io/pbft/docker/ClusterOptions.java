package io.pbft.docker;

import io.pbft.config.ProtocolSettings;
import io.pbft.config.TransportSettings;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * How a {@link PbftCluster} is to be made, as its {@code with...} methods set it before
 * {@link PbftCluster#start}: size, image, traitors, client identities, protocol and transport
 * settings, timeouts, log level, JVM flags, durable or in-memory state.
 */
final class ClusterOptions {
  final int n;
  final Map<Integer, String> traitors = new TreeMap<>();
  String image = System.getProperty("pbft.image", PbftCluster.DEFAULT_IMAGE);
  int clients = 16;
  UnaryOperator<ProtocolSettings> protocol = UnaryOperator.identity();
  UnaryOperator<TransportSettings> transport = UnaryOperator.identity();
  Duration startupTimeout = Duration.ofSeconds(120);
  Duration operationTimeout = Duration.ofSeconds(30);
  String logLevel = "INFO";
  String javaOpts;
  boolean inMemory;
  /** Administration keys written to the configuration (none: the group cannot be changed at run time). */
  io.pbft.config.Administration administration = io.pbft.config.Administration.NONE;

  ClusterOptions(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("a cluster needs at least one replica, got " + n);
    }
    this.n = n;
  }

  void traitor(int id, String behaviour) {
    checkId(id);
    if (behaviour == null || behaviour.isBlank()) {
      throw new IllegalArgumentException("a traitor behaviour name is required");
    }
    traitors.put(id, behaviour.strip());
  }

  void clients(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("at least one client identity is needed, got " + count);
    }
    clients = count;
  }

  void checkId(int id) {
    if (id < 0 || id >= n) {
      throw new IllegalArgumentException("no replica " + id + " (the cluster has ids 0.." + (n - 1) + ")");
    }
  }
}

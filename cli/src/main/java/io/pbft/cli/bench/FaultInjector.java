package io.pbft.cli.bench;

import io.pbft.cli.cluster.ClusterStatus;
import io.pbft.cli.cluster.LocalCluster;
import io.pbft.cli.cluster.ReplicaStatus;
import io.pbft.config.ClusterConfig;
import java.io.PrintWriter;
import java.time.Duration;

/**
 * Injects one {@link Fault} into the replica that leads the cluster when the fault is due: it asks
 * the replicas for their view (the primary of view v is replica v mod n), then kills or pauses
 * that replica's process.
 */
public final class FaultInjector {
  private final Fault fault;
  private final LocalCluster cluster;
  private final ClusterConfig config;
  private final PrintWriter progress;
  private volatile int replica = -1;

  public FaultInjector(Fault fault, LocalCluster cluster, ClusterConfig config, PrintWriter progress) {
    this.fault = fault;
    this.cluster = cluster;
    this.config = config;
    this.progress = progress;
  }

  /** The replica the fault hit, or -1 before it did. */
  public int replica() {
    return replica;
  }

  public void inject() {
    long view = currentView();
    int primary = (int) (view % config.n());
    try {
      long pid = cluster.pid(primary);
      switch (fault) {
        case KILL_PRIMARY -> cluster.kill(primary);
        case SILENCE_PRIMARY -> cluster.pause(primary);
      }
      replica = primary;
      progress.printf("       %s replica %d (pid %d), the primary of view %d%n",
          fault == Fault.KILL_PRIMARY ? "killed (SIGKILL)" : "paused (SIGSTOP)", primary, pid, view);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    progress.flush();
  }

  /** The highest view a replica reports; view 0 if none answers in time (its primary is replica 0). */
  private long currentView() {
    try (ClusterStatus status = ClusterStatus.open(config)) {
      ClusterStatus.Snapshot s = status.poll(Duration.ofSeconds(1));
      return s.replicas().stream().filter(ReplicaStatus::reachable).mapToLong(ReplicaStatus::view).max().orElse(0);
    }
  }
}

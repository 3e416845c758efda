package io.pbft.cli.netns;

import io.pbft.cli.cluster.ProcessCluster;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Cluster;
import io.pbft.testkit.KvStore;
import java.time.Duration;
import java.util.Collection;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Assumptions;

/**
 * Four {@code pbft replica --data-dir} processes, each in a Linux network namespace of its own
 * with its own address, joined by a router namespace ({@link NetnsNetwork}); this JVM's clients
 * reach them over a veth into the router. The links delay, jitter and lose packets as {@link
 * LinkConditions} say, in the kernel path (NFQUEUE and iptables), so gRPC and TCP see a real, slow
 * network, not a proxy.
 *
 * <p>As a {@link Cluster}: processes are stopped, killed, paused and restarted as in {@link
 * ProcessCluster} (which this runs on); {@link #isolate} drops every packet to and from a replica,
 * {@link #cut} those between two replicas, {@link #heal} ends both. Status probes go through the
 * same router, so an isolated replica does not answer them.
 */
public final class NetnsCluster implements Cluster {
  /** Set in CI: a machine where namespaces cannot be made fails the tests instead of skipping them. */
  public static final String REQUIRE_ENV = "PBFT_REQUIRE_NETNS";

  private final ProcessCluster processes;
  private final LinkConditions conditions;

  private NetnsCluster(ProcessCluster processes, LinkConditions conditions) {
    this.processes = processes;
    this.conditions = conditions;
  }

  /**
   * An unstarted cluster of four replicas and {@code clients} client identities, {@code protocol}
   * applied to the defaults, behind links with {@code conditions}.
   */
  public static NetnsCluster create(String purpose, int clients, UnaryOperator<ProtocolSettings> protocol,
      LinkConditions conditions) {
    return new NetnsCluster(ProcessCluster.create(purpose, clients, protocol).inNamespaces(conditions), conditions);
  }

  /**
   * Skips the calling test (JUnit assumption) with the reason when namespaces with {@code
   * conditions} cannot be made on this machine, or fails it if {@value #REQUIRE_ENV} is set.
   */
  public static void assumeAvailable(LinkConditions conditions) {
    String why = NetnsNetwork.unavailable(conditions);
    if (why == null) {
      return;
    }
    if (System.getenv(REQUIRE_ENV) != null) {
      throw new AssertionError(REQUIRE_ENV + " is set but network namespaces cannot be used here: " + why);
    }
    Assumptions.abort("network namespaces cannot be used here: " + why + " (set " + REQUIRE_ENV
        + "=1 to make this a failure)");
  }

  public LinkConditions conditions() {
    return conditions;
  }

  /** Drops every packet between replicas {@code a} and {@code b} (both ways) until {@link #heal}. */
  public void cut(int a, int b) {
    processes.netns().cut(a, b);
  }

  /** The output of replica {@code id}'s latest process. */
  public String log(int id) {
    return processes.log(id);
  }

  @Override
  public NetnsCluster start() {
    processes.start();
    return this;
  }

  @Override
  public int size() {
    return processes.size();
  }

  @Override
  public void stop(int id) {
    processes.stop(id);
  }

  @Override
  public void kill(int id) {
    processes.kill(id);
  }

  @Override
  public void pause(int id) {
    processes.pause(id);
  }

  @Override
  public void resume(int id) {
    processes.resume(id);
  }

  @Override
  public void isolate(int id) {
    processes.isolate(id);
  }

  @Override
  public void heal() {
    processes.heal();
  }

  @Override
  public void restart(int id) {
    processes.restart(id);
  }

  @Override
  public void restartAll(Collection<Integer> ids) {
    processes.restartAll(ids);
  }

  @Override
  public boolean replacesMachines() {
    return processes.replacesMachines();
  }

  @Override
  public void replaceWithEmptyState(int id) {
    processes.replaceWithEmptyState(id);
  }

  @Override
  public KvStore kv(int clientId) {
    return processes.kv(clientId);
  }

  @Override
  public StatusResponse status(int id) {
    return processes.status(id);
  }

  @Override
  public void await(String what, BooleanSupplier condition, Duration timeout) {
    processes.await(what, condition, timeout);
  }

  @Override
  public void close() {
    processes.close();
  }

  @Override
  public String toString() {
    return "NetnsCluster(" + conditions + ")";
  }
}

package io.pbft.cli.cluster;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Asks every replica for its status over the ClientService.Status RPC, all in parallel and each
 * under a deadline, on channels of its own (so a status check never competes with, or depends
 * on, a client's sessions). Used by {@code status}, and by bench and demo to wait for a cluster
 * to come up and to settle.
 */
public final class ClusterStatus implements AutoCloseable {
  /** Where to ask: a replica id and its address. */
  public record Target(int id, String host, int port) {
    public String address() {
      return host + ":" + port;
    }
  }

  private final List<Target> targets;
  private final List<ManagedChannel> channels = new ArrayList<>();

  private ClusterStatus(List<Target> targets) {
    this.targets = List.copyOf(targets);
    for (Target t : targets) {
      channels.add(NettyChannelBuilder.forAddress(t.host(), t.port()).usePlaintext().build());
    }
  }

  public static ClusterStatus open(ClusterConfig config) {
    return new ClusterStatus(targets(config));
  }

  public static List<Target> targets(ClusterConfig config) {
    List<Target> targets = new ArrayList<>();
    for (ReplicaInfo r : config.replicas()) {
      targets.add(new Target(r.id(), r.host(), r.port()));
    }
    return targets;
  }

  public static ClusterStatus open(List<Target> targets) {
    return new ClusterStatus(targets);
  }

  /** One round: every replica asked at once, the answers collected within {@code timeout}. */
  public Snapshot poll(Duration timeout) {
    List<Future<StatusResponse>> calls = new ArrayList<>();
    for (ManagedChannel channel : channels) {
      calls.add(ClientServiceGrpc.newFutureStub(channel)
          .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .status(StatusRequest.getDefaultInstance()));
    }
    List<ReplicaStatus> result = new ArrayList<>();
    for (int i = 0; i < targets.size(); i++) {
      Target t = targets.get(i);
      try {
        // the deadline bounds each call; this wait is only a safety net
        StatusResponse r = calls.get(i).get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS);
        result.add(ReplicaStatus.of(t.id(), t.address(), r));
      } catch (ExecutionException e) {
        result.add(ReplicaStatus.unreachable(t.id(), t.address(), describe(e.getCause())));
      } catch (java.util.concurrent.TimeoutException e) {
        calls.get(i).cancel(true);
        result.add(ReplicaStatus.unreachable(t.id(), t.address(), "no answer within " + timeout.toMillis() + " ms"));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        result.add(ReplicaStatus.unreachable(t.id(), t.address(), "interrupted"));
      }
    }
    return new Snapshot(result);
  }

  /**
   * Polls until {@code done} holds or {@code total} has passed; returns the last snapshot.
   * {@code check} runs before every round and may throw to abort (e.g. a replica process died).
   */
  public Snapshot await(Predicate<Snapshot> done, Duration total, Duration perCall, Runnable check)
      throws InterruptedException {
    long deadline = System.nanoTime() + total.toNanos();
    while (true) {
      check.run();
      Snapshot s = poll(perCall);
      if (done.test(s) || System.nanoTime() - deadline >= 0) {
        return s;
      }
      Thread.sleep(200);
    }
  }

  private static String describe(Throwable t) {
    Status s = Status.fromThrowable(t);
    String d = s.getDescription();
    if (s.getCode() == Status.Code.UNAVAILABLE && s.getCause() != null && s.getCause().getMessage() != null) {
      d = s.getCause().getMessage(); // "Connection refused: ..." says more than "io exception"
    }
    return s.getCode() + (d == null ? "" : ": " + d);
  }

  @Override
  public void close() {
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
  }

  /** The answers of one round, in replica id order. */
  public record Snapshot(List<ReplicaStatus> replicas) {
    public long reachableCount() {
      return replicas.stream().filter(ReplicaStatus::reachable).count();
    }

    public boolean allReachable() {
      return reachableCount() == replicas.size();
    }

    /** At least one replica reachable, and every reachable one at the same lastExecuted and digest. */
    public boolean reachableAgree() {
      ReplicaStatus first = replicas.stream().filter(ReplicaStatus::reachable).findFirst().orElse(null);
      return first != null && replicas.stream().filter(ReplicaStatus::reachable).allMatch(first::sameStateAs);
    }

    /** Every replica reachable and in the same state. */
    public boolean allAgree() {
      return allReachable() && reachableAgree();
    }
  }
}

package io.pbft.cli.cluster;

import io.pbft.config.ClusterConfig;
import io.pbft.testkit.StatusProbe;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Asks every replica for its status over the ClientService.Status RPC, all in parallel and each
 * under a deadline, on channels of its own (a {@link StatusProbe}, so a status check never
 * competes with, or depends on, a client's sessions). Used by {@code status}, and by bench and
 * demo to wait for a cluster to come up and to settle.
 */
public final class ClusterStatus implements AutoCloseable {
  private final StatusProbe probe;

  private ClusterStatus(StatusProbe probe) {
    this.probe = probe;
  }

  /** Every replica of {@code config}, at its configured address. */
  public static ClusterStatus open(ClusterConfig config) {
    return new ClusterStatus(StatusProbe.open(config));
  }

  public static ClusterStatus open(List<StatusProbe.Target> targets) {
    return new ClusterStatus(StatusProbe.open(targets));
  }

  /** {@code targets} over TLS {@code tls} (null: plaintext). */
  public static ClusterStatus open(List<StatusProbe.Target> targets,
      io.grpc.netty.shaded.io.netty.handler.ssl.SslContext tls) {
    return new ClusterStatus(StatusProbe.open(targets, tls));
  }

  /**
   * Every member of the running group at the address its membership names: asked first where
   * cluster.yaml says, then, once a checked chain of changes leads to a later epoch, its members
   * there instead (moved and added members included, removed ones left out; a round per change of
   * targets found, at most a few). With TLS on, as the operator ({@link StatusProbe#open(ClusterConfig)}).
   */
  public static Snapshot pollFollowing(ClusterConfig config, Duration timeout) {
    io.pbft.config.Membership initial = io.pbft.config.Membership.initial(config);
    List<StatusProbe.Target> targets = StatusProbe.targets(config);
    io.grpc.netty.shaded.io.netty.handler.ssl.SslContext tls = io.pbft.client.ClientTls.adminContext(config);
    Snapshot s = null;
    for (int round = 0; round < 4; round++) {
      try (ClusterStatus status = open(targets, tls)) {
        s = status.poll(timeout);
      }
      io.pbft.config.Membership m = s.furthestMembership(initial).membership();
      // The members of the furthest epoch, where it places them: moved and added ones included,
      // removed ones no longer asked.
      List<StatusProbe.Target> next = new ArrayList<>();
      for (io.pbft.config.Member member : m.members()) {
        next.add(new StatusProbe.Target(member.id(), member.host(), member.port()));
      }
      if (next.equals(targets)) {
        break;
      }
      targets = next;
    }
    return s;
  }

  /** One round: every replica asked at once, the answers collected within {@code timeout}. */
  public Snapshot poll(Duration timeout) {
    List<ReplicaStatus> result = new ArrayList<>();
    for (StatusProbe.Answer a : probe.pollAll(timeout)) {
      result.add(a.reachable() ? ReplicaStatus.of(a.target().id(), a.target().address(), a.status())
          : ReplicaStatus.unreachable(a.target().id(), a.target().address(), a.error()));
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

  @Override
  public void close() {
    probe.close();
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

    /**
     * The furthest membership the reachable replicas' chains of signed changes lead to from
     * {@code known} (cluster.yaml's epoch 0, or later), each link checked against the one before
     * ({@link io.pbft.config.Reconfigurations#follow}), and why a replica's chain stopped short,
     * by replica ("replica I: reason").
     */
    public Followed furthestMembership(io.pbft.config.Membership known) {
      io.pbft.config.Membership furthest = known;
      List<String> refusals = new java.util.ArrayList<>();
      for (ReplicaStatus r : replicas) {
        if (!r.reachable()) {
          continue;
        }
        io.pbft.config.Reconfigurations.Followed f =
            io.pbft.config.Reconfigurations.follow(known, r.status().getReconfigurationsList());
        if (f.refusal() != null) {
          refusals.add("replica " + r.id() + ": " + f.refusal());
        }
        if (f.reached().epoch() > furthest.epoch()) {
          furthest = f.reached();
        }
      }
      return new Followed(furthest, List.copyOf(refusals));
    }
  }

  /** What {@link Snapshot#furthestMembership} found. */
  public record Followed(io.pbft.config.Membership membership, List<String> refusals) {}
}

package io.pbft.client;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.pbft.config.ClusterConfig;
import io.pbft.config.Member;
import io.pbft.config.Membership;
import io.pbft.config.Reconfigurations;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.MembershipRequest;
import io.pbft.proto.MembershipResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Learns the running group's membership from its replicas' Membership RPC (open to every caller,
 * no certificate needed), as a replica that joins a later epoch does at its start: every replica of
 * cluster.yaml is asked for its chain of signed changes, each chain is checked link by link from
 * epoch 0 ({@link Reconfigurations#follow}: every command signed by the administration of the
 * epoch before it), and the furthest membership reached wins. Members that membership places at
 * addresses not asked yet are asked too, so a group whose members all moved is still found. A
 * faulty replica can withhold changes, never invent one.
 */
public final class GroupMembership {
  /**
   * The furthest membership reached; the view and the checkpoint its epoch began at that most of
   * its members report; how many replicas answered; and why chains stopped short.
   */
  public record Learned(Membership membership, long view, long beganAt, int answered, List<String> refusals) {}

  private GroupMembership() {}

  /** Asks the replicas of {@code config}, each within {@code timeout}. */
  public static Learned learn(ClusterConfig config, Duration timeout) {
    Membership initial = Membership.initial(config);
    SslContext tls = ClientTls.context(config, null);
    Membership furthest = initial;
    Map<String, MembershipResponse> answers = new HashMap<>();
    Set<String> asked = new HashSet<>();
    List<String> refusals = new ArrayList<>();
    // At most a round per epoch reached: each round asks the addresses the furthest membership
    // names that were not asked before.
    for (int round = 0; round < 16; round++) {
      List<Member> toAsk = new ArrayList<>();
      for (Member m : union(initial, furthest)) {
        if (asked.add(m.address().toLowerCase(java.util.Locale.ROOT))) {
          toAsk.add(m);
        }
      }
      if (toAsk.isEmpty()) {
        break;
      }
      // All at once: a replica that is down or slow costs the round its timeout, not each ask.
      List<ManagedChannel> channels = new ArrayList<>();
      List<com.google.common.util.concurrent.ListenableFuture<MembershipResponse>> calls = new ArrayList<>();
      for (Member m : toAsk) {
        ManagedChannel channel = ClientTls.builder(m.toReplicaInfo(), tls)
            .maxInboundMessageSize(config.transport().messageBytesMax()).build();
        channels.add(channel);
        calls.add(ClientServiceGrpc.newFutureStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
            .membership(MembershipRequest.getDefaultInstance()));
      }
      for (int i = 0; i < toAsk.size(); i++) {
        Member m = toAsk.get(i);
        MembershipResponse r = answer(calls.get(i), timeout);
        channels.get(i).shutdownNow();
        if (r == null) {
          continue;
        }
        answers.put(m.address(), r);
        Reconfigurations.Followed f = Reconfigurations.follow(initial, r.getReconfigurationsList());
        if (f.refusal() != null) {
          refusals.add("replica " + m.id() + " at " + m.address() + ": " + f.refusal());
        }
        if (f.reached().epoch() > furthest.epoch()) {
          furthest = f.reached();
        }
      }
    }
    // The view and the checkpoint the epoch began at: what most members of that epoch report
    // (ties to the later); only where a joiner starts looking.
    Map<Long, Integer> views = new HashMap<>();
    Map<Long, Integer> began = new HashMap<>();
    for (MembershipResponse r : answers.values()) {
      if (r.getEpoch() == furthest.epoch()) {
        views.merge(r.getView(), 1, Integer::sum);
        began.merge(r.getEpochBeganAt(), 1, Integer::sum);
      }
    }
    return new Learned(furthest, mostCommon(views), mostCommon(began), answers.size(), List.copyOf(refusals));
  }

  private static long mostCommon(Map<Long, Integer> counts) {
    return counts.entrySet().stream()
        .max(Map.Entry.<Long, Integer>comparingByValue().thenComparing(Map.Entry.comparingByKey()))
        .map(Map.Entry::getKey).orElse(0L);
  }

  private static List<Member> union(Membership a, Membership b) {
    List<Member> all = new ArrayList<>(b.members());
    all.addAll(a.members());
    return all;
  }

  /** The answer of one call, or null if it failed or did not come within {@code timeout} (and a little). */
  private static MembershipResponse answer(com.google.common.util.concurrent.ListenableFuture<MembershipResponse> call,
      Duration timeout) {
    try {
      return call.get(timeout.toMillis() + 500, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      call.cancel(true);
      return null; // down, moved or slow: the others tell as much
    }
  }
}

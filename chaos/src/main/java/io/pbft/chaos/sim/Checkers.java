package io.pbft.chaos.sim;

import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.kv.KvOperations;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The end-of-run checks (agreement, exactly-once and integrity are checked as execution happens,
 * by {@link ExecutionLog}):
 *
 * <ul>
 *   <li>client results: each completed operation returned what executing the client's completed
 *       operations exactly once, in order, returns;
 *   <li>convergence: every correct replica not crashed for good ends, after the quiet period,
 *       with the same last executed sequence number and state digest;
 *   <li>durability: every acknowledged write is in the final state of the replicas that executed
 *       furthest, at least f + 1 of them (each client writes only its own keys, so the expected
 *       value is the client's model).
 * </ul>
 */
final class Checkers {
  private Checkers() {}

  static void clientResults(List<SimClient> clients, Consumer<String> violation) {
    for (SimClient client : clients) {
      Map<String, String> model = new HashMap<>();
      for (OpRecord o : client.history()) {
        if (!o.completed()) {
          break;
        }
        KvResult expected = o.op().expectedResult(model);
        KvResult got = parse(o.result());
        if (!expected.equals(got)) {
          violation.accept("client result: " + o + " but executing client " + o.client()
              + "'s operations once each, in order, gives " + Trace.describeResult(expected.toByteString()));
        }
        o.op().apply(model);
      }
    }
  }

  static void convergence(List<SimReplica> replicas, Consumer<String> violation) {
    SimReplica first = null;
    for (SimReplica r : replicas) {
      if (r.downForever() || r.traitor()) {
        continue;
      }
      if (r.core().fetchingState()) {
        violation.accept("convergence: replica " + r.id() + " is still fetching state at the end");
      }
      if (first == null) {
        first = r;
        continue;
      }
      if (r.core().lastExecuted() != first.core().lastExecuted()
          || !Arrays.equals(r.core().stateDigest(), first.core().stateDigest())) {
        violation.accept("convergence: replica " + r.id() + " ended at n=" + r.core().lastExecuted() + " digest "
            + Digests.hex(r.core().stateDigest()).substring(0, 12) + ", replica " + first.id() + " at n="
            + first.core().lastExecuted() + " digest " + Digests.hex(first.core().stateDigest()).substring(0, 12));
      }
    }
  }

  /**
   * Checked at the replicas that executed furthest (a replica behind them is the convergence
   * check's business); at least f + 1 replicas must be there, or an acknowledged write could be
   * held by faulty replicas only.
   */
  static void durability(List<SimClient> clients, List<SimReplica> replicas, int f, int keysPerClient,
      Consumer<String> violation) {
    List<SimReplica> correct = replicas.stream().filter(r -> !r.downForever() && !r.traitor()).toList();
    long furthest = correct.stream().mapToLong(r -> r.core().lastExecuted()).max().orElse(0);
    List<SimReplica> upToDate = correct.stream().filter(r -> r.core().lastExecuted() == furthest).toList();
    if (upToDate.size() < f + 1) {
      violation.accept("durability: only " + upToDate.size() + " replicas executed up to n=" + furthest);
    }
    for (SimClient client : clients) {
      Map<String, String> model = new HashMap<>();
      Map<String, String> ifPendingRan = null;
      Set<String> pendingKeys = new HashSet<>();
      for (OpRecord o : client.history()) {
        if (o.completed()) {
          o.op().apply(model);
        } else {
          // Outstanding at the end: it may or may not have executed; either state is correct.
          ifPendingRan = new HashMap<>(model);
          o.op().apply(ifPendingRan);
          pendingKeys.add(o.op().key());
        }
      }
      for (SimReplica r : upToDate) {
        for (int k = 0; k < keysPerClient; k++) {
          String key = "c" + client.id() + "/k" + k;
          String actual = read(r, key);
          boolean fine = java.util.Objects.equals(actual, model.get(key))
              || (pendingKeys.contains(key) && java.util.Objects.equals(actual, ifPendingRan.get(key)));
          if (!fine) {
            violation.accept("durability: replica " + r.id() + " holds " + key + "=" + actual + " but client "
                + client.id() + "'s acknowledged operations leave " + model.get(key));
          }
        }
      }
    }
  }

  private static String read(SimReplica r, String key) {
    KvResult result = parse(com.google.protobuf.ByteString.copyFrom(
        r.app().kv().query(KvOperations.get(key.getBytes(StandardCharsets.UTF_8)))));
    return result.getFound() ? result.getValue().toStringUtf8() : null;
  }

  private static KvResult parse(com.google.protobuf.ByteString bytes) {
    try {
      return KvResult.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      return KvResult.newBuilder().setStatus(KvResult.Status.BAD_OPERATION).build();
    }
  }
}

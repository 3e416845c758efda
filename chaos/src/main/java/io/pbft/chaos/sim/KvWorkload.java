package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.app.kv.KvDigestCache;
import io.pbft.replica.app.kv.KvOperations;
import io.pbft.replica.app.kv.KvStateMachine;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The key-value workloads: put, get, delete and compare-and-set on the built-in store. With
 * {@link #perClient} each client owns its keys (so its results follow from its own operations
 * alone); with {@link #shared} all clients contend for the same keys, and only the committed order
 * explains the results.
 */
final class KvWorkload implements Workload {
  private final boolean shared;
  private final int keys;
  /** The replicas of one simulation write the same entries: each entry is hashed once for all. */
  private final KvDigestCache digestCache = new KvDigestCache(4096);

  private KvWorkload(boolean shared, int keys) {
    this.shared = shared;
    this.keys = keys;
  }

  static KvWorkload perClient(int keysPerClient) {
    return new KvWorkload(false, keysPerClient);
  }

  static KvWorkload shared(int keys) {
    return new KvWorkload(true, keys);
  }

  @Override
  public Kind kind() {
    return shared ? Kind.KV_SHARED : Kind.KV;
  }

  @Override
  public StateMachine newStateMachine() {
    return new KvStateMachine(digestCache);
  }

  @Override
  public Generator generator(int client, Random random) {
    // What the client believes its keys hold: exact for its own keys, a guess for shared ones
    // (a compare-and-set on a stale guess fails, which the model predicts as well).
    Map<String, String> belief = new HashMap<>();
    return new Generator() {
      @Override
      public SimOp next(long timestamp) {
        if (!shared) {
          return KvOp.next(random, client, timestamp, keys, belief);
        }
        KvOp op = KvOp.next(random, client, timestamp, keys, belief);
        String key = "k" + op.key().substring(op.key().lastIndexOf('k') + 1);
        return new KvOp(op.kind(), key, op.value(), belief.get(key));
      }

      @Override
      public void completed(SimOp op, ByteString result) {
        KvOp kv = (KvOp) op;
        if (!shared) {
          kv.apply(belief);
          return;
        }
        KvResult r = parse(result);
        switch (kv.kind()) {
          case PUT -> belief.put(kv.key(), kv.value());
          case DELETE -> belief.remove(kv.key());
          case GET, CAS -> {
            if (kv.kind() == KvOp.Kind.CAS && r.getStatus() == KvResult.Status.OK) {
              belief.put(kv.key(), kv.value());
            } else if (r.getFound()) {
              belief.put(kv.key(), r.getValue().toStringUtf8());
            } else {
              belief.remove(kv.key());
            }
          }
        }
      }
    };
  }

  @Override
  public Model newModel() {
    return new KvModel();
  }

  /** The store as a map; what each operation returns follows {@link KvOp#expectedResult}. */
  static final class KvModel implements Model {
    final Map<String, String> values = new TreeMap<>();

    @Override
    public ByteString apply(SimOp op) {
      KvOp kv = (KvOp) op;
      ByteString expected = kv.expectedResult(values).toByteString();
      kv.apply(values);
      return expected;
    }
  }

  @Override
  public boolean sameResult(ByteString expected, ByteString actual) {
    return parse(expected).equals(parse(actual));
  }

  @Override
  public void checkFinalState(Model model, StateMachine app, String replica, Consumer<String> violation) {
    Map<String, String> expected = ((KvModel) model).values;
    KvStateMachine kv = (KvStateMachine) app;
    for (Map.Entry<String, String> e : expected.entrySet()) {
      String actual = read(kv, e.getKey());
      if (!Objects.equals(actual, e.getValue())) {
        violation.accept("final state: " + replica + " holds " + e.getKey() + "=" + actual
            + " but the committed order leaves " + e.getValue());
        return;
      }
    }
    if (kv.size() != expected.size()) {
      // Same values for every key the order wrote, so the replica holds keys nobody wrote.
      violation.accept("final state: " + replica + " holds " + kv.size() + " keys but the committed order leaves "
          + expected.size());
    }
  }

  static String read(KvStateMachine kv, String key) {
    KvResult result = parse(ByteString.copyFrom(kv.query(KvOperations.get(key.getBytes(StandardCharsets.UTF_8)))));
    return result.getFound() ? result.getValue().toStringUtf8() : null;
  }

  static KvResult parse(ByteString bytes) {
    try {
      return KvResult.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      return KvResult.newBuilder().setStatus(KvResult.Status.BAD_OPERATION).build();
    }
  }
}

package io.pbft.cli.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.kv.KvOperations;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** The operation mixes bench and demo run against a {@link KvTarget}. */
public final class KvWorkloads {
  private KvWorkloads() {}

  /**
   * Bench: puts of {@code payloadBytes}-byte values (gets with probability {@code readRatio})
   * to keys spread uniformly over {@code keys} keys.
   */
  public static LoadDriver.ClientStep putGet(KvTarget target, int keys, int payloadBytes, double readRatio) {
    SplittableRandom seed = new SplittableRandom();
    byte[][] values = new byte[target.clients()][];
    SplittableRandom[] randoms = new SplittableRandom[target.clients()];
    for (int c = 0; c < values.length; c++) {
      randoms[c] = seed.split();
      values[c] = new byte[payloadBytes];
      randoms[c].nextBytes(values[c]);
    }
    return client -> {
      // each client has its own thread, so its random and value are never shared
      SplittableRandom random = randoms[client];
      byte[] key = key("key-", random.nextInt(keys));
      boolean read = readRatio > 0 && random.nextDouble() < readRatio;
      check(read ? target.read(client, KvOperations.get(key)) : target.execute(client, KvOperations.put(key, values[client])));
    };
  }

  /**
   * Demo: puts, gets, compare-and-sets and deletes over {@code keys} keys. Each client remembers
   * the last value it saw per key and uses it as the CAS expectation, so some CASes succeed
   * and some fail because another client got there first, as in real use.
   */
  public static LoadDriver.ClientStep mixed(KvTarget target, int keys) {
    Mixed[] clients = new Mixed[target.clients()];
    SplittableRandom seed = new SplittableRandom();
    for (int c = 0; c < clients.length; c++) {
      clients[c] = new Mixed(c, seed.split());
    }
    return client -> clients[client].step(target, keys);
  }

  private static final class Mixed {
    private final int id;
    private final SplittableRandom random;
    /** Last value seen per key; a present null means "seen absent". */
    private final Map<Integer, byte[]> seen = new HashMap<>();
    private long counter;

    Mixed(int id, SplittableRandom random) {
      this.id = id;
      this.random = random;
    }

    void step(KvTarget target, int keys) throws Exception {
      int k = random.nextInt(keys);
      byte[] key = key("demo-", k);
      byte[] value = ("c" + id + "-" + counter++).getBytes(StandardCharsets.UTF_8);
      int dice = random.nextInt(100);
      if (dice < 45) {
        check(target.execute(id, KvOperations.put(key, value)));
        seen.put(k, value);
      } else if (dice < 75) {
        KvResult r = check(target.read(id, KvOperations.get(key)));
        seen.put(k, r.getFound() ? r.getValue().toByteArray() : null);
      } else if (dice < 90) {
        KvResult r = check(target.execute(id, KvOperations.cas(key, seen.get(k), value)));
        if (r.getStatus() == KvResult.Status.OK) {
          seen.put(k, value);
        } else {
          seen.put(k, r.getFound() ? r.getValue().toByteArray() : null);
        }
      } else {
        check(target.execute(id, KvOperations.delete(key)));
        seen.put(k, null);
      }
    }
  }

  private static byte[] key(String prefix, int k) {
    return (prefix + k).getBytes(StandardCharsets.UTF_8);
  }

  /** A result the store refused, or one that is no KvResult, is a failed operation. */
  private static KvResult check(byte[] bytes) {
    KvResult r;
    try {
      r = KvResult.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("result is not a KvResult (" + bytes.length + " bytes)");
    }
    if (r.getStatus() == KvResult.Status.BAD_OPERATION || r.getStatus() == KvResult.Status.UNRECOGNIZED) {
      throw new IllegalStateException("the store refused an operation: " + r.getStatus());
    }
    return r;
  }
}

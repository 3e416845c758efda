package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.kv.KvOperations;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;

/**
 * One key-value operation of the simulated workload, with what it must return. Each client reads
 * and writes only its own keys and runs one operation at a time, so the result of every
 * operation follows from the client's own earlier operations alone: a model of its keys is
 * enough to check each result and the final state, without any cross-client reasoning.
 *
 * @param expected for CAS, the value the client believes the key holds (null: absent)
 */
public record KvOp(Kind kind, String key, String value, String expected) implements SimOp {
  public enum Kind { PUT, GET, DELETE, CAS }

  /** Draws the next operation of a client whose keys currently hold {@code model}. */
  static KvOp next(Random random, int client, long timestamp, int keysPerClient, Map<String, String> model) {
    String key = "c" + client + "/k" + random.nextInt(keysPerClient);
    String value = "c" + client + "-t" + timestamp;
    int roll = random.nextInt(100);
    if (roll < 45) {
      return new KvOp(Kind.PUT, key, value, null);
    } else if (roll < 70) {
      return new KvOp(Kind.GET, key, null, null);
    } else if (roll < 80) {
      return new KvOp(Kind.DELETE, key, null, null);
    }
    return new KvOp(Kind.CAS, key, value, model.get(key));
  }

  @Override
  public boolean readOnly() {
    return kind == Kind.GET;
  }

  @Override
  public byte[] encode() {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    return switch (kind) {
      case PUT -> KvOperations.put(k, bytes(value));
      case GET -> KvOperations.get(k);
      case DELETE -> KvOperations.delete(k);
      case CAS -> KvOperations.cas(k, expected == null ? null : bytes(expected), bytes(value));
    };
  }

  @Override
  public String describeResult(ByteString result) {
    return Trace.describeResult(result);
  }

  /** What executing this exactly once, after the client's earlier operations, returns. */
  KvResult expectedResult(Map<String, String> model) {
    String current = model.get(key);
    KvResult.Builder ok = KvResult.newBuilder().setStatus(KvResult.Status.OK);
    KvResult.Builder notFound = KvResult.newBuilder().setStatus(KvResult.Status.NOT_FOUND);
    return switch (kind) {
      case PUT -> ok.build();
      case GET -> current == null ? notFound.build()
          : ok.setFound(true).setValue(ByteString.copyFromUtf8(current)).build();
      case DELETE -> current == null ? notFound.build() : ok.build();
      case CAS -> {
        if (java.util.Objects.equals(current, expected)) {
          yield ok.build();
        }
        KvResult.Builder failed = KvResult.newBuilder().setStatus(KvResult.Status.CAS_FAILED).setFound(current != null);
        yield current == null ? failed.build() : failed.setValue(ByteString.copyFromUtf8(current)).build();
      }
    };
  }

  /** The client's keys after this operation ran. */
  void apply(Map<String, String> model) {
    switch (kind) {
      case PUT -> model.put(key, value);
      case DELETE -> model.remove(key);
      case CAS -> {
        if (java.util.Objects.equals(model.get(key), expected)) {
          model.put(key, value);
        }
      }
      case GET -> { }
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return switch (kind) {
      case PUT -> "put " + key + "=" + value;
      case GET -> "get " + key;
      case DELETE -> "delete " + key;
      case CAS -> "cas " + key + " " + (expected == null ? "<absent>" : expected) + "->" + value;
    };
  }
}

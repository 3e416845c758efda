package io.pbft.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.KvCompareAndSet;
import io.pbft.proto.KvDelete;
import io.pbft.proto.KvGet;
import io.pbft.proto.KvOperation;
import io.pbft.proto.KvPut;
import io.pbft.proto.KvResult;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * Typed access to the replicated key-value store: encodes {@link KvOperation}s, runs them through
 * a {@link PbftClient} and decodes the agreed {@link KvResult}. String keys and values are UTF-8.
 *
 * <p>Reads name how they run ({@link ReadMode}): {@link #get} is a read-only operation (answered
 * by 2f + 1 matching replicas from their state, without ordering, and ordered only when they do
 * not agree in time); {@link #getOrdered} orders the read through the three phases like a write.
 * Both are linearizable; the read-only one saves the agreement and the primary's batching.
 *
 * <p>A {@code BAD_OPERATION} result (the replicas could not apply the operation) and a result
 * that is not a KvResult at all fail with {@link PbftException}.
 */
public final class KvClient implements AutoCloseable {
  /** How a read runs. */
  public enum ReadMode {
    /**
     * The read-only optimisation ({@link PbftClient#invokeReadOnly}): sent to every replica and
     * answered from each one's state; accepted on 2f + 1 matching answers, else ordered.
     */
    READ_ONLY,
    /** Ordered like a write ({@link PbftClient#invoke}): f + 1 matching replies after agreement. */
    ORDERED
  }

  private final PbftClient client;
  private final boolean ownsClient;

  private KvClient(PbftClient client, boolean ownsClient) {
    this.client = Objects.requireNonNull(client, "client");
    this.ownsClient = ownsClient;
  }

  /** A KvClient that closes {@code client} when it is closed. */
  public static KvClient owning(PbftClient client) {
    return new KvClient(client, true);
  }

  /** A KvClient over {@code client} that leaves it open when it is closed (the caller closes it). */
  public static KvClient borrowing(PbftClient client) {
    return new KvClient(client, false);
  }

  public PbftClient pbftClient() {
    return client;
  }

  // ---------------------------------------------------------------- async

  public CompletableFuture<Void> putAsync(byte[] key, byte[] value) {
    KvOperation op = KvOperation.newBuilder()
        .setPut(KvPut.newBuilder().setKey(bytes(key, "key")).setValue(bytes(value, "value")))
        .build();
    return run(op, "put", false, r -> {
      expect(r, "put", KvResult.Status.OK);
      return null;
    });
  }

  /** The value, or empty if the key has none: a read-only operation ({@link ReadMode#READ_ONLY}). */
  public CompletableFuture<Optional<byte[]>> getAsync(byte[] key) {
    return getAsync(key, ReadMode.READ_ONLY);
  }

  /** The value, or empty if the key has none, read as {@code mode} says. */
  public CompletableFuture<Optional<byte[]>> getAsync(byte[] key, ReadMode mode) {
    Objects.requireNonNull(mode, "mode");
    KvOperation op = KvOperation.newBuilder().setGet(KvGet.newBuilder().setKey(bytes(key, "key"))).build();
    return run(op, "get", mode == ReadMode.READ_ONLY, r -> {
      expect(r, "get", KvResult.Status.OK, KvResult.Status.NOT_FOUND);
      boolean present = r.getStatus() == KvResult.Status.OK && r.getFound();
      return present ? Optional.of(r.getValue().toByteArray()) : Optional.empty();
    });
  }

  /** True if the key existed (and is now gone), false if there was nothing to delete. */
  public CompletableFuture<Boolean> deleteAsync(byte[] key) {
    KvOperation op = KvOperation.newBuilder().setDelete(KvDelete.newBuilder().setKey(bytes(key, "key"))).build();
    return run(op, "delete", false, r -> {
      expect(r, "delete", KvResult.Status.OK, KvResult.Status.NOT_FOUND);
      return r.getStatus() == KvResult.Status.OK;
    });
  }

  /**
   * Sets {@code key} to {@code newValue} iff its current value equals {@code expected}; a null
   * {@code expected} means "the key is absent" (an empty array is an empty value). True if set.
   */
  public CompletableFuture<Boolean> compareAndSetAsync(byte[] key, byte[] expected, byte[] newValue) {
    KvCompareAndSet.Builder cas = KvCompareAndSet.newBuilder()
        .setKey(bytes(key, "key"))
        .setNewValue(bytes(newValue, "newValue"));
    if (expected == null) {
      cas.setExpectedAbsent(true);
    } else {
      cas.setExpected(ByteString.copyFrom(expected));
    }
    KvOperation op = KvOperation.newBuilder().setCas(cas).build();
    return run(op, "compareAndSet", false, r -> {
      expect(r, "compareAndSet", KvResult.Status.OK, KvResult.Status.CAS_FAILED);
      return r.getStatus() == KvResult.Status.OK;
    });
  }

  // ---------------------------------------------------------------- blocking

  public void put(byte[] key, byte[] value) {
    await(putAsync(key, value));
  }

  public void put(String key, String value) {
    put(utf8(key, "key"), utf8(value, "value"));
  }

  /** Read-only, falling back to ordering (see {@link ReadMode#READ_ONLY}). */
  public Optional<byte[]> get(byte[] key) {
    return get(key, ReadMode.READ_ONLY);
  }

  /** Read-only, falling back to ordering (see {@link ReadMode#READ_ONLY}). */
  public Optional<String> get(String key) {
    return get(key, ReadMode.READ_ONLY);
  }

  public Optional<byte[]> get(byte[] key, ReadMode mode) {
    return await(getAsync(key, mode));
  }

  public Optional<String> get(String key, ReadMode mode) {
    return get(utf8(key, "key"), mode).map(v -> new String(v, StandardCharsets.UTF_8));
  }

  /** Ordered through the three phases like a write ({@link ReadMode#ORDERED}). */
  public Optional<byte[]> getOrdered(byte[] key) {
    return get(key, ReadMode.ORDERED);
  }

  /** Ordered through the three phases like a write ({@link ReadMode#ORDERED}). */
  public Optional<String> getOrdered(String key) {
    return get(key, ReadMode.ORDERED);
  }

  public boolean delete(byte[] key) {
    return await(deleteAsync(key));
  }

  public boolean delete(String key) {
    return delete(utf8(key, "key"));
  }

  public boolean compareAndSet(byte[] key, byte[] expectedOrNullForAbsent, byte[] newValue) {
    return await(compareAndSetAsync(key, expectedOrNullForAbsent, newValue));
  }

  public boolean compareAndSet(String key, String expectedOrNullForAbsent, String newValue) {
    return compareAndSet(utf8(key, "key"),
        expectedOrNullForAbsent == null ? null : expectedOrNullForAbsent.getBytes(StandardCharsets.UTF_8),
        utf8(newValue, "newValue"));
  }

  @Override
  public void close() {
    if (ownsClient) {
      client.close();
    }
  }

  // ---------------------------------------------------------------- helpers

  private <T> CompletableFuture<T> run(KvOperation op, String what, boolean readOnly, Function<KvResult, T> decode) {
    byte[] operation = op.toByteArray();
    return (readOnly ? client.invokeReadOnly(operation) : client.invoke(operation)).thenApply(bytes -> {
      KvResult result;
      try {
        result = KvResult.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        throw new PbftException("the replicas agreed on a " + what + " result that is not a KvResult ("
            + bytes.length + " bytes): is this cluster running the key-value store?", e);
      }
      return decode.apply(result);
    });
  }

  private static void expect(KvResult r, String what, KvResult.Status... allowed) {
    for (KvResult.Status s : allowed) {
      if (r.getStatus() == s) {
        return;
      }
    }
    if (r.getStatus() == KvResult.Status.BAD_OPERATION) {
      String reason = r.getValue().toStringUtf8();
      throw new PbftException("the replicas refused the " + what + " as a bad operation"
          + (reason.isEmpty() ? "" : ": " + reason));
    }
    throw new PbftException("unexpected " + what + " result status " + r.getStatus());
  }

  private static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (ExecutionException e) {
      throw unwrap(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PbftException("interrupted while waiting for the result (the operation may still execute)", e);
    }
  }

  private static RuntimeException unwrap(Throwable t) {
    if (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof PbftException p) {
      return p;
    }
    return new PbftException("operation failed: " + t, t);
  }

  private static ByteString bytes(byte[] b, String name) {
    return ByteString.copyFrom(Objects.requireNonNull(b, name));
  }

  private static byte[] utf8(String s, String name) {
    return Objects.requireNonNull(s, name).getBytes(StandardCharsets.UTF_8);
  }
}

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
 * <p>A {@code BAD_OPERATION} result (the replicas could not apply the operation) and a result
 * that is not a KvResult at all fail with {@link PbftException}.
 */
public final class KvClient implements AutoCloseable {
  private final PbftClient client;
  private final boolean ownsClient;

  /** @param ownsClient whether {@link #close} closes {@code client} too */
  public KvClient(PbftClient client, boolean ownsClient) {
    this.client = Objects.requireNonNull(client, "client");
    this.ownsClient = ownsClient;
  }

  /** A KvClient that closes {@code client} when it is closed. */
  public static KvClient owning(PbftClient client) {
    return new KvClient(client, true);
  }

  public PbftClient pbftClient() {
    return client;
  }

  // ---------------------------------------------------------------- async

  public CompletableFuture<Void> putAsync(byte[] key, byte[] value) {
    KvOperation op = KvOperation.newBuilder()
        .setPut(KvPut.newBuilder().setKey(bytes(key, "key")).setValue(bytes(value, "value")))
        .build();
    return run(op, "put", r -> {
      expect(r, "put", KvResult.Status.OK);
      return null;
    });
  }

  /** The value, or empty if the key has none. */
  public CompletableFuture<Optional<byte[]>> getAsync(byte[] key) {
    KvOperation op = KvOperation.newBuilder().setGet(KvGet.newBuilder().setKey(bytes(key, "key"))).build();
    return run(op, "get", r -> {
      expect(r, "get", KvResult.Status.OK, KvResult.Status.NOT_FOUND);
      boolean present = r.getStatus() == KvResult.Status.OK && r.getFound();
      return present ? Optional.of(r.getValue().toByteArray()) : Optional.empty();
    });
  }

  /** True if the key existed (and is now gone), false if there was nothing to delete. */
  public CompletableFuture<Boolean> deleteAsync(byte[] key) {
    KvOperation op = KvOperation.newBuilder().setDelete(KvDelete.newBuilder().setKey(bytes(key, "key"))).build();
    return run(op, "delete", r -> {
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
    return run(op, "compareAndSet", r -> {
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

  public Optional<byte[]> get(byte[] key) {
    return await(getAsync(key));
  }

  public Optional<String> get(String key) {
    return get(utf8(key, "key")).map(v -> new String(v, StandardCharsets.UTF_8));
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

  private <T> CompletableFuture<T> run(KvOperation op, String what, Function<KvResult, T> decode) {
    return client.invoke(op.toByteArray()).thenApply(bytes -> {
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

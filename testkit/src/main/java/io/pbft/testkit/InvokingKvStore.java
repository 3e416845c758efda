package io.pbft.testkit;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.client.PbftException;
import io.pbft.proto.KvCompareAndSet;
import io.pbft.proto.KvDelete;
import io.pbft.proto.KvGet;
import io.pbft.proto.KvOperation;
import io.pbft.proto.KvPut;
import io.pbft.proto.KvResult;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * A {@link KvStore} over anything that can run an opaque operation and return the result f + 1
 * replicas agreed on: encodes each {@link KvOperation} and decodes the {@link KvResult} the same
 * way {@link io.pbft.client.KvClient} does, with the same exceptions. For clusters whose clients
 * are not {@code PbftClient}s (the simulator's).
 */
public abstract class InvokingKvStore implements KvStore {

  /** Runs {@code operation} and completes with the agreed result (or a {@link PbftException}). */
  protected abstract CompletableFuture<byte[]> invoke(byte[] operation);

  @Override
  public CompletableFuture<Void> putAsync(byte[] key, byte[] value) {
    KvOperation op = KvOperation.newBuilder()
        .setPut(KvPut.newBuilder().setKey(bytes(key, "key")).setValue(bytes(value, "value"))).build();
    return run(op, "put", r -> {
      expect(r, "put", KvResult.Status.OK);
      return null;
    });
  }

  private final java.util.concurrent.atomic.AtomicLong gets = new java.util.concurrent.atomic.AtomicLong();

  /** Every get: this store orders them all. */
  @Override
  public long getsOrdered() {
    return gets.get();
  }

  @Override
  public CompletableFuture<Optional<byte[]>> getAsync(byte[] key) {
    gets.incrementAndGet();
    KvOperation op = KvOperation.newBuilder().setGet(KvGet.newBuilder().setKey(bytes(key, "key"))).build();
    return run(op, "get", r -> {
      expect(r, "get", KvResult.Status.OK, KvResult.Status.NOT_FOUND);
      boolean present = r.getStatus() == KvResult.Status.OK && r.getFound();
      return present ? Optional.of(r.getValue().toByteArray()) : Optional.empty();
    });
  }

  @Override
  public CompletableFuture<Boolean> deleteAsync(byte[] key) {
    KvOperation op = KvOperation.newBuilder().setDelete(KvDelete.newBuilder().setKey(bytes(key, "key"))).build();
    return run(op, "delete", r -> {
      expect(r, "delete", KvResult.Status.OK, KvResult.Status.NOT_FOUND);
      return r.getStatus() == KvResult.Status.OK;
    });
  }

  @Override
  public CompletableFuture<Boolean> compareAndSetAsync(byte[] key, byte[] expected, byte[] newValue) {
    KvCompareAndSet.Builder cas = KvCompareAndSet.newBuilder().setKey(bytes(key, "key"))
        .setNewValue(bytes(newValue, "newValue"));
    if (expected == null) {
      cas.setExpectedAbsent(true);
    } else {
      cas.setExpected(ByteString.copyFrom(expected));
    }
    return run(KvOperation.newBuilder().setCas(cas).build(), "compareAndSet", r -> {
      expect(r, "compareAndSet", KvResult.Status.OK, KvResult.Status.CAS_FAILED);
      return r.getStatus() == KvResult.Status.OK;
    });
  }

  private <T> CompletableFuture<T> run(KvOperation op, String what, Function<KvResult, T> decode) {
    return invoke(op.toByteArray()).thenApply(bytes -> {
      KvResult result;
      try {
        result = KvResult.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        throw new PbftException("the replicas agreed on a " + what + " result that is not a KvResult", e);
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
    throw new PbftException("unexpected " + what + " result status " + r.getStatus()
        + (r.getStatus() == KvResult.Status.BAD_OPERATION ? ": " + r.getValue().toStringUtf8() : ""));
  }

  private static ByteString bytes(byte[] b, String name) {
    return ByteString.copyFrom(Objects.requireNonNull(b, name));
  }
}

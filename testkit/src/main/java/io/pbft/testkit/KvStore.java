package io.pbft.testkit;

import io.pbft.client.KvClient;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A client of the replicated key-value store, as {@link Cluster#kv} hands it out: the operations
 * of {@link KvClient}, asynchronous and blocking. One identity runs its operations one at a time
 * in the order they were issued. Failures are the client's exceptions ({@code PbftException},
 * {@code PbftTimeoutException}); a failed put may or may not have executed.
 *
 * <p>The blocking calls wait through {@link #await}, which a simulated cluster implements by
 * running its virtual clock until the operation completes; callbacks on the futures run on the
 * client's threads, or in the simulator's single thread.
 */
public interface KvStore extends AutoCloseable {

  /** The client identity. */
  int clientId();

  CompletableFuture<Void> putAsync(byte[] key, byte[] value);

  /**
   * The value, or empty if the key has none: read-only where the client has it (KvClient.get:
   * answered from the replicas' states, ordered only when they do not agree), ordered otherwise.
   */
  CompletableFuture<Optional<byte[]>> getAsync(byte[] key);

  /**
   * Gets that went through ordering (and so count among the replicas' executed requests): every
   * get of a store whose gets are ordered, the read-only gets that fell back otherwise.
   */
  long getsOrdered();

  /** True if the key existed (and is now gone). */
  CompletableFuture<Boolean> deleteAsync(byte[] key);

  /** Sets {@code key} to {@code newValue} iff it holds {@code expected} (null: iff it is absent); true if set. */
  CompletableFuture<Boolean> compareAndSetAsync(byte[] key, byte[] expected, byte[] newValue);

  /**
   * Waits for an operation of this store and returns its result.
   *
   * @throws io.pbft.client.PbftException what the operation failed with
   */
  <T> T await(CompletableFuture<T> operation);

  default void put(byte[] key, byte[] value) {
    await(putAsync(key, value));
  }

  default Optional<byte[]> get(byte[] key) {
    return await(getAsync(key));
  }

  default boolean delete(byte[] key) {
    return await(deleteAsync(key));
  }

  default boolean compareAndSet(byte[] key, byte[] expected, byte[] newValue) {
    return await(compareAndSetAsync(key, expected, newValue));
  }

  default void put(String key, String value) {
    put(utf8(key), utf8(value));
  }

  default Optional<String> get(String key) {
    return get(utf8(key)).map(v -> new String(v, StandardCharsets.UTF_8));
  }

  default boolean delete(String key) {
    return delete(utf8(key));
  }

  default boolean compareAndSet(String key, String expected, String newValue) {
    return compareAndSet(utf8(key), expected == null ? null : utf8(expected), utf8(newValue));
  }

  /** Closes the client; operations still outstanding fail. */
  @Override
  void close();

  /** {@code client} as a KvStore (waiting in wall time); closing the store closes the client. */
  static KvStore of(KvClient client) {
    return new KvClientStore(client);
  }

  private static byte[] utf8(String s) {
    return Objects.requireNonNull(s).getBytes(StandardCharsets.UTF_8);
  }
}

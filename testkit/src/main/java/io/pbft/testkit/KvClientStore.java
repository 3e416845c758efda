package io.pbft.testkit;

import io.pbft.client.KvClient;
import io.pbft.client.PbftException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** A {@link KvClient} seen as a {@link KvStore}: the same operations, waited for in wall time. */
final class KvClientStore implements KvStore {
  private final KvClient client;

  KvClientStore(KvClient client) {
    this.client = client;
  }

  @Override
  public int clientId() {
    return client.pbftClient().clientId();
  }

  @Override
  public CompletableFuture<Void> putAsync(byte[] key, byte[] value) {
    return client.putAsync(key, value);
  }

  @Override
  public CompletableFuture<Optional<byte[]>> getAsync(byte[] key) {
    return client.getAsync(key);
  }

  @Override
  public long getsOrdered() {
    return client.pbftClient().readOnlyFallbacks(); // its gets are read-only (KvClient.get)
  }

  @Override
  public CompletableFuture<Boolean> deleteAsync(byte[] key) {
    return client.deleteAsync(key);
  }

  @Override
  public CompletableFuture<Boolean> compareAndSetAsync(byte[] key, byte[] expected, byte[] newValue) {
    return client.compareAndSetAsync(key, expected, newValue);
  }

  @Override
  public <T> T await(CompletableFuture<T> operation) {
    try {
      return operation.get(); // the client's operation timeout bounds the wait
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
      throw cause instanceof PbftException p ? p : new PbftException("operation failed: " + cause, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PbftException("interrupted while waiting for the result (the operation may still execute)", e);
    }
  }

  @Override
  public void close() {
    client.close();
  }
}

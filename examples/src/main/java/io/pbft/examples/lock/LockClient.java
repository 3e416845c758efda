package io.pbft.examples.lock;

import io.pbft.client.PbftClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The client side of {@link LockService}: encodes operations, sends them through a
 * {@link PbftClient} (which waits for f + 1 matching replies, so a result is the group's answer)
 * and decodes the results.
 */
public final class LockClient implements AutoCloseable {
  /** A lease this client holds: present {@code leaseId} to renew or release it, {@code fencing} to storage. */
  public record Lease(String lock, String leaseId, long fencing, long expiresMs) {}

  /** Who holds a lock, with its fencing token and when the lease runs out (agreed time, ms since the epoch). */
  public record Holder(String owner, long fencing, long expiresMs) {}

  private final PbftClient client;
  private final boolean ownsClient;

  public LockClient(PbftClient client, boolean ownsClient) {
    this.client = client;
    this.ownsClient = ownsClient;
  }

  /** The lease if the lock was free (or its lease had expired), empty if someone holds it. */
  public Optional<Lease> acquire(String lock, String owner, Duration ttl) {
    String[] r = call("acquire " + lock + " " + owner + " " + ttl.toMillis());
    if (r[0].equals("held")) {
      return Optional.empty();
    }
    expect(r, "granted", 4);
    return Optional.of(new Lease(lock, r[1], Long.parseLong(r[2]), Long.parseLong(r[3])));
  }

  /** The new expiry if the lease was still this client's, empty if it expired or was released. */
  public OptionalLong renew(Lease lease, Duration ttl) {
    String[] r = call("renew " + lease.lock() + " " + lease.leaseId() + " " + ttl.toMillis());
    if (r[0].equals("lost")) {
      return OptionalLong.empty();
    }
    expect(r, "renewed", 2);
    return OptionalLong.of(Long.parseLong(r[1]));
  }

  /** True if the lease was still this client's and the lock is now free. */
  public boolean release(Lease lease) {
    String[] r = call("release " + lease.lock() + " " + lease.leaseId());
    if (r[0].equals("lost")) {
      return false;
    }
    expect(r, "released", 1);
    return true;
  }

  /** Who holds {@code lock} at the agreed time of this (ordered) request; empty if it is free. */
  public Optional<Holder> holder(String lock) {
    String[] r = call("holder " + lock);
    if (r[0].equals("free")) {
      return Optional.empty();
    }
    expect(r, "held", 4);
    return Optional.of(new Holder(r[1], Long.parseLong(r[2]), Long.parseLong(r[3])));
  }

  /** Sends one raw operation and returns the group's raw result. */
  public String raw(String operation) {
    return new String(client.invokeBlocking(operation.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
  }

  private String[] call(String operation) {
    String result = raw(operation);
    String[] words = result.split(" ");
    if (words[0].equals("error")) {
      throw new IllegalArgumentException(result.substring("error ".length()));
    }
    return words;
  }

  private static void expect(String[] r, String word, int count) {
    if (!r[0].equals(word) || r.length != count) {
      throw new IllegalStateException("unexpected result from the lock service: " + String.join(" ", r));
    }
  }

  @Override
  public void close() {
    if (ownsClient) {
      client.close();
    }
  }
}

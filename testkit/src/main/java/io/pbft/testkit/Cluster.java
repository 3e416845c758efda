package io.pbft.testkit;

import io.pbft.proto.StatusResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * A PBFT group of n = 3f + 1 replicas running the key-value store, whichever way it runs: in the
 * deterministic simulator, as {@code ReplicaServer}s in this JVM, as {@code pbft replica}
 * processes, or in containers. Scenarios written against this interface run over each.
 *
 * <p>One vocabulary for what can happen to a replica:
 *
 * <ul>
 *   <li>{@link #stop} ends it gracefully (SIGTERM), {@link #kill} crashes it (SIGKILL: nothing
 *       more leaves it); {@link #restart} brings either back with its durable state (its data
 *       directory, volume or simulated disk), after which it catches up from its peers;
 *   <li>{@link #pause} freezes it (SIGSTOP, docker pause): it keeps its memory and connections
 *       but neither sends nor answers; {@link #resume} lets it go on;
 *   <li>{@link #isolate} cuts it off from every other replica and from clients, with its
 *       connections broken; {@link #heal} ends every isolation.
 * </ul>
 *
 * <p>Time: a real cluster waits in wall time; the simulator runs its virtual clock for the same
 * durations (a wait there is as long in virtual time as it says, and takes however long the
 * simulation of it takes). Blocking client calls ({@link KvStore#await}) follow the same rule.
 * Drive a cluster from one thread; the clients it hands out may be used from callbacks.
 */
public interface Cluster extends AutoCloseable {

  /** Starts every replica and returns once each of them can take part; returns this cluster. */
  Cluster start();

  /** n, the number of replicas (ids 0 .. n - 1). */
  int size();

  /** f, the number of faulty replicas the group tolerates. */
  default int f() {
    return (size() - 1) / 3;
  }

  /** Stops replica {@code id} gracefully and waits until it is gone. */
  void stop(int id);

  /** Crashes replica {@code id} (SIGKILL or the nearest this kind of cluster has) and waits until it is gone. */
  void kill(int id);

  /** Freezes replica {@code id}: it neither sends, receives nor answers until {@link #resume}. */
  void pause(int id);

  /** Lets a paused replica go on where it stopped. */
  void resume(int id);

  /** Cuts replica {@code id} off from the other replicas and from clients until {@link #heal}. */
  void isolate(int id);

  /** Ends every isolation; paused, stopped and killed replicas stay as they are. */
  void heal();

  /**
   * Brings replica {@code id} back with its durable state and waits until it answers: a stopped
   * or killed replica starts again; a running one is first stopped gracefully.
   */
  void restart(int id);

  /**
   * Replaces replica {@code id}'s machine, which failed with its disk, by a new one with the same
   * identity (configuration, key, TLS files, address) and no state at all, starts it and waits
   * until it answers, as docs/RECONFIGURATION.md's operator steps do: the old one is gone for
   * good. The new replica catches up from the others by state transfer.
   *
   * @throws UnsupportedOperationException where this kind of cluster keeps no state apart from
   *     its replicas' memory, or cannot give a new machine an old identity
   */
  default void replaceWithEmptyState(int id) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot replace a replica's machine");
  }

  /** Whether {@link #replaceWithEmptyState} is supported. */
  default boolean replacesMachines() {
    return false;
  }

  /**
   * {@link #restart}s every replica in {@code ids}, together where this kind of cluster can (as
   * after a power loss), and returns once each of them answers.
   */
  default void restartAll(Collection<Integer> ids) {
    for (int id : ids) {
      restart(id);
    }
  }

  /** A key-value client with identity {@code clientId} (0 .. clients - 1), closed with the cluster. */
  KvStore kv(int clientId);

  /**
   * What replica {@code id} reports: view, last executed sequence number, state digest and its
   * typed counters.
   *
   * @throws IllegalStateException if it does not answer (stopped, killed, paused or cut off; a
   *     simulated or in-JVM replica may still answer while paused or isolated)
   */
  StatusResponse status(int id);

  /** {@link #status}, or empty if the replica does not answer. */
  default Optional<StatusResponse> tryStatus(int id) {
    try {
      return Optional.of(status(id));
    } catch (RuntimeException unreachable) {
      return Optional.empty();
    }
  }

  /**
   * Waits until {@code condition} holds, checking it now and then in this cluster's time.
   *
   * @throws ClusterTimeoutException naming {@code what} if it does not hold within {@code timeout}
   */
  void await(String what, BooleanSupplier condition, Duration timeout);

  /**
   * Waits until every replica in {@code ids} answers with the same last executed sequence number
   * and the same state digest, and returns their statuses in the order of {@code ids}.
   *
   * @throws ClusterTimeoutException with every replica's last answer if they do not agree in time
   */
  default List<StatusResponse> awaitAgreement(Collection<Integer> ids, Duration timeout) {
    List<Integer> order = List.copyOf(ids);
    AtomicReference<List<StatusResponse>> last = new AtomicReference<>(List.of());
    try {
      await("replicas " + order + " agree", () -> {
        List<StatusResponse> now = new ArrayList<>();
        for (int id : order) {
          now.add(tryStatus(id).orElse(null));
        }
        last.set(now);
        return Statuses.agree(now);
      }, timeout);
    } catch (ClusterTimeoutException e) {
      throw new ClusterTimeoutException(e.getMessage() + ":" + Statuses.describe(order, last.get()));
    }
    return last.get();
  }

  /** Stops every replica and removes whatever the cluster made (processes, containers, files); idempotent. */
  @Override
  void close();
}

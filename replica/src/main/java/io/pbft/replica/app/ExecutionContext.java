package io.pbft.replica.app;

import java.util.Arrays;
import java.util.Random;

/**
 * What the protocol agreed about a batch besides its operations: where it stands in the order,
 * the time, and a seed for randomness. Every correct replica executing the batch gets an equal
 * context, so an application that takes its time and randomness from here (and nowhere else)
 * stays deterministic.
 *
 * <ul>
 *   <li>{@link #timeMillis()}: the agreed time, milliseconds since the epoch. The primary proposes
 *       a time with each batch and backups accept the batch only if that time lies within
 *       {@code protocol.clockSkewMs} of their own clocks; the executor then takes
 *       {@code max(proposed, previous batch's time + 1)}, so times strictly increase from batch
 *       to batch, and every operation of one batch sees the same time.
 *   <li>{@link #random()}: a generator seeded from {@link #seed()}, a SHA-256 over the batch's
 *       agreed digest (its requests and proposed time), its sequence number and the state digest
 *       of the checkpoint before it. No single replica picks the seed; a faulty primary can still
 *       bias it by trying many candidate batches (orders, subsets of the waiting requests, times
 *       within the skew) and proposing one whose seed suits it. Use it for tokens, identifiers,
 *       tie-breaking and load spreading, not for a lottery a primary must not win (see
 *       docs/APPLICATIONS.md).
 * </ul>
 *
 * <p>The context has no view number: replicas do not agree on the view in which a batch commits
 * (one may commit it in the view that proposed it, another in a later view, re-proposed by a
 * NEW-VIEW), so state that depended on it would diverge.
 */
public final class ExecutionContext {
  private final long sequence;
  private final long timeMillis;
  private final byte[] seed;
  private AgreedRandom random;

  /**
   * @param sequence the batch's sequence number
   * @param timeMillis the agreed time of the batch
   * @param seed the agreed seed of the batch (copied)
   */
  public ExecutionContext(long sequence, long timeMillis, byte[] seed) {
    this.sequence = sequence;
    this.timeMillis = timeMillis;
    this.seed = seed.clone();
  }

  /** A context without an agreed time (0) whose seed derives from the sequence number: for tests and tools. */
  public ExecutionContext(long sequence) {
    this(sequence, 0, AgreedRandom.derive("pbft-test-seed".getBytes(java.nio.charset.StandardCharsets.UTF_8),
        sequence));
  }

  /** The batch's sequence number. */
  public long sequence() {
    return sequence;
  }

  /** The agreed time of the batch, milliseconds since the epoch (see the class comment). */
  public long timeMillis() {
    return timeMillis;
  }

  /** The batch's agreed 32-byte seed, a copy. */
  public byte[] seed() {
    return seed.clone();
  }

  /**
   * The batch's generator: one stream for the whole batch, drawn from in the order the
   * application draws (which must itself be deterministic, e.g. operation by operation).
   */
  public Random random() {
    if (random == null) {
      random = new AgreedRandom(seed);
    }
    return random;
  }

  /**
   * An independent generator for operation {@code index} of the batch: what it yields does not
   * depend on what other operations drew.
   */
  public Random random(int index) {
    return new AgreedRandom(AgreedRandom.derive(seed, index));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExecutionContext c && c.sequence == sequence && c.timeMillis == timeMillis
        && Arrays.equals(c.seed, seed);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(sequence) * 31 + Long.hashCode(timeMillis);
  }

  @Override
  public String toString() {
    return "ExecutionContext[sequence=" + sequence + ", timeMillis=" + timeMillis + ", seed="
        + java.util.HexFormat.of().formatHex(seed, 0, 8) + "…]";
  }
}

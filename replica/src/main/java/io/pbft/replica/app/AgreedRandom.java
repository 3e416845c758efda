package io.pbft.replica.app;

import java.security.MessageDigest;
import java.util.Random;

/**
 * A deterministic generator over SHA-256 in counter mode: block i is SHA-256(seed || i), and
 * {@link #next(int)} takes 32 bits at a time from the blocks in order. Every method of
 * {@link Random} is defined through {@link #next(int)}, so the same seed gives the same values
 * on every JVM. It cannot be reseeded.
 */
final class AgreedRandom extends Random {
  private static final long serialVersionUID = 1L;

  private final byte[] seed;
  private final byte[] block = new byte[32];
  private long counter;
  private int used = 32;

  AgreedRandom(byte[] seed) {
    super(0L);
    this.seed = seed.clone();
  }

  /** SHA-256(seed || index as 8 bytes, big-endian). */
  static byte[] derive(byte[] seed, long index) {
    MessageDigest md = io.pbft.crypto.Digests.newSha256();
    md.update(seed);
    md.update(io.pbft.crypto.Digests.bigEndian(index));
    return md.digest();
  }

  @Override
  public synchronized void setSeed(long ignored) {
    if (seed != null) {
      throw new UnsupportedOperationException("an agreed generator cannot be reseeded");
    }
    // Called once by Random's constructor, before this object has a seed: nothing to do.
  }

  @Override
  protected int next(int bits) {
    if (used + 4 > block.length) {
      byte[] b = derive(seed, counter++);
      System.arraycopy(b, 0, block, 0, block.length);
      used = 0;
    }
    int v = ((block[used] & 0xff) << 24) | ((block[used + 1] & 0xff) << 16) | ((block[used + 2] & 0xff) << 8)
        | (block[used + 3] & 0xff);
    used += 4;
    return v >>> (32 - bits);
  }
}

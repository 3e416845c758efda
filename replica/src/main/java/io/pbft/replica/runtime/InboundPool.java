package io.pbft.replica.runtime;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The signature verification pool: a fixed number of threads behind one queue bounded in tasks
 * ({@code transport.inboundQueueMax}) and in the bytes of the messages they carry
 * ({@code transport.inboundQueueBytesMax}). A task that does not fit is refused and counted; a
 * network thread never waits.
 */
final class InboundPool {
  private final ThreadPoolExecutor pool;
  private final long bytesMax;
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong bytesHigh = new AtomicLong();
  private final AtomicLong droppedFull = new AtomicLong();
  private final AtomicLong droppedBytes = new AtomicLong();

  InboundPool(int threads, int countMax, long bytesMax, ThreadFactory threadFactory) {
    this.bytesMax = bytesMax;
    this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(countMax), threadFactory, new ThreadPoolExecutor.AbortPolicy());
  }

  /**
   * Queues {@code task}, which carries a message of {@code size} bytes (held against the bound
   * until the task starts); false, and counted, if the queue is full by count or by bytes.
   */
  boolean submit(Runnable task, int size) {
    long now = bytes.addAndGet(size);
    if (now > bytesMax) {
      bytes.addAndGet(-size);
      droppedBytes.incrementAndGet();
      return false;
    }
    bytesHigh.accumulateAndGet(now, Math::max);
    try {
      pool.execute(() -> {
        bytes.addAndGet(-size);
        task.run();
      });
      return true;
    } catch (RejectedExecutionException e) {
      bytes.addAndGet(-size);
      if (!pool.isShutdown()) {
        droppedFull.incrementAndGet();
      }
      return false;
    }
  }

  /** Bytes of the messages waiting for a verification thread. */
  long queuedBytes() {
    return bytes.get();
  }

  /** The most bytes ever queued at once (never above inboundQueueBytesMax). */
  long queuedBytesHigh() {
    return bytesHigh.get();
  }

  int queued() {
    return pool.getQueue().size();
  }

  /** Tasks refused because the queue held inboundQueueMax of them. */
  long droppedFull() {
    return droppedFull.get();
  }

  /** Tasks refused because the queue held inboundQueueBytesMax bytes. */
  long droppedBytes() {
    return droppedBytes.get();
  }

  void shutdownNow() {
    pool.shutdownNow();
  }
}

package io.pbft.replica.runtime;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that touches a replica's core. Outside input comes in through a queue bounded
 * in tasks ({@code transport.inboundQueueMax}) and in the bytes of the messages they carry
 * ({@code transport.inboundQueueBytesMax}); when it is full the task is dropped and counted (a
 * flood never blocks a network thread). The
 * replica's own reports (execution results) come in through a second queue that is never full:
 * they are bounded by the pipeline and must not be lost. After each burst of at most {@code burstMax} tasks
 * ({@code transport.eventLoopBurstMax}) the loop runs
 * {@code afterBurst}, which carries out the core's effects, so that messages produced by many
 * events leave together.
 *
 * <p>A task that throws {@link IllegalStateException} broke an internal invariant: the loop stops
 * and hands the reason to {@code onFatal}, because going on with corrupt state is worse than
 * stopping (a supervisor restarts the replica and recovery runs).
 */
final class EventLoop implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EventLoop.class);

  private final BlockingQueue<Runnable> queue;
  private final ConcurrentLinkedQueue<Runnable> internal = new ConcurrentLinkedQueue<>();
  private final Runnable afterBurst;
  private final Consumer<RuntimeException> onFatal;
  private final int burstMax;
  private final Thread thread;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong droppedBytes = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong bytesHigh = new AtomicLong();
  private final long bytesMax;
  private volatile boolean running = true;

  EventLoop(String name, int capacity, int burstMax, Runnable afterBurst, Consumer<RuntimeException> onFatal) {
    this(name, capacity, Long.MAX_VALUE, burstMax, afterBurst, onFatal);
  }

  EventLoop(String name, int capacity, long bytesMax, int burstMax, Runnable afterBurst,
      Consumer<RuntimeException> onFatal) {
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.bytesMax = bytesMax;
    this.burstMax = burstMax;
    this.afterBurst = afterBurst;
    this.onFatal = onFatal;
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** Queues outside input; returns false (and counts a drop) when the loop is saturated or stopped. */
  boolean submit(Runnable task) {
    if (!running || !queue.offer(task)) {
      dropped.incrementAndGet();
      return false;
    }
    return true;
  }

  /**
   * Queues outside input that holds a message of {@code size} bytes until it runs; returns false
   * (and counts a drop) when the queue is full by count or by bytes, or the loop stopped.
   */
  boolean submit(Runnable task, int size) {
    if (size <= 0) {
      return submit(task);
    }
    long now = bytes.addAndGet(size);
    if (now > bytesMax) {
      bytes.addAndGet(-size);
      droppedBytes.incrementAndGet();
      return false;
    }
    bytesHigh.accumulateAndGet(now, Math::max);
    if (!running || !queue.offer(new Sized(task, size))) {
      bytes.addAndGet(-size);
      dropped.incrementAndGet();
      return false;
    }
    return true;
  }

  /** A task holding {@code size} bytes of the queue's byte bound until it starts. */
  private record Sized(Runnable task, int size) implements Runnable {
    @Override
    public void run() {
      task.run();
    }
  }

  /** Queues one of the replica's own reports: never dropped while the loop runs. */
  void submitInternal(Runnable task) {
    if (!running) {
      return;
    }
    internal.add(task);
    // Wake the loop if it waits for outside input.
    queue.offer(NOTHING);
  }

  private static final Runnable NOTHING = () -> { };

  long dropped() {
    return dropped.get();
  }

  /** Tasks dropped because the queue held inboundQueueBytesMax bytes. */
  long droppedBytes() {
    return droppedBytes.get();
  }

  /** The most bytes ever queued at once (never above the bound). */
  long queuedBytesHigh() {
    return bytesHigh.get();
  }

  /** Outside input queued for the loop (the replica's own reports, never bounded, not counted). */
  int queued() {
    return queue.size();
  }

  /** Bytes of the messages queued for the loop. */
  long queuedBytes() {
    return bytes.get();
  }

  boolean running() {
    return running;
  }

  private void run() {
    while (running) {
      Runnable task;
      try {
        task = internal.isEmpty() ? queue.poll(100, TimeUnit.MILLISECONDS) : queue.poll();
      } catch (InterruptedException e) {
        break;
      }
      int ran = 0;
      Runnable own;
      while (running && (own = internal.poll()) != null) {
        runSafely(own);
        ran++;
      }
      while (running && task != null) {
        runSafely(task);
        if (++ran >= burstMax) {
          break;
        }
        task = queue.poll();
      }
      if (running && ran > 0) {
        runSafely(afterBurst);
      }
    }
  }

  private void runSafely(Runnable task) {
    if (task instanceof Sized sized) {
      bytes.addAndGet(-sized.size());
    }
    try {
      task.run();
    } catch (IllegalStateException e) {
      // A broken internal invariant: stop loudly rather than run on with corrupt state.
      log.error("internal invariant broken, stopping the replica: {}", e.getMessage(), e);
      running = false;
      onFatal.accept(e);
    } catch (RuntimeException e) {
      log.error("event loop task failed", e);
    }
  }

  @Override
  public void close() {
    running = false;
    if (Thread.currentThread() == thread) {
      return;
    }
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

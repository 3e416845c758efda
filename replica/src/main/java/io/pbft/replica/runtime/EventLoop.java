package io.pbft.replica.runtime;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that touches a replica's core. Tasks come in through a bounded queue; when it
 * is full the task is dropped and counted (a flood never blocks a network thread). After each
 * burst of at most {@code burstMax} tasks ({@code transport.eventLoopBurstMax}) the loop runs
 * {@code afterBurst}, which carries out the core's effects, so that messages produced by many
 * events leave together.
 */
final class EventLoop implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EventLoop.class);

  private final BlockingQueue<Runnable> queue;
  private final int burstMax;
  private final Runnable afterBurst;
  private final Thread thread;
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean running = true;

  EventLoop(String name, int capacity, int burstMax, Runnable afterBurst) {
    if (burstMax < 1) {
      throw new IllegalArgumentException("burstMax must be positive, got " + burstMax);
    }
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.burstMax = burstMax;
    this.afterBurst = afterBurst;
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** Queues a task; returns false (and counts a drop) when the loop is saturated or stopped. */
  boolean submit(Runnable task) {
    if (!running || !queue.offer(task)) {
      dropped.incrementAndGet();
      return false;
    }
    return true;
  }

  long dropped() {
    return dropped.get();
  }

  boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  private void run() {
    while (running) {
      Runnable task;
      try {
        task = queue.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (task == null) {
        continue;
      }
      int ran = 0;
      while (task != null) {
        runSafely(task);
        if (++ran >= burstMax) {
          break;
        }
        task = queue.poll();
      }
      runSafely(afterBurst);
    }
  }

  private void runSafely(Runnable task) {
    try {
      task.run();
    } catch (IllegalStateException e) {
      // A broken internal invariant: stop loudly rather than run on with corrupt state.
      log.error("internal invariant broken, stopping the replica's event loop", e);
      running = false;
      throw e;
    } catch (RuntimeException e) {
      log.error("event loop task failed", e);
    }
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

package io.pbft.replica.runtime;

import io.pbft.replica.core.Effects;
import io.pbft.replica.execution.Execution;
import io.pbft.replica.execution.ReadOnlyQueries;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread that runs the application, so that the event loop goes on with the protocol while a
 * batch executes or a checkpoint is taken. It takes the effects meant for the application in the
 * order the core produced them and reports each result back to the core through the event loop.
 * Its queue needs no bound of its own: the core hands out at most a window of batches.
 */
final class ExecutionThread implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ExecutionThread.class);

  private final Execution execution;
  private final Execution.Reports reports;
  private final ReadOnlyQueries reads;
  /** Where answers to read-only requests go (through the behaviour, to the clients' sessions). */
  private final Consumer<List<Effects.ClientReply>> readReplies;
  /** Read-only requests in the queue, not yet taken: bounded by {@link #readsQueuedMax}. */
  private final AtomicInteger readsQueued = new AtomicInteger();
  private final int readsQueuedMax;
  private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
  private final Thread thread;
  private final java.util.function.Consumer<RuntimeException> onFatal;
  private volatile boolean running = true;
  /** protocol.tentativeExecution: waiting reads are answered after each committed batch, not each burst. */
  private final boolean tentative;

  ExecutionThread(String name, Execution execution, Execution.Reports reports,
      java.util.function.Consumer<RuntimeException> onFatal) {
    this(name, execution, reports, onFatal, new ReadOnlyQueries(-1), replies -> { }, 0, false);
  }

  /**
   * With read-only requests answered by {@code reads} and sent to {@code readReplies}; at most
   * {@code readsQueuedMax} of them wait in the queue at once (more are refused, see {@link #read});
   * {@code tentative}: the core hands out tentative batches (protocol.tentativeExecution).
   */
  ExecutionThread(String name, Execution execution, Execution.Reports reports,
      java.util.function.Consumer<RuntimeException> onFatal, ReadOnlyQueries reads,
      Consumer<List<Effects.ClientReply>> readReplies, int readsQueuedMax, boolean tentative) {
    this.tentative = tentative;
    this.execution = execution;
    this.reports = reports;
    this.reads = reads;
    this.readReplies = readReplies;
    this.readsQueuedMax = readsQueuedMax;
    this.onFatal = onFatal;
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  void submit(Effects effects) {
    queue.add(() -> {
      execution.apply(effects, reads.releasingAfterEachCommit(reports, execution, tentative, readReplies));
      List<Effects.ClientReply> answered = reads.released(execution);
      if (!answered.isEmpty()) {
        readReplies.accept(answered);
      }
    });
  }

  /**
   * Queues a verified read-only request that found the core at read floor {@code floor} and view
   * {@code view}: answered after everything queued before it, once execution reached the floor.
   * False (nothing queued) when {@code readsQueuedMax} reads wait already: a client flooding reads
   * fills this bound, not the replica's memory, and the others' reads fall back to ordering.
   */
  boolean read(VerifiedRequest r, long floor, long view) {
    if (!running || readsQueued.incrementAndGet() > readsQueuedMax) {
      readsQueued.decrementAndGet();
      return false;
    }
    queue.add(() -> {
      readsQueued.decrementAndGet();
      List<Effects.ClientReply> answered = reads.submit(execution, r, floor, view);
      if (!answered.isEmpty()) {
        readReplies.accept(answered);
      }
    });
    return true;
  }

  /** Read-only requests in the queue now. */
  int readsQueued() {
    return readsQueued.get();
  }

  /** Tasks waiting: batches, installs and chunk reads the core handed out, and queries. */
  int queued() {
    return queue.size();
  }

  /** Runs {@code query} on the execution thread, after everything submitted before it. */
  <T> CompletableFuture<T> ask(Function<Execution, T> query) {
    CompletableFuture<T> result = new CompletableFuture<>();
    if (!running) {
      result.completeExceptionally(new IllegalStateException("execution stopped"));
      return result;
    }
    queue.add(() -> {
      try {
        result.complete(query.apply(execution));
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
      }
    });
    return result;
  }

  private void run() {
    while (running) {
      Runnable task;
      try {
        task = queue.take();
      } catch (InterruptedException e) {
        break;
      }
      try {
        task.run();
      } catch (RuntimeException e) {
        // The application failed or broke the executor's invariants: state can no longer be trusted.
        log.error("execution failed, stopping the replica: {}", e.toString(), e);
        running = false;
        onFatal.accept(e);
      }
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

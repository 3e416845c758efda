package io.pbft.replica.runtime;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
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
 *
 * <p>Verified client requests wait apart from everything else ({@link #submitRequest}), each
 * client in its own short queue (a newer request displaces its oldest), and the clients take turns
 * with one another and with the rest of the input. What one client sends can thus never stand
 * between the replica's core and its peers' PREPAREs and COMMITs: a client whose requests pass
 * the rate limit faster than the loop takes them queues behind itself, a few requests deep,
 * rather than in front of the protocol (before this, a flooding client could queue a megabyte
 * of requests ahead of the peers' messages on a busy machine, and the group stalled until the
 * primary was replaced).
 *
 * <p>With {@code inline} on ({@code transport.eventLoopInline}), a peer's message or a client's
 * request that arrives while nothing waits for the loop runs right away on the thread that
 * checked it (a network or verification thread), followed by {@code afterBurst}, so that a replica
 * that is not busy hands each protocol step one thread fewer. The core still runs on one thread at
 * a time: the loop thread holds {@link #core} for each burst, and an inline event takes it only if
 * it is free and nothing is queued. Once anything waits, events queue and take their turns as
 * above, so inline events never overtake queued ones by more than the moment it takes to notice.
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
  private final Requests requests;
  private final AtomicLong displaced = new AtomicLong();
  /**
   * Client requests waiting (as {@code requests} holds them): read without its lock by {@link
   * #queued}, which every network thread asks on every message (ReplicaServer.checkInline).
   */
  private final java.util.concurrent.atomic.AtomicInteger requestsWaiting =
      new java.util.concurrent.atomic.AtomicInteger();
  private volatile boolean running = true;
  /** Held by whichever thread runs the core: the loop thread for a burst, or an inline event. */
  private final java.util.concurrent.locks.ReentrantLock core = new java.util.concurrent.locks.ReentrantLock();
  private final boolean inline;
  private final AtomicLong ranInline = new AtomicLong();
  /** The loop is about to wait, or waits, for outside input (a client request then wakes it). */
  private volatile boolean waiting;

  EventLoop(String name, int capacity, int burstMax, Runnable afterBurst, Consumer<RuntimeException> onFatal) {
    this(name, capacity, Long.MAX_VALUE, burstMax, 4, false, afterBurst, onFatal);
  }

  /**
   * @param requestsPerClientMax verified requests one client may have waiting for the loop; a
   *     newer one displaces its oldest
   * @param inline whether peers' messages and clients' requests may run on the thread that submits
   *     them while the loop is idle
   */
  EventLoop(String name, int capacity, long bytesMax, int burstMax, int requestsPerClientMax, boolean inline,
      Runnable afterBurst, Consumer<RuntimeException> onFatal) {
    this.inline = inline;
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.requests = new Requests(requestsPerClientMax);
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
    if (runHere(task)) {
      return true;
    }
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

  /** What became of a client's request handed to {@link #submitRequest}. */
  enum Admission {
    QUEUED,
    /** Queued, and the same client's oldest waiting request dropped to make room. */
    DISPLACED,
    /** Refused: the loop holds inboundQueueBytesMax bytes, or it stopped. */
    FULL;

    boolean queued() {
      return this != FULL;
    }
  }

  /**
   * Queues client {@code clientId}'s verified request, holding {@code size} bytes: in that client's
   * own queue, which takes its turn with the other clients' and with the rest of the input. When
   * the client already has {@code requestsPerClientMax} waiting, its oldest is dropped (a client
   * sends ever newer requests; only a flooding one gets this far ahead of the loop).
   */
  Admission submitRequest(int clientId, Runnable task, int size) {
    if (!running) {
      return Admission.FULL;
    }
    if (runHere(task)) {
      return Admission.QUEUED;
    }
    long now = bytes.addAndGet(size);
    if (now > bytesMax) {
      bytes.addAndGet(-size);
      droppedBytes.incrementAndGet();
      return Admission.FULL;
    }
    bytesHigh.accumulateAndGet(now, Math::max);
    Sized old;
    synchronized (requests) {
      old = requests.add(clientId, new Sized(task, size));
    }
    if (old == null) {
      requestsWaiting.incrementAndGet(); // after the add: a loop that sees the count finds the request
    }
    if (old != null) {
      bytes.addAndGet(-old.size());
      displaced.incrementAndGet();
    }
    if (waiting) {
      // The loop sets this before it looks for requests, and waits only if it found none: either
      // it sees this one or this sees it waiting.
      queue.offer(NOTHING);
    }
    return old == null ? Admission.QUEUED : Admission.DISPLACED;
  }

  /**
   * Runs {@code task} and then {@code afterBurst} on the calling thread, if inline events are on,
   * the loop thread waits for input, nothing waits for the loop and no other thread runs the core;
   * returns whether it did.
   */
  private boolean runHere(Runnable task) {
    // `waiting` first: one volatile read turns every event away while the loop thread works
    // through a burst (under load, always), before any queue is asked for its size.
    if (!inline || !waiting || !running || core.isHeldByCurrentThread() // never inside the core (its effects may submit)
        || !queue.isEmpty() || requestsWaiting.get() != 0 || !internal.isEmpty() || !core.tryLock()) {
      return false;
    }
    try {
      if (!running) {
        return false;
      }
      ranInline.incrementAndGet();
      runSafely(task);
      if (running) {
        runSafely(afterBurst);
      }
      return true;
    } finally {
      core.unlock();
    }
  }

  /** Events run on the thread that submitted them ({@link #runHere}). */
  long ranInline() {
    return ranInline.get();
  }

  /** Requests dropped for a newer one of the same client while they waited for the loop. */
  long displaced() {
    return displaced.get();
  }

  /** Client requests waiting for the loop, in per-client queues served in turn. */
  private static final class Requests {
    private final int perClientMax;
    private final Map<Integer, ArrayDeque<Sized>> queues = new HashMap<>();
    private final ArrayDeque<Integer> order = new ArrayDeque<>();

    Requests(int perClientMax) {
      this.perClientMax = Math.max(1, perClientMax);
    }

    /** Adds a request at the back of its client's queue; returns the one it displaced, if any. */
    Sized add(int clientId, Sized task) {
      ArrayDeque<Sized> q = queues.get(clientId);
      if (q == null) {
        q = new ArrayDeque<>();
        queues.put(clientId, q);
        order.addLast(clientId);
      }
      q.addLast(task);
      if (q.size() > perClientMax) {
        return q.pollFirst();
      }
      return null;
    }

    /** The next client's oldest request (that client goes to the back of the line), or null. */
    Sized next() {
      Integer client = order.pollFirst();
      if (client == null) {
        return null;
      }
      ArrayDeque<Sized> q = queues.get(client);
      Sized t = q.pollFirst();
      if (q.isEmpty()) {
        queues.remove(client);
      } else {
        order.addLast(client);
      }
      return t;
    }
  }

  private Sized nextRequest() {
    if (requestsWaiting.get() == 0) {
      return null; // the common case under load from peers: no lock taken
    }
    Sized next;
    synchronized (requests) {
      next = requests.next();
    }
    if (next != null) {
      requestsWaiting.decrementAndGet();
    }
    return next;
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

  /** Outside input queued for the loop, client requests included (the replica's own reports, never bounded, not counted). */
  int queued() {
    return queue.size() + requestsWaiting.get();
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
        waiting = true;
        task = internal.isEmpty() && requestsWaiting.get() == 0 ? queue.poll(100, TimeUnit.MILLISECONDS) : queue.poll();
        waiting = false;
        core.lockInterruptibly(); // an inline event may be running
      } catch (InterruptedException e) {
        break;
      }
      try {
        burst(task);
      } finally {
        core.unlock();
      }
    }
  }

  /** Runs the replica's own reports, then outside input and clients' requests in turn, then afterBurst. */
  private void burst(Runnable first) {
    Runnable task = first;
    int ran = 0;
    Runnable own;
    while (running && (own = internal.poll()) != null) {
      runSafely(own);
      ran++;
    }
    // The rest of the input and the clients' requests in turn, one of each, so that neither
    // waits behind the other.
    while (running) {
      if (task != null) {
        runSafely(task);
        ran++;
      }
      Sized request = ran < burstMax ? nextRequest() : null;
      if (request != null) {
        runSafely(request);
        ran++;
      }
      if (ran >= burstMax || (task == null && request == null)) {
        break;
      }
      task = queue.poll();
    }
    if (running && ran > 0) {
      runSafely(afterBurst);
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

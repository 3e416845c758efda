package io.pbft.replica.runtime;

import io.pbft.proto.SignedRequest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadFactory;
import java.util.function.Consumer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The signature verification pool: a fixed number of threads serving queued messages, bounded in
 * messages ({@code transport.inboundQueueMax}) and in their bytes ({@code
 * transport.inboundQueueBytesMax}). A task that does not fit is refused and counted; a network
 * thread never waits.
 *
 * <p>The queue is fair rather than first-come first-served, so that what one source sends cannot
 * hold back the others (as in Aardvark): messages wait in one of two lanes, peers and clients,
 * which the threads serve in turn while both hold work; within a lane, sources (a peer, a client,
 * the handshakes) take turns, each in its own arrival order. A client may have at most {@code
 * clientRequestsVerifyingMax} requests waiting (a newer one displaces its oldest); a peer at most
 * an n-th of the queue. A client sending thousands of requests a second therefore delays its own
 * requests, and leaves the replicas' PREPAREs, COMMITs and VIEW-CHANGEs, and every other client,
 * a wait of a few messages.
 */
final class InboundPool {
  /** What became of a submitted task. */
  enum Admission {
    QUEUED,
    /** Queued, in place of the same client's oldest waiting request, which is dropped. */
    DISPLACED,
    /** Refused: the pool, or the source's share of it, holds as many messages as it may. */
    FULL,
    /** Refused: the pool holds as many bytes as it may. */
    BYTES_FULL;

    boolean queued() {
      return this == QUEUED || this == DISPLACED;
    }
  }

  private enum Lane { PEERS, CLIENTS }

  /** {@code signed}: a client request whose signature may be checked together with others, or null. */
  private record Task(Runnable work, int size, SignedRequest signed) {
    Task(Runnable work, int size) {
      this(work, size, null);
    }
  }

  /** Sources of one lane: each with its queue, and the order in which those with work take turns. */
  private static final class Turns {
    final Map<Object, ArrayDeque<Task>> queues = new HashMap<>();
    final ArrayDeque<Object> order = new ArrayDeque<>();

    boolean isEmpty() {
      return order.isEmpty();
    }

    Task peek() {
      return queues.get(order.peekFirst()).peekFirst();
    }

    Task next() {
      Object source = order.pollFirst();
      ArrayDeque<Task> q = queues.get(source);
      Task t = q.pollFirst();
      if (q.isEmpty()) {
        queues.remove(source);
      } else {
        order.addLast(source);
      }
      return t;
    }
  }

  private static final Object HANDSHAKES = "handshakes";
  private static final Object UNVERIFIED_PEERS = "unverified peers";

  private final int countMax;
  private final long bytesMax;
  private final int peerShareMax;
  private final int clientShareMax;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition work = lock.newCondition();
  private final Turns peers = new Turns();
  private final Turns clients = new Turns();
  private final List<Thread> threads = new ArrayList<>();
  private Lane lastServed = Lane.CLIENTS;
  private int count;
  private volatile boolean shutdown;
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong bytesHigh = new AtomicLong();
  private final AtomicLong droppedFull = new AtomicLong();
  private final AtomicLong droppedBytes = new AtomicLong();
  private final AtomicLong displaced = new AtomicLong();
  /** Checks several requests' signatures at once before their tasks run; null: never. */
  private final Consumer<List<SignedRequest>> together;
  private final int togetherMin;
  private final int togetherMax;

  /**
   * @param peerCount the number of replicas: a peer's share is an n-th of {@code countMax}
   * @param clientShareMax requests one client may have waiting
   */
  InboundPool(int threads, int countMax, long bytesMax, int peerCount, int clientShareMax,
      ThreadFactory threadFactory) {
    this(threads, countMax, bytesMax, peerCount, clientShareMax, threadFactory, null, Integer.MAX_VALUE, 0);
  }

  /**
   * As above; when a thread takes a signed client request and at least {@code togetherMin} wait
   * in the clients' lane, it takes up to {@code togetherMax} of them in their fair order and
   * passes them to {@code together} (which checks their signatures in one batch) before running
   * each: under load, requests are verified in batches at a fraction of the cost, and a lone
   * request is never held back for others.
   */
  InboundPool(int threads, int countMax, long bytesMax, int peerCount, int clientShareMax,
      ThreadFactory threadFactory, Consumer<List<SignedRequest>> together, int togetherMin, int togetherMax) {
    this.together = together;
    this.togetherMin = togetherMin;
    this.togetherMax = togetherMax;
    this.countMax = countMax;
    this.bytesMax = bytesMax;
    this.peerShareMax = Math.max(1, countMax / Math.max(1, peerCount));
    this.clientShareMax = clientShareMax;
    for (int i = 0; i < threads; i++) {
      Thread t = threadFactory.newThread(this::serve);
      this.threads.add(t);
      t.start();
    }
  }

  /**
   * Whether nothing waits in the pool. A message whose check costs only an HMAC may then be checked
   * on the network thread that read it, saving the hand-off to a pool thread (one of the four
   * threads each message crosses; PERFORMANCE.md). As soon as anything waits, messages take their
   * turn here again, so under load every source keeps its fair share.
   */
  boolean idle() {
    lock.lock();
    try {
      return count == 0;
    } finally {
      lock.unlock();
    }
  }

  /** A message on the stream of peer {@code sender}, or of an unverified stream if negative. */
  Admission submitPeer(int sender, Runnable task, int size) {
    return submit(peers, sender >= 0 ? sender : UNVERIFIED_PEERS, new Task(task, size), peerShareMax, false);
  }

  /** A request on client {@code clientId}'s session. */
  Admission submitClientRequest(int clientId, Runnable task, int size) {
    return submitClientRequest(clientId, task, size, null);
  }

  /** As above, {@code signed} the request whose signature {@code task} will check (null: none). */
  Admission submitClientRequest(int clientId, Runnable task, int size, SignedRequest signed) {
    return submit(clients, clientId, new Task(task, size, signed), clientShareMax, true);
  }

  /** A client's signed handshake (its client id is not yet proven, so all take one turn). */
  Admission submitHandshake(Runnable task, int size) {
    return submit(clients, HANDSHAKES, new Task(task, size), countMax, false);
  }

  private Admission submit(Turns lane, Object source, Task task, int shareMax, boolean displace) {
    if (shutdown) {
      return Admission.FULL;
    }
    lock.lock();
    try {
      ArrayDeque<Task> q = lane.queues.get(source);
      int waiting = q == null ? 0 : q.size();
      boolean displacing = displace && waiting >= shareMax;
      if (!displacing && (waiting >= shareMax || count >= countMax)) {
        droppedFull.incrementAndGet();
        return Admission.FULL;
      }
      long freed = displacing ? q.peekFirst().size() : 0;
      long now = bytes.get() - freed + task.size();
      if (now > bytesMax) {
        droppedBytes.incrementAndGet();
        return Admission.BYTES_FULL;
      }
      if (displacing) {
        q.pollFirst();
        count--;
        displaced.incrementAndGet();
      }
      if (q == null) {
        q = new ArrayDeque<>();
        lane.queues.put(source, q);
      }
      if (q.isEmpty() && !displacing) {
        lane.order.addLast(source); // a displacing source keeps its place in line
      }
      q.addLast(task);
      count++;
      bytes.set(now);
      bytesHigh.accumulateAndGet(now, Math::max);
      work.signal();
      return displacing ? Admission.DISPLACED : Admission.QUEUED;
    } finally {
      lock.unlock();
    }
  }

  /** Tasks to run: one, or several signed client requests to check together first. */
  private List<Task> take() throws InterruptedException {
    lock.lock();
    try {
      while (peers.isEmpty() && clients.isEmpty()) {
        work.await();
      }
      Lane lane;
      if (peers.isEmpty()) {
        lane = Lane.CLIENTS;
      } else if (clients.isEmpty()) {
        lane = Lane.PEERS;
      } else {
        lane = lastServed == Lane.PEERS ? Lane.CLIENTS : Lane.PEERS;
      }
      lastServed = lane;
      Task t = (lane == Lane.PEERS ? peers : clients).next();
      count--;
      bytes.addAndGet(-t.size());
      if (t.signed() == null || together == null || count + 1 < togetherMin) {
        return List.of(t);
      }
      List<Task> run = new ArrayList<>(togetherMax);
      run.add(t);
      while (run.size() < togetherMax && !clients.isEmpty() && clients.peek().signed() != null) {
        Task next = clients.next();
        count--;
        bytes.addAndGet(-next.size());
        run.add(next);
      }
      return run;
    } finally {
      lock.unlock();
    }
  }

  private void serve() {
    while (!shutdown) {
      List<Task> tasks;
      try {
        tasks = take();
      } catch (InterruptedException e) {
        return;
      }
      if (tasks.size() >= togetherMin) {
        List<SignedRequest> signed = new ArrayList<>(tasks.size());
        for (Task t : tasks) {
          signed.add(t.signed());
        }
        run(() -> together.accept(signed));
        batches.incrementAndGet();
        batched.addAndGet(tasks.size());
      }
      for (Task t : tasks) {
        run(t.work());
      }
    }
  }

  private static void run(Runnable work) {
    try {
      work.run();
    } catch (RuntimeException e) {
      Thread.UncaughtExceptionHandler h = Thread.currentThread().getUncaughtExceptionHandler();
      if (h != null) {
        h.uncaughtException(Thread.currentThread(), e); // reported, and the thread serves on
      }
    }
  }

  private final AtomicLong batches = new AtomicLong();
  private final AtomicLong batched = new AtomicLong();

  /** Groups of client requests taken together for their signatures to be checked at once. */
  long togetherBatches() {
    return batches.get();
  }

  /** Requests taken in those groups. */
  long togetherRequests() {
    return batched.get();
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
    lock.lock();
    try {
      return count;
    } finally {
      lock.unlock();
    }
  }

  /** Tasks refused because the queue, or their source's share of it, was full. */
  long droppedFull() {
    return droppedFull.get();
  }

  /** Tasks refused because the queue held inboundQueueBytesMax bytes. */
  long droppedBytes() {
    return droppedBytes.get();
  }

  /** Client requests dropped for a newer request of the same client. */
  long displaced() {
    return displaced.get();
  }

  void shutdownNow() {
    shutdown = true;
    threads.forEach(Thread::interrupt);
  }
}

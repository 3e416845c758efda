package io.pbft.replica.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The event loop's input: clients' verified requests wait in per-client queues that take turns
 * with the peers' messages, so that a client ahead of the loop delays only itself; and an event
 * that finds the loop idle runs on the thread that submits it, never beside another.
 */
class EventLoopTest {
  private final List<String> ran = Collections.synchronizedList(new ArrayList<>());
  private final CountDownLatch release = new CountDownLatch(1);

  private EventLoop startBlocked(int perClientMax, long bytesMax) throws InterruptedException {
    // Inline events on, as replicas run by default: a busy loop must still queue them in turn.
    EventLoop loop = new EventLoop("test-loop", 10_000, bytesMax, 64, perClientMax, true, () -> { }, e -> { });
    loop.start();
    CountDownLatch blocked = new CountDownLatch(1);
    loop.submit(() -> {
      blocked.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assertTrue(blocked.await(5, TimeUnit.SECONDS));
    return loop;
  }

  private void awaitRan(int count) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (ran.size() < count && System.nanoTime() < until) {
      Thread.sleep(5);
    }
    Thread.sleep(50); // nothing more should come
  }

  @Test
  void aClientAheadOfTheLoopKeepsOnlyItsNewestRequestsAndNeverQueuesBeforeThePeers() throws Exception {
    try (EventLoop loop = startBlocked(4, Long.MAX_VALUE)) {
      int displaced = 0;
      for (int i = 0; i < 1000; i++) {
        int n = i;
        EventLoop.Admission a = loop.submitRequest(7, () -> ran.add("flood " + n), 300);
        assertTrue(a.queued());
        displaced += a == EventLoop.Admission.DISPLACED ? 1 : 0;
      }
      loop.submit(() -> ran.add("prepare"), 100);
      loop.submitRequest(3, () -> ran.add("client 3"), 200);
      assertEquals(996, displaced);
      assertEquals(996, loop.displaced());
      assertEquals(4 * 300 + 100 + 200, loop.queuedBytes());
      release.countDown();
      awaitRan(6);
      // the peer's message waits for one client request at most, not for the thousand
      assertTrue(ran.indexOf("prepare") <= 1, ran.toString());
      // the flooder's four newest, and the other client in its turn right after the flooder's first
      assertEquals(List.of("flood 996", "client 3", "flood 997", "flood 998", "flood 999"),
          ran.stream().filter(s -> !s.equals("prepare")).toList());
      assertEquals(0, loop.queuedBytes());
      assertEquals(0, loop.queued());
    }
  }

  @Test
  void clientsTakeTurnsAndEachKeepsItsArrivalOrder() throws Exception {
    try (EventLoop loop = startBlocked(8, Long.MAX_VALUE)) {
      for (int i = 0; i < 3; i++) {
        int n = i;
        loop.submitRequest(1, () -> ran.add("a" + n), 10);
      }
      for (int i = 0; i < 3; i++) {
        int n = i;
        loop.submitRequest(2, () -> ran.add("b" + n), 10);
      }
      assertEquals(6, loop.queued());
      release.countDown();
      awaitRan(6);
      assertEquals(List.of("a0", "b0", "a1", "b1", "a2", "b2"), ran);
      assertEquals(0, loop.displaced());
    }
  }

  @Test
  void requestsCountAgainstTheLoopsByteBound() throws Exception {
    try (EventLoop loop = startBlocked(8, 1000)) {
      assertEquals(EventLoop.Admission.QUEUED, loop.submitRequest(1, () -> ran.add("first"), 600));
      assertEquals(EventLoop.Admission.FULL, loop.submitRequest(2, () -> ran.add("too big"), 600));
      assertEquals(1, loop.droppedBytes());
      assertTrue(!loop.submit(() -> ran.add("peer too big"), 600));
      release.countDown();
      awaitRan(1);
      assertEquals(List.of("first"), ran);
      assertEquals(0, loop.queuedBytes());
    }
  }

  @Test
  void anEventThatFindsTheLoopIdleRunsOnTheSubmittingThreadFollowedByAfterBurst() throws Exception {
    List<String> threads = Collections.synchronizedList(new ArrayList<>());
    try (EventLoop loop = new EventLoop("test-loop", 100, 1 << 20, 64, 4, true,
        () -> ran.add("after burst"), e -> { })) {
      loop.start();
      Thread.sleep(50); // the loop thread waits for input
      assertTrue(loop.submit(() -> {
        ran.add("prepare");
        threads.add(Thread.currentThread().getName());
      }, 100));
      assertEquals(EventLoop.Admission.QUEUED, loop.submitRequest(4, () -> {
        ran.add("request");
        threads.add(Thread.currentThread().getName());
      }, 100));
      // both ran before submit returned, each followed by what carries out the effects
      assertEquals(List.of("prepare", "after burst", "request", "after burst"), ran);
      assertEquals(List.of(Thread.currentThread().getName(), Thread.currentThread().getName()), threads);
      assertEquals(2, loop.ranInline());
      assertEquals(0, loop.queuedBytes());
    }
  }

  @Test
  void withInlineEventsOffEverythingRunsOnTheLoopThread() throws Exception {
    List<String> threads = Collections.synchronizedList(new ArrayList<>());
    try (EventLoop loop = new EventLoop("test-loop", 100, 1 << 20, 64, 4, false, () -> { }, e -> { })) {
      loop.start();
      Thread.sleep(50);
      loop.submit(() -> threads.add(Thread.currentThread().getName()), 100);
      loop.submitRequest(4, () -> threads.add(Thread.currentThread().getName()), 100);
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (threads.size() < 2 && System.nanoTime() < until) {
        Thread.sleep(5);
      }
      assertEquals(List.of("test-loop", "test-loop"), threads);
      assertEquals(0, loop.ranInline());
    }
  }

  @Test
  void aBusyLoopQueuesEventsInsteadOfRunningThemBesideIt() throws Exception {
    try (EventLoop loop = startBlocked(4, Long.MAX_VALUE)) {
      loop.submit(() -> ran.add("prepare"), 100);
      loop.submitRequest(1, () -> ran.add("request"), 100);
      assertEquals(List.of(), ran); // neither ran here while the loop thread holds the core
      assertEquals(2, loop.queued());
      release.countDown();
      awaitRan(2);
      assertEquals(List.of("prepare", "request"), ran.stream().sorted().toList()); // on the loop thread, in turn
      assertEquals(0, loop.ranInline());
    }
  }

  @Test
  void anEventSubmittedWhileTheCoreRunsIsNeverRunInsideIt() throws Exception {
    try (EventLoop loop = new EventLoop("test-loop", 100, 1 << 20, 64, 4, true, () -> { }, e -> { })) {
      loop.start();
      Thread.sleep(50);
      // as when carrying out effects hands the replica a message of its own
      loop.submit(() -> {
        ran.add("outer begins");
        loop.submit(() -> ran.add("inner"), 10);
        ran.add("outer ends");
      }, 10);
      awaitRan(3);
      assertEquals(List.of("outer begins", "outer ends", "inner"), ran);
    }
  }

  @Test
  void manyThreadsSubmittingNeverRunTheCoreTwiceAtOnceAndNothingIsLost() throws Exception {
    java.util.concurrent.atomic.AtomicInteger inside = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger overlaps = new java.util.concurrent.atomic.AtomicInteger();
    long[] counts = new long[2]; // events, bursts: touched only by whoever holds the core, as the core's state is
    java.util.function.IntFunction<Runnable> counting = k -> () -> {
      if (inside.incrementAndGet() != 1) {
        overlaps.incrementAndGet();
      }
      counts[k]++;
      inside.decrementAndGet();
    };
    Runnable event = counting.apply(0);
    int threads = 4;
    int each = 20_000;
    try (EventLoop loop = new EventLoop("test-loop", 1 << 20, Long.MAX_VALUE, 64, 1 << 20, true, counting.apply(1),
        e -> { })) {
      loop.start();
      List<Thread> submitters = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int client = t;
        Thread th = new Thread(() -> {
          for (int i = 0; i < each; i++) {
            if (i % 2 == 0) {
              assertTrue(loop.submit(event, 1));
            } else {
              assertTrue(loop.submitRequest(client, event, 1).queued());
            }
          }
        });
        submitters.add(th);
        th.start();
      }
      for (Thread th : submitters) {
        th.join();
      }
      CountDownLatch done = new CountDownLatch(1);
      loop.submit(done::countDown);
      assertTrue(done.await(10, TimeUnit.SECONDS));
      assertEquals(0, overlaps.get());
      assertEquals(0, loop.displaced());
      assertEquals((long) threads * each, counts[0]); // every event ran exactly once
      assertTrue(loop.ranInline() > 0, "no event ran inline");
      assertTrue(counts[1] >= loop.ranInline(), counts[1] + " bursts, " + loop.ranInline() + " inline");
      assertEquals(0, loop.queuedBytes());
    }
  }
}

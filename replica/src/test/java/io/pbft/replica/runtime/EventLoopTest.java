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
 * with the peers' messages, so that a client ahead of the loop delays only itself.
 */
class EventLoopTest {
  private final List<String> ran = Collections.synchronizedList(new ArrayList<>());
  private final CountDownLatch release = new CountDownLatch(1);

  private EventLoop startBlocked(int perClientMax, long bytesMax) throws InterruptedException {
    EventLoop loop = new EventLoop("test-loop", 10_000, bytesMax, 64, perClientMax, () -> { }, e -> { });
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
}

package io.pbft.replica.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.runtime.InboundPool.Admission;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class InboundPoolTest {
  private final List<String> ran = Collections.synchronizedList(new ArrayList<>());
  private final CountDownLatch gate = new CountDownLatch(1);
  private InboundPool pool;

  /** One thread, held by a first task until {@link #release} so that everything else queues. */
  private InboundPool pool(int countMax, long bytesMax, int clientShare) throws InterruptedException {
    return start(new InboundPool(1, countMax, bytesMax, 4, clientShare, ReplicaServer.daemon("test-verify")));
  }

  private InboundPool start(InboundPool created) throws InterruptedException {
    pool = created;
    CountDownLatch started = new CountDownLatch(1);
    assertEquals(Admission.QUEUED, pool.submitPeer(0, () -> {
      started.countDown();
      await(gate);
    }, 1));
    assertTrue(started.await(5, TimeUnit.SECONDS));
    return pool;
  }

  private Runnable record(String name) {
    return () -> ran.add(name);
  }

  private List<String> release(int expected) throws InterruptedException {
    gate.countDown();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (ran.size() < expected && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    Thread.sleep(20); // anything beyond what was expected would show here
    return new ArrayList<>(ran);
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @AfterEach
  void stop() {
    gate.countDown();
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  @Test
  void aFloodingClientKeepsOnlyItsNewestRequestsAndDelaysNeitherPeersNorOtherClients() throws Exception {
    pool(10_000, 1 << 30, 4);
    int displaced = 0;
    for (int i = 0; i < 1000; i++) {
      Admission a = pool.submitClientRequest(20, record("flood-" + i), 100);
      assertTrue(a.queued());
      displaced += a == Admission.DISPLACED ? 1 : 0;
    }
    assertEquals(996, displaced);
    assertEquals(996, pool.displaced());
    pool.submitClientRequest(3, record("client-3"), 100);
    pool.submitPeer(1, record("prepare-from-1"), 100);
    pool.submitPeer(2, record("commit-from-2"), 100);
    List<String> order = release(7);
    assertEquals(List.of("flood-996", "prepare-from-1", "client-3", "commit-from-2", "flood-997", "flood-998",
        "flood-999"), order, "lanes alternate, sources take turns, and only the flood's newest four are left");
  }

  private static SignedRequest signed(String name) {
    return SignedRequest.newBuilder().setSignature(ByteString.copyFromUtf8(name)).build();
  }

  @Test
  void signedRequestsWaitingTogetherHaveTheirSignaturesCheckedAsOneBatchInTheirFairOrder() throws Exception {
    List<List<String>> batches = Collections.synchronizedList(new ArrayList<>());
    start(new InboundPool(1, 10_000, 1 << 30, 4, 4, ReplicaServer.daemon("test-verify"), requests -> {
      List<String> names = new ArrayList<>();
      requests.forEach(r -> names.add(r.getSignature().toStringUtf8()));
      batches.add(names);
      ran.add("batch");
    }, 3, 4));
    for (int c = 1; c <= 5; c++) {
      pool.submitClientRequest(c, record("c" + c), 10, signed("c" + c));
    }
    pool.submitClientRequest(9, record("unsigned"), 10);
    pool.submitPeer(1, record("prepare"), 10);
    List<String> order = release(8);
    // The held task was a peer's: clients go next, at most four signed requests in their turns,
    // then the peer; c5 then has fewer than three signed requests with it and is checked alone.
    assertEquals(List.of("batch", "c1", "c2", "c3", "c4", "prepare", "c5", "unsigned"), order);
    assertEquals(List.of(List.of("c1", "c2", "c3", "c4")), batches);
    assertEquals(1, pool.togetherBatches());
    assertEquals(4, pool.togetherRequests());
  }

  @Test
  void aLoneSignedRequestIsNeverHeldBackForOthers() throws Exception {
    List<Integer> sizes = Collections.synchronizedList(new ArrayList<>());
    start(new InboundPool(1, 10_000, 1 << 30, 4, 4, ReplicaServer.daemon("test-verify"),
        requests -> sizes.add(requests.size()), 3, 32));
    pool.submitClientRequest(1, record("only"), 10, signed("only"));
    assertEquals(List.of("only"), release(1));
    assertEquals(List.of(), sizes);
  }

  @Test
  void clientsTakeTurnsWhateverTheOrderTheyArrivedIn() throws Exception {
    pool(10_000, 1 << 30, 4);
    for (int i = 0; i < 3; i++) {
      pool.submitClientRequest(1, record("a" + i), 10);
    }
    for (int i = 0; i < 3; i++) {
      pool.submitClientRequest(2, record("b" + i), 10);
    }
    pool.submitHandshake(record("open"), 10);
    assertEquals(List.of("a0", "b0", "open", "a1", "b1", "a2", "b2"), release(7));
  }

  @Test
  void aPeerMayFillOnlyItsShareOfTheQueue() throws Exception {
    pool(40, 1 << 30, 4); // n = 4: a peer's share is 10 messages
    for (int i = 0; i < 10; i++) {
      assertEquals(Admission.QUEUED, pool.submitPeer(3, record("p3-" + i), 10));
    }
    assertEquals(Admission.FULL, pool.submitPeer(3, record("p3-over"), 10));
    assertEquals(Admission.QUEUED, pool.submitPeer(1, record("p1"), 10));
    assertEquals(Admission.QUEUED, pool.submitPeer(-1, record("unverified"), 10));
    assertEquals(1, pool.droppedFull());
    List<String> order = release(12);
    assertEquals(12, order.size());
    assertTrue(!order.contains("p3-over"));
    assertEquals(List.of("p3-0", "p1", "unverified", "p3-1"), order.subList(0, 4));
  }

  @Test
  void theQueueIsBoundedInMessagesAndBytes() throws Exception {
    pool(3, 1000, 4);
    assertEquals(Admission.QUEUED, pool.submitClientRequest(1, record("one"), 400));
    assertEquals(Admission.BYTES_FULL, pool.submitClientRequest(2, record("too big"), 700));
    assertEquals(Admission.QUEUED, pool.submitClientRequest(2, record("two"), 500));
    assertEquals(Admission.QUEUED, pool.submitClientRequest(3, record("three"), 10));
    assertEquals(Admission.FULL, pool.submitClientRequest(4, record("four"), 10));
    assertEquals(910, pool.queuedBytes());
    assertEquals(List.of("one", "two", "three"), release(3));
    assertEquals(0, pool.queuedBytes());
    assertEquals(1, pool.droppedBytes());
    assertEquals(1, pool.droppedFull());
  }

  @Test
  void aDisplacingRequestIsChargedOnlyWhatItAdds() throws Exception {
    pool(100, 1000, 1);
    assertEquals(Admission.QUEUED, pool.submitClientRequest(1, record("old"), 600));
    assertEquals(Admission.DISPLACED, pool.submitClientRequest(1, record("new"), 700));
    assertEquals(700, pool.queuedBytes());
    assertEquals(List.of("new"), release(1));
  }

  /**
   * With a share of one request, each newer request empties its client's queue before taking its
   * place: the client must keep one place in line, or the pool thread that finds its second,
   * empty place dies (it did) and nothing is verified any more.
   */
  @Test
  void aClientDisplacingItsOnlyRequestKeepsOnePlaceInLine() throws Exception {
    pool(100, 1 << 20, 1);
    for (int i = 0; i < 5; i++) {
      pool.submitClientRequest(1, record("client 1 #" + i), 10);
    }
    pool.submitClientRequest(2, record("client 2"), 10);
    assertEquals(List.of("client 1 #4", "client 2"), release(2));
    CountDownLatch later = new CountDownLatch(1);
    pool.submitPeer(1, later::countDown, 10);
    assertTrue(later.await(5, TimeUnit.SECONDS), "the pool's thread died");
  }
}

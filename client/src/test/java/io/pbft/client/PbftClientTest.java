package io.pbft.client;

import static io.pbft.client.FakeCluster.Behavior.BAD_MAC;
import static io.pbft.client.FakeCluster.Behavior.HONEST;
import static io.pbft.client.FakeCluster.Behavior.LYING;
import static io.pbft.client.FakeCluster.Behavior.SILENT;
import static io.pbft.client.FakeCluster.Behavior.WRONG_REPLICA_ID;
import static io.pbft.client.FakeCluster.Behavior.WRONG_TIMESTAMP;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PbftClientTest {
  /** Upper bound for anything expected to finish: only there so that a bug cannot hang the build. */
  private static final long HANG_GUARD_SECONDS = 30;

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeEverything() throws Exception {
    // Clients first, then shared channels, then servers: reverse order of creation.
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private <T extends AutoCloseable> T closing(T resource) {
    toClose.add(resource);
    return resource;
  }

  private FakeCluster echoCluster(int clients) throws Exception {
    return closing(FakeCluster.echo(4, clients));
  }

  private PbftClient client(FakeCluster cluster, int id, Duration requestTimeout, Duration operationTimeout) {
    return closing(cluster.client(id).requestTimeout(requestTimeout).operationTimeout(operationTimeout).build());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }

  private static String string(byte[] b) {
    return new String(b, UTF_8);
  }

  /**
   * Runs operations until one succeeds, so that sessions are up before a test makes replicas
   * misbehave: then a short operation timeout can only end in "no agreement", never in "no
   * session yet", however slow the machine. Retries are bounded by the hang guard.
   */
  private static void warmUp(PbftClient client) throws Exception {
    long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
    while (true) {
      try {
        client.invoke(bytes("warm-up")).get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
        return;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof PbftTimeoutException || e.getCause() instanceof PbftUnavailableException)
            || System.nanoTime() - giveUp > 0) {
          throw e;
        }
      }
    }
  }

  private static Throwable failureOf(CompletableFuture<byte[]> future) throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> future.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS));
    return e.getCause();
  }

  @Test
  void honestClusterReturnsTheAgreedResult() throws Exception {
    FakeCluster cluster = echoCluster(1);
    PbftClient client = client(cluster, 0, Duration.ofMillis(200), Duration.ofSeconds(20));

    assertEquals("echo:hello", string(client.invokeBlocking(bytes("hello"))));
    assertEquals(1, cluster.executedCount());
  }

  @Test
  void oneReplyIsNotEnoughButFPlusOneMatchingRepliesAre() throws Exception {
    FakeCluster cluster = echoCluster(1);
    PbftClient client = client(cluster, 0, Duration.ofMillis(50), Duration.ofMillis(800));
    warmUp(client);
    cluster.behave(1, SILENT);
    cluster.behave(2, SILENT);
    cluster.behave(3, SILENT);

    Throwable failure = failureOf(client.invoke(bytes("a")));
    assertInstanceOf(PbftTimeoutException.class, failure);
    assertTrue(failure.getMessage().startsWith("no reply from f+1 = 2 replicas within 800 ms; reachable replicas: ["),
        failure.getMessage());
    assertTrue(cluster.replica(0).repliesSent.get() > 1, "replica 0 did answer, alone");

    cluster.behave(1, HONEST);
    assertEquals("echo:b", string(client.invoke(bytes("b")).get(HANG_GUARD_SECONDS, TimeUnit.SECONDS)));
  }

  @Test
  void aLyingPrimaryDoesNotChangeTheOutcome() throws Exception {
    FakeCluster cluster = echoCluster(1);
    cluster.behave(0, LYING);
    PbftClient client = client(cluster, 0, Duration.ofMillis(200), Duration.ofSeconds(20));

    for (int i = 0; i < 5; i++) {
      assertEquals("echo:op" + i, string(client.invokeBlocking(bytes("op" + i))));
    }
    assertTrue(cluster.replica(0).repliesSent.get() > 0, "the liar did reply");
  }

  @Test
  void aLieNeverWinsAloneEvenWhenOnlyOneHonestReplicaAnswers() throws Exception {
    FakeCluster cluster = echoCluster(1);
    PbftClient client = client(cluster, 0, Duration.ofMillis(50), Duration.ofMillis(600));
    warmUp(client);
    cluster.behave(1, LYING);
    cluster.behave(2, SILENT);
    cluster.behave(3, SILENT);

    int liesBefore = cluster.replica(1).repliesSent.get();

    Throwable failure = failureOf(client.invoke(bytes("x")));
    assertInstanceOf(PbftTimeoutException.class, failure);
    assertTrue(cluster.replica(1).repliesSent.get() > liesBefore, "the liar did answer");
  }

  /**
   * The group may raise f at run time beyond what the client's configuration file says, and a
   * reply's epoch is only its sender's word: replies are counted against the most faults n
   * replicas can tolerate, so two colluding replicas of seven cannot win where the file says f = 1.
   */
  @Test
  void repliesAreCountedAgainstTheMostFaultsTheGroupCanTolerateNotTheFilesF() throws Exception {
    FakeCluster cluster = closing(FakeCluster.echo(7, 1, 1));
    PbftClient client = client(cluster, 0, Duration.ofMillis(50), Duration.ofMillis(800));
    warmUp(client);
    cluster.behave(0, FakeCluster.Behavior.COLLUDING);
    cluster.behave(1, FakeCluster.Behavior.COLLUDING);
    for (int i = 3; i < 7; i++) {
      cluster.behave(i, SILENT);
    }
    int liesBefore = cluster.replica(0).repliesSent.get();
    Throwable failure = failureOf(client.invoke(bytes("x")));
    assertInstanceOf(PbftTimeoutException.class, failure);
    assertTrue(failure.getMessage().startsWith("no reply from f+1 = 3 replicas"), failure.getMessage());
    assertTrue(cluster.replica(0).repliesSent.get() > liesBefore, "the colluders did answer");

    cluster.behave(3, HONEST);
    cluster.behave(4, HONEST);
    assertEquals("echo:y", string(client.invoke(bytes("y")).get(HANG_GUARD_SECONDS, TimeUnit.SECONDS)),
        "three honest replies win");
  }

  @Test
  void replyWithABadMacIsIgnored() throws Exception {
    assertReplyFromReplicaOneIsIgnored(BAD_MAC);
  }

  @Test
  void replyWithTheWrongTimestampIsIgnored() throws Exception {
    assertReplyFromReplicaOneIsIgnored(WRONG_TIMESTAMP);
  }

  @Test
  void replyNamingAnotherReplicaIsIgnored() throws Exception {
    assertReplyFromReplicaOneIsIgnored(WRONG_REPLICA_ID);
  }

  /**
   * Replica 0 answers honestly and replica 1 answers with the right result but a defect; 2 and 3
   * are silent. Counting replica 1 would complete the operation, so it must time out.
   */
  private void assertReplyFromReplicaOneIsIgnored(FakeCluster.Behavior defect) throws Exception {
    FakeCluster cluster = echoCluster(1);
    PbftClient client = client(cluster, 0, Duration.ofMillis(50), Duration.ofMillis(600));
    warmUp(client);
    cluster.behave(1, defect);
    cluster.behave(2, SILENT);
    cluster.behave(3, SILENT);
    int sentBefore = cluster.replica(1).repliesSent.get();

    Throwable failure = failureOf(client.invoke(bytes("x")));
    assertInstanceOf(PbftTimeoutException.class, failure);
    assertTrue(cluster.replica(1).repliesSent.get() > sentBefore, "replica 1 did send its defective reply");
    assertFalse(failure.getMessage().matches("(?s).*replies \\(any result\\) from \\[[^\\]]*1.*"),
        "replica 1's reply was not counted: " + failure.getMessage());
  }

  @Test
  void aRequestGoesToEveryReplicaAtOnceFlaggedAsSuch() throws Exception {
    FakeCluster cluster = echoCluster(1);
    // A request timeout far beyond the test: every reply must come from the first send.
    PbftClient client = closing(cluster.client(0).requestTimeout(Duration.ofSeconds(60))
        .operationTimeout(Duration.ofSeconds(120)).sendToAll(true).build());
    warmUp(client);
    long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
    while (client.sessionsUp() < 4 && System.nanoTime() - giveUp < 0) {
      Thread.sleep(10);
    }
    assertEquals(4, client.sessionsUp());
    int[] before = new int[4];
    for (int r = 0; r < 4; r++) {
      before[r] = cluster.replica(r).requestsSentToAll.get();
    }
    cluster.behave(0, SILENT); // the primary does not answer: the backups' replies suffice
    assertEquals("echo:y", string(client.invokeBlocking(bytes("y"))));
    // The result needs only the first replica to order it; the sends to the others are on their way.
    int reached = 0;
    while (System.nanoTime() - giveUp < 0) {
      reached = 0;
      for (int r = 0; r < 4; r++) {
        reached += cluster.replica(r).requestsSentToAll.get() > before[r] ? 1 : 0;
      }
      if (reached == 4) {
        break;
      }
      Thread.sleep(10);
    }
    assertEquals(4, reached, "every replica had it from the first send, flagged sent_to_all");
  }

  @Test
  void withoutASessionToThePrimaryTheFirstSendIsNotFlaggedSoThatBackupsRelayIt() throws Exception {
    FakeCluster cluster = echoCluster(1);
    // The primary accepts sessions only after a pause: the first request finds no session to it
    // (as when an outsider holds its handshake slots, or it is down).
    cluster.behave(0, FakeCluster.Behavior.SLOW_HANDSHAKE);
    PbftClient client = closing(cluster.client(0).requestTimeout(Duration.ofSeconds(60))
        .operationTimeout(Duration.ofSeconds(120)).sendToAll(true).build());
    assertEquals("echo:x", string(client.invokeBlocking(bytes("x"))));
    int backupsReached = 0;
    for (int r = 1; r < 4; r++) {
      backupsReached += cluster.replica(r).requestsReceived.get();
      assertEquals(0, cluster.replica(r).requestsSentToAll.get(),
          "replica " + r + " was told the primary had it, and would not have relayed it");
    }
    assertTrue(backupsReached >= 1, "the backups had it from the first send");
  }

  @Test
  void silentPrimaryLeadsToRetransmissionToAllAndSuccess() throws Exception {
    FakeCluster cluster = echoCluster(1);
    // Plain PBFT's way: the first send goes to the primary alone.
    PbftClient client = closing(cluster.client(0).requestTimeout(Duration.ofMillis(100))
        .operationTimeout(Duration.ofSeconds(20)).sendToAll(false).build());
    // All sessions up first: a session coming up during the operation would be handed the
    // request at once, and this test is about the retransmission.
    warmUp(client);
    long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
    while (client.sessionsUp() < 4 && System.nanoTime() - giveUp < 0) {
      Thread.sleep(10);
    }
    assertEquals(4, client.sessionsUp());
    cluster.behave(0, SILENT);
    int[] before = new int[4];
    for (int r = 0; r < 4; r++) {
      before[r] = cluster.replica(r).requestsReceived.get();
    }

    assertEquals("echo:x", string(client.invokeBlocking(bytes("x"))));
    assertTrue(cluster.replica(0).requestsReceived.get() > before[0], "the primary got the request first");
    // The result may complete before every backup has seen the retransmission; one must have.
    int backupsReached = 0;
    for (int r = 1; r < 4; r++) {
      backupsReached += cluster.replica(r).requestsReceived.get() > before[r] ? 1 : 0;
    }
    assertTrue(backupsReached > 0, "a backup got the retransmission");
  }

  @Test
  void theRequestListenerIsToldOfTheFirstSendAndOfEveryRetransmission() throws Exception {
    FakeCluster cluster = echoCluster(1);
    List<SignedRequest> sent = new CopyOnWriteArrayList<>();
    PbftClient client = closing(cluster.client(0).requestTimeout(Duration.ofMillis(50))
        .operationTimeout(Duration.ofMillis(600)).requestListener(sent::add).build());
    warmUp(client);
    // A session coming up during the operation would be handed the request: one more send.
    long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
    while (client.sessionsUp() < 4 && System.nanoTime() - giveUp < 0) {
      Thread.sleep(10);
    }
    assertEquals(4, client.sessionsUp());
    assertFalse(sent.isEmpty(), "the warm-up's sends");
    sent.clear();

    assertEquals("echo:a", string(client.invokeBlocking(bytes("a"))));
    assertEquals(List.of("a"), operations(sent), "one send, told once (not once per replica)");

    cluster.behave(1, SILENT);
    cluster.behave(2, SILENT);
    cluster.behave(3, SILENT);
    sent.clear();
    assertInstanceOf(PbftTimeoutException.class, failureOf(client.invoke(bytes("b"))));
    assertTrue(sent.size() >= 2, "the first send and its retransmissions: " + operations(sent));
    Request first = Request.parseFrom(sent.get(0).getRequest());
    for (SignedRequest r : sent) {
      Request request = Request.parseFrom(r.getRequest());
      assertEquals(first, request, "every send is the same request");
      assertEquals(0, request.getClientId());
    }
  }

  private static List<String> operations(List<SignedRequest> sent) throws Exception {
    List<String> ops = new ArrayList<>();
    for (SignedRequest r : sent) {
      ops.add(Request.parseFrom(r.getRequest()).getOperation().toStringUtf8());
    }
    return ops;
  }

  @Test
  void aBackupWhoseSessionComesUpLateIsHandedTheRequestWithItsOwnMac() throws Exception {
    FakeCluster cluster = echoCluster(1);
    // Backup 3 accepts its session only after the first request went out (the client waits
    // SESSIONS_WAIT for every session, then sends with the 2f + 1 it has).
    cluster.behave(3, FakeCluster.Behavior.SLOW_HANDSHAKE);
    // A request timeout far beyond the test: no retransmission can be what reaches backup 3.
    PbftClient client = client(cluster, 0, Duration.ofSeconds(60), Duration.ofSeconds(120));

    assertEquals("echo:x", string(client.invokeBlocking(bytes("x"))));
    assertEquals(1, cluster.replica(0).requestsReceived.get(), "the primary got it once: no retransmission");
    FakeReplica late = cluster.replica(3);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (late.requestsReceived.get() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(1, late.requestsReceived.get(), "backup 3 was handed the request once its session came up");
    // With MACs, the copy authenticated before backup 3's session was up has no MAC for it: it
    // must be handed one authenticated afresh, never the stale copy it would refuse.
    assertEquals(0, late.rejections.get(), "backup 3 refused the request it was handed");
    assertTrue(late.authenticatorSizes.get(0) == 4, "the copy handed over has a MAC for every replica: "
        + late.authenticatorSizes);
  }

  @Test
  void theFirstRequestWaitsForSessionsWithAQuorumOfReplicas() throws Exception {
    FakeCluster cluster = echoCluster(1);
    for (int r = 2; r < 4; r++) {
      cluster.behave(r, FakeCluster.Behavior.SLOW_HANDSHAKE); // up only after PbftClient.SESSIONS_WAIT_NANOS
    }
    PbftClient client = client(cluster, 0, Duration.ofSeconds(60), Duration.ofSeconds(120));
    assertEquals("echo:x", string(client.invokeBlocking(bytes("x"))));
    List<Integer> atPrimary = cluster.replica(0).authenticatorSizes;
    // The fake cluster executes a request as soon as any replica passes it on, so the replies can
    // complete the operation before the primary's own copy is handled: wait for that copy.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (atPrimary.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(1, atPrimary.size(), "the primary got it once: " + atPrimary);
    assertTrue(atPrimary.get(0) >= 3, "the primary's copy has MACs for 2f + 1 = 3 replicas or more: " + atPrimary);
  }

  @Test
  void allReplicasSilentTimesOut() throws Exception {
    FakeCluster cluster = echoCluster(1);
    PbftClient client = client(cluster, 0, Duration.ofMillis(50), Duration.ofMillis(700));
    warmUp(client);
    for (int r = 0; r < 4; r++) {
      cluster.behave(r, SILENT);
    }
    int receivedBefore = 0;
    for (int r = 0; r < 4; r++) {
      receivedBefore += cluster.replica(r).requestsReceived.get();
    }

    PbftTimeoutException e = assertThrows(PbftTimeoutException.class, () -> client.invokeBlocking(bytes("x")));
    assertTrue(e.getMessage().startsWith("no reply from f+1 = 2 replicas within 700 ms; reachable replicas: ["),
        e.getMessage());
    assertTrue(e.getMessage().contains("replies (any result) from []"), e.getMessage());
    int receivedAfter = 0;
    for (int r = 0; r < 4; r++) {
      receivedAfter += cluster.replica(r).requestsReceived.get();
    }
    assertTrue(receivedAfter > receivedBefore, "the request was sent, and sent again");
  }

  @Test
  void noReplicaListeningIsUnavailable() throws Exception {
    FakeCluster cluster = echoCluster(1);
    cluster.close(); // the configuration now names four ports nobody listens on
    PbftClient client = client(cluster, 0, Duration.ofMillis(50), Duration.ofMillis(700));

    PbftUnavailableException e = assertThrows(PbftUnavailableException.class,
        () -> client.invokeBlocking(bytes("x")));
    assertTrue(e.getMessage().startsWith("could not connect to any of the 4 replicas within 700 ms"), e.getMessage());
    assertTrue(e.getMessage().contains("replica 3 at 127.0.0.1:"), e.getMessage());
  }

  @Test
  void operationsOfOneClientExecuteInInvokeOrderWithIncreasingTimestamps() throws Exception {
    FakeCluster cluster = echoCluster(1);
    PbftClient client = client(cluster, 0, Duration.ofMillis(200), Duration.ofSeconds(20));

    List<CompletableFuture<byte[]>> futures = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      futures.add(client.invoke(bytes("op" + i)));
    }
    for (int i = 0; i < 50; i++) {
      assertEquals("echo:op" + i, string(futures.get(i).get(HANG_GUARD_SECONDS, TimeUnit.SECONDS)));
    }
    List<FakeCluster.Executed> executed = cluster.executedBy(0);
    assertEquals(50, executed.size());
    for (int i = 0; i < 50; i++) {
      assertEquals("op" + i, string(executed.get(i).operation()));
      if (i > 0) {
        assertTrue(executed.get(i).timestamp() > executed.get(i - 1).timestamp(), "timestamps increase");
      }
    }
  }

  @Test
  void aRestartedClientKeepsIncreasingItsTimestamps() throws Exception {
    FakeCluster cluster = echoCluster(1);
    PbftClient first = cluster.client(0).requestTimeout(Duration.ofMillis(200)).build();
    try {
      assertEquals("echo:before", string(first.invokeBlocking(bytes("before"))));
    } finally {
      first.close();
    }
    // The fake replicas, like real ones, drop requests older than the last one executed.
    PbftClient second = client(cluster, 0, Duration.ofMillis(200), Duration.ofSeconds(20));
    assertEquals("echo:after", string(second.invokeBlocking(bytes("after"))));
    List<FakeCluster.Executed> executed = cluster.executedBy(0);
    assertEquals(2, executed.size());
    assertTrue(executed.get(1).timestamp() > executed.get(0).timestamp());
  }

  @Test
  void twoHundredClientsShareOneSetOfChannels() throws Exception {
    int clients = 200;
    FakeCluster cluster = echoCluster(clients);
    ClusterChannels channels = closing(ClusterChannels.open(cluster.config));
    List<PbftClient> pbftClients = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      pbftClients.add(closing(cluster.client(c).channels(channels)
          .requestTimeout(Duration.ofMillis(500)).operationTimeout(Duration.ofSeconds(25)).build()));
    }
    List<CompletableFuture<byte[]>> futures = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      for (int c = 0; c < clients; c++) {
        futures.add(pbftClients.get(c).invoke(bytes(c + "/" + round)));
      }
    }
    int i = 0;
    for (int round = 0; round < 3; round++) {
      for (int c = 0; c < clients; c++) {
        assertEquals("echo:" + c + "/" + round,
            string(futures.get(i++).get(HANG_GUARD_SECONDS * 2, TimeUnit.SECONDS)));
      }
    }
    assertEquals(3 * clients, cluster.executedCount());
  }

  @Test
  void brokenStreamsAreReopenedOnTheNextSend() throws Exception {
    FakeCluster cluster = echoCluster(1);
    PbftClient client = client(cluster, 0, Duration.ofMillis(100), Duration.ofSeconds(20));
    assertEquals("echo:1", string(client.invokeBlocking(bytes("1"))));
    int handshakesBefore = cluster.replicas.stream().mapToInt(r -> r.handshakes.get()).sum();

    for (FakeReplica r : cluster.replicas) {
      r.dropSessions();
    }
    assertEquals("echo:2", string(client.invokeBlocking(bytes("2"))));
    // Replies only travel on live sessions, so f + 1 = 2 replicas must have had new handshakes.
    int handshakesAfter = cluster.replicas.stream().mapToInt(r -> r.handshakes.get()).sum();
    assertTrue(handshakesAfter >= handshakesBefore + 2, handshakesBefore + " -> " + handshakesAfter);
  }

  @Test
  void aFullQueueIsRefusedAndClosingFailsWhatIsLeft() throws Exception {
    FakeCluster cluster = echoCluster(1);
    for (int r = 0; r < 4; r++) {
      cluster.behave(r, SILENT);
    }
    PbftClient client = closing(cluster.client(0).queueCapacity(2)
        .requestTimeout(Duration.ofSeconds(10)).operationTimeout(Duration.ofSeconds(60)).build());

    CompletableFuture<byte[]> outstanding = client.invoke(bytes("1"));
    CompletableFuture<byte[]> queued1 = client.invoke(bytes("2"));
    CompletableFuture<byte[]> queued2 = client.invoke(bytes("3"));
    Throwable full = failureOf(client.invoke(bytes("4")));
    assertEquals(PbftException.class, full.getClass());
    assertTrue(full.getMessage().contains("queue capacity 2"), full.getMessage());

    client.close();
    for (CompletableFuture<byte[]> f : List.of(outstanding, queued1, queued2)) {
      Throwable closed = failureOf(f);
      assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
    }
    assertTrue(failureOf(client.invoke(bytes("5"))).getMessage().contains("is closed"));
  }

  @Test
  void anOperationLargerThanTheClusterAllowsIsRefused() throws Exception {
    FakeCluster cluster = echoCluster(1);
    PbftClient client = client(cluster, 0, Duration.ofMillis(100), Duration.ofSeconds(5));
    byte[] huge = new byte[cluster.config.protocol().operationBytesMax() + 1];

    PbftException e = assertThrows(PbftException.class, () -> client.invokeBlocking(huge));
    assertTrue(e.getMessage().contains("exceeds the cluster's operationBytesMax"), e.getMessage());
    assertEquals(0, cluster.replica(0).requestsReceived.get());
  }

  @Test
  void unknownClientIdentityIsRefusedByTheReplicas() throws Exception {
    FakeCluster cluster = echoCluster(1);
    // Client 5 is not in the configuration; its keys are fine but no replica knows them.
    PbftClient stranger = closing(PbftClient.newBuilder().config(cluster.config).clientId(5)
        .keys(io.pbft.crypto.Ed25519Keys.generate(new java.security.SecureRandom()))
        .requestTimeout(Duration.ofMillis(50)).operationTimeout(Duration.ofMillis(500)).build());

    assertThrows(PbftUnavailableException.class, () -> stranger.invokeBlocking(bytes("x")));
    assertTrue(cluster.replica(0).rejections.get() > 0, "the replicas rejected the handshake");
  }
}

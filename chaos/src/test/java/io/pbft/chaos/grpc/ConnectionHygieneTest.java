package io.pbft.chaos.grpc;

import io.pbft.chaos.outsider.Outsider;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.pbft.client.KvClient;
import io.pbft.config.ClusterConfig;
import io.pbft.config.TransportSettings;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Polling;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outsider without keys against a real cluster on 127.0.0.1 (the same address as the clients and
 * peers, so per-address bounds do not tell them apart): streams that never complete a handshake,
 * idle connections, and the timeouts and caps that keep them from locking clients out.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ConnectionHygieneTest {
  @TempDir
  Path dir;

  static UnaryOperator<ClusterConfig> transport(UnaryOperator<TransportSettings.Builder> tune) {
    return c -> c.withTransport(tune.apply(c.transport().toBuilder()).build());
  }

  /** Garbage counted by replica {@code s} for {@code reason}. */
  static long garbage(StatusResponse s, String reason) {
    return s.getGarbage().getByReasonOrDefault(reason, 0);
  }

  /**
   * Waits until every replica's peers have their streams verified and nothing else is pending
   * (the peers' streams are pending too until a message on them verifies), so that the tests
   * count only the outsiders' streams.
   */
  static void awaitPeerStreams(GrpcCluster cluster) {
    List<StatusResponse> all = Polling.until(() -> cluster.statuses(cluster.running()),
        l -> l.stream().allMatch(st -> st.getPeerStreams() == cluster.n() - 1 && st.getPendingStreams() == 0),
        Duration.ofSeconds(30));
    for (StatusResponse st : all) {
      assertEquals(cluster.n() - 1, st.getPeerStreams(), () -> GrpcCluster.describe(all));
    }
  }

  static final String DISPLACED = "stream without handshake closed to make room for a newer one";
  static final String HANDSHAKE_TIMEOUT = "stream closed: no handshake within handshakeTimeoutMs";

  /**
   * More handshake-less client streams and silent peer streams than pendingStreamsMax, on every
   * replica, held open (the handshake timeout is a minute): clients still get sessions and
   * complete operations, and the peers' own streams stay up.
   */
  @Test
  void configuredClientsGetSessionsWhileOutsidersHoldMoreThanEveryPendingSlot() throws Exception {
    int pendingMax = 64;
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 3, transport(t -> t.pendingStreamsMax(pendingMax)
            .pendingStreamsPerAddressMax(pendingMax).handshakeTimeoutMs(60_000)));
        Outsider outsiders = new Outsider()) {
      cluster.kvClient(2).put("warm", "up");
      awaitPeerStreams(cluster);
      List<Outsider.Streams> held = new ArrayList<>();
      for (int r = 0; r < 4; r++) {
        Outsider.Streams s = new Outsider.Streams();
        // 30 connections of 6 streams: fewer than the silent streams that close a connection
        // (see the next test) are displaced on each, so the outsider keeps every slot it can
        for (int c = 0; c < 30; c++) {
          ManagedChannel ch = outsiders.channel(cluster.config().replica(r).port());
          outsiders.handshakeless(ch, 5, s);
          outsiders.silentPeerStreams(ch, 1, s);
        }
        held.add(s);
      }
      for (int r = 0; r < 4; r++) {
        int id = r;
        Outsider.Streams s = held.get(r);
        // 180 opened, all but pendingMax of them closed to make room
        Polling.until(s::open, open -> open <= pendingMax, Duration.ofSeconds(30));
        assertEquals(pendingMax, s.open(), "outsider streams still open at replica " + id);
        StatusResponse st = cluster.status(id);
        assertEquals(pendingMax, st.getPendingStreams(), () -> GrpcCluster.describe(List.of(st)));
        assertEquals(180 - pendingMax, garbage(st, DISPLACED), () -> GrpcCluster.describe(List.of(st)));
      }
      // Every pending slot of every replica is held by an outsider: new clients get in all the same.
      for (int c = 0; c < 2; c++) {
        KvClient kv = cluster.kvClient(c, Duration.ofSeconds(30));
        for (int i = 0; i < 5; i++) {
          kv.put("k" + c + "/" + i, "v");
        }
      }
      for (StatusResponse st : cluster.statuses(cluster.running())) {
        assertTrue(st.getPendingStreams() <= pendingMax, () -> GrpcCluster.describe(List.of(st)));
        assertEquals(3, st.getPeerStreams(), () -> "peers' own streams: " + GrpcCluster.describe(List.of(st)));
        assertTrue(st.getClientSessions() >= 2, () -> GrpcCluster.describe(List.of(st)));
      }
    }
  }

  static final String SILENT_CONNECTION_CLOSED = "connection closed: 8 of its streams displaced without a handshake";

  /**
   * A connection whose silent streams keep being displaced is closed at one stroke, with every
   * stream on it, instead of stream by stream: the outsider's next connection takes the slots, and
   * clients still get in.
   */
  @Test
  void connectionWhoseSilentStreamsAreDisplacedIsClosedWhole() throws Exception {
    int pendingMax = 64;
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 1, transport(t -> t.pendingStreamsMax(pendingMax)
            .pendingStreamsPerAddressMax(pendingMax).handshakeTimeoutMs(60_000)));
        Outsider outsiders = new Outsider()) {
      int port = cluster.config().replica(0).port();
      awaitPeerStreams(cluster);
      Outsider.Streams first = outsiders.handshakeless(outsiders.channel(port), 60, new Outsider.Streams());
      Polling.until(() -> cluster.status(0).getPendingStreams(), n -> n == 60, Duration.ofSeconds(20));
      // The second connection's streams displace the first's, oldest first: at the eighth, the
      // first connection is closed, and all its 60 streams end.
      Outsider.Streams second = outsiders.handshakeless(outsiders.channel(port), 60, new Outsider.Streams());
      Polling.until(first.ended::get, n -> n == 60, Duration.ofSeconds(20));
      assertEquals(60, first.ended.get(), "the first connection's streams all ended");
      StatusResponse st = Polling.until(() -> cluster.status(0), x -> x.getPendingStreams() == 60, Duration.ofSeconds(20));
      assertEquals(60, st.getPendingStreams(), () -> GrpcCluster.describe(List.of(st)));
      assertEquals(60, second.open(), "the second connection keeps its streams: none of them was displaced");
      assertEquals(1, garbage(st, SILENT_CONNECTION_CLOSED), () -> GrpcCluster.describe(List.of(st)));
      assertTrue(garbage(st, DISPLACED) >= 8, () -> GrpcCluster.describe(List.of(st)));
      // A client's connection carries an established session: the rule never closes it.
      KvClient kv = cluster.kvClient(0, Duration.ofSeconds(30));
      kv.put("before", "v");
      Outsider.Streams third = outsiders.handshakeless(outsiders.channel(port), 60, new Outsider.Streams());
      Polling.until(second.ended::get, n -> n == 60, Duration.ofSeconds(20));
      kv.put("after", "v");
      StatusResponse end = cluster.status(0);
      assertEquals(2, garbage(end, SILENT_CONNECTION_CLOSED), () -> GrpcCluster.describe(List.of(end)));
      assertEquals(60, third.open(), "the third connection keeps its streams");
      assertTrue(end.getClientSessions() >= 1, () -> GrpcCluster.describe(List.of(end)));
    }
  }

  /** A stream without handshake is closed once the handshake timeout passes; its slot is reused. */
  @Test
  void handshakeLessStreamIsClosedAfterTheHandshakeTimeoutAndItsSlotReused() throws Exception {
    int pendingMax = 32;
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 1, transport(t -> t.pendingStreamsMax(pendingMax)
            .pendingStreamsPerAddressMax(pendingMax).handshakeTimeoutMs(500)));
        Outsider outsiders = new Outsider()) {
      int port = cluster.config().replica(0).port();
      awaitPeerStreams(cluster);
      for (int round = 1; round <= 2; round++) {
        Outsider.Streams s = outsiders.handshakeless(outsiders.channel(port), pendingMax, new Outsider.Streams());
        // every one gets a slot: none was displaced (the previous round's slots were freed)
        StatusResponse admitted = Polling.until(() -> cluster.status(0),
            st -> st.getPendingStreams() == pendingMax || s.ended.get() > 0, Duration.ofSeconds(10));
        assertEquals(0, garbage(admitted, DISPLACED), () -> GrpcCluster.describe(List.of(admitted)));
        Polling.until(s.ended::get, n -> n == pendingMax, Duration.ofSeconds(20));
        assertEquals(pendingMax, s.ended.get(), "streams closed by replica 0 after the handshake timeout");
        int r = round;
        StatusResponse after = Polling.until(() -> cluster.status(0),
            st -> st.getPendingStreams() == 0, Duration.ofSeconds(10));
        assertEquals(0, after.getPendingStreams());
        assertEquals((long) r * pendingMax, garbage(after, HANDSHAKE_TIMEOUT), () -> GrpcCluster.describe(List.of(after)));
      }
      // the replica serves clients as before
      Outsider.Session session = outsiders.session(outsiders.channel(port), cluster.config(), 0, 0);
      session.accepted.get(10, TimeUnit.SECONDS);
      session.close();
    }
  }

  /** An established session without traffic is closed after the idle timeout; the client reopens it. */
  @Test
  void idleSessionIsClosedAfterTheIdleTimeout() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 1, c -> transport(t -> t.idleTimeoutMs(1000)).apply(
        c.withProtocol(c.protocol().toBuilder().viewChangeTimeoutMs(300).build())))) {
      KvClient kv = cluster.kvClient(0);
      kv.put("a", "1");
      List<StatusResponse> all = Polling.until(() -> cluster.statuses(cluster.running()),
          l -> l.stream().allMatch(st -> st.getClientSessions() == 0), Duration.ofSeconds(15));
      for (StatusResponse st : all) {
        assertEquals(0, st.getClientSessions(), () -> GrpcCluster.describe(all));
        assertTrue(garbage(st, "session closed: idle for idleTimeoutMs") >= 1, () -> GrpcCluster.describe(all));
        // peers exchange heartbeats more often than the idle timeout: their streams stay
        assertEquals(0, garbage(st, "peer stream closed: idle for idleTimeoutMs"), () -> GrpcCluster.describe(all));
      }
      kv.put("a", "2");
      assertEquals("2", kv.get("a").orElseThrow());
    }
  }

  /**
   * Sessions leave no slot behind: many sessions opened and closed, by hand and by clients, leave
   * none counted; a client's newest sessions win over its older ones.
   */
  @Test
  void sessionsAreFreedOnCloseAndTheNewestOfAClientWin() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 3, transport(t -> t.sessionsPerClientMax(2)));
        Outsider outsiders = new Outsider()) {
      ClusterConfig config = cluster.config();
      List<ManagedChannel> channels = new ArrayList<>();
      for (int r = 0; r < 4; r++) {
        channels.add(outsiders.channel(config.replica(r).port()));
      }
      for (int cycle = 0; cycle < 50; cycle++) {
        List<Outsider.Session> open = new ArrayList<>();
        for (int r = 0; r < 4; r++) {
          open.add(outsiders.session(channels.get(r), config, cycle % 3, r));
        }
        for (Outsider.Session s : open) {
          s.accepted.get(10, TimeUnit.SECONDS);
          s.close();
        }
      }
      for (int c = 0; c < 10; c++) {
        try (KvClient kv = cluster.kvClient(c % 3)) {
          kv.put("cycle", Integer.toString(c));
        }
      }
      List<StatusResponse> all = Polling.until(() -> cluster.statuses(cluster.running()),
          l -> l.stream().allMatch(st -> st.getClientSessions() == 0 && st.getPendingStreams() == 0),
          Duration.ofSeconds(20));
      for (StatusResponse st : all) {
        assertEquals(0, st.getClientSessions(), () -> GrpcCluster.describe(all));
        assertEquals(0, st.getPendingStreams(), () -> GrpcCluster.describe(all));
      }
      // newest wins: a third session of client 0 closes its first
      Outsider.Session first = outsiders.session(channels.get(0), config, 0, 0);
      first.accepted.get(10, TimeUnit.SECONDS);
      Outsider.Session second = outsiders.session(channels.get(0), config, 0, 0);
      second.accepted.get(10, TimeUnit.SECONDS);
      Outsider.Session third = outsiders.session(channels.get(0), config, 0, 0);
      third.accepted.get(10, TimeUnit.SECONDS);
      first.ended.get(10, TimeUnit.SECONDS);
      assertTrue(first.rejections.stream().anyMatch(r -> r.contains("replaced by a newer session")), first.rejections::toString);
      assertTrue(!second.ended.isDone() && !third.ended.isDone(), "the two newest sessions stay");
      assertEquals(2, cluster.status(0).getClientSessions());
    }
  }

  /**
   * Connections from one address beyond connectionsPerAddressMax: the replica keeps at most that
   * many, closing the oldest that carry no authenticated stream, so its peers (authenticated) keep
   * theirs and a new client still connects.
   */
  @Test
  void connectionCapsPerAddressHold() throws Exception {
    int perAddress = 12;
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 2, transport(t -> t.connectionsPerAddressMax(perAddress)
            .connectionsMax(16).handshakeTimeoutMs(60_000)));
        Outsider outsiders = new Outsider()) {
      cluster.kvClient(1).put("warm", "up");
      int port = cluster.config().replica(0).port();
      List<Socket> idle = new ArrayList<>();
      long most = 0;
      for (int i = 0; i < 100; i++) {
        idle.add(outsiders.connect(port));
        if (i % 10 == 9) {
          Thread.sleep(100);
          most = Math.max(most, cluster.status(0).getConnections());
        }
      }
      Thread.sleep(300);
      StatusResponse st = cluster.status(0);
      assertTrue(most <= perAddress, "connections at replica 0 peaked at " + most);
      assertTrue(st.getConnections() <= perAddress, () -> GrpcCluster.describe(List.of(st)));
      // the replica closed the sockets beyond its cap; its peers' and the client's connections stayed
      int open = Outsider.stillOpen(idle);
      assertTrue(open <= perAddress - 4, "idle sockets still open: " + open);
      assertTrue(garbage(st, "connection closed to make room for a newer one") >= 100 - perAddress,
          () -> GrpcCluster.describe(List.of(st)));
      assertEquals(3, st.getPeerStreams(), () -> GrpcCluster.describe(List.of(st)));
      // a new client (a new connection from the same address) gets in
      try (io.pbft.client.ClusterChannels fresh = io.pbft.client.ClusterChannels.open(cluster.config());
          KvClient kv = KvClient.owning(io.pbft.client.PbftClient.newBuilder().config(cluster.config()).clientId(0)
              .channels(fresh).operationTimeout(Duration.ofSeconds(30)).build())) {
        kv.put("after", "flood");
      }
      assertTrue(cluster.status(0).getConnections() <= perAddress);
    }
  }
}

package io.pbft.client;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.pbft.config.ClientInfo;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.ReplicaInfo;
import io.pbft.config.TransportSettings;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.Request;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Stands in for a PBFT group: n gRPC servers on 127.0.0.1 speaking the client protocol for
 * real (handshake, signed requests, MAC'd replies), with agreement faked by one shared,
 * deterministic "ordering": whichever replica first receives a request executes it once for
 * everybody, and then every replica sends its reply (or misbehaves, see {@link Behavior}).
 * Like real replicas it keeps the last reply per client, resends it for a retransmitted
 * request, and ignores requests older than the last one executed.
 */
final class FakeCluster implements AutoCloseable {
  /** What a fake replica does with requests and replies. */
  enum Behavior {
    HONEST, SILENT, LYING, BAD_MAC, WRONG_TIMESTAMP, WRONG_REPLICA_ID,
    /** Lies, with the same lie as every other colluding replica. */
    COLLUDING,
    /** Honest, but accepts sessions only after a pause: its replies to early requests are lost. */
    SLOW_HANDSHAKE
  }

  /** The deterministic application: (client, operation) to result. */
  interface App {
    byte[] execute(int clientId, byte[] operation);
  }

  record Executed(int clientId, long timestamp, byte[] operation, byte[] result) {}

  private static final SecureRandom RANDOM = new SecureRandom();

  final ClusterConfig config;
  final Map<Integer, Ed25519Keys> clientKeys = new HashMap<>();
  final List<FakeReplica> replicas = new ArrayList<>();
  private final List<Server> servers = new ArrayList<>();
  private final App app;
  private final Map<Integer, Executed> lastByClient = new HashMap<>();
  private final List<Executed> log = new ArrayList<>();

  private FakeCluster(int n, int clients, App app) throws IOException {
    this(n, clients, app, ClusterConfig.faultsTolerated(n));
  }

  /** {@code f}: what the configuration file says (at most (n - 1) / 3). */
  private FakeCluster(int n, int clients, App app, int f) throws IOException {
    this.app = app;
    List<Ed25519Keys> replicaKeys = new ArrayList<>();
    List<ReplicaInfo> infos = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
      replicaKeys.add(keys);
      FakeReplica replica = new FakeReplica(i, keys, this);
      replicas.add(replica);
      Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
          .addService(replica)
          .build();
      servers.add(server);
      try {
        server.start();
      } catch (IOException e) {
        close();
        throw e;
      }
      infos.add(new ReplicaInfo(i, "127.0.0.1", server.getPort(), keys.publicKey(), null));
    }
    List<ClientInfo> clientInfos = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      Ed25519Keys keys = Ed25519Keys.generate(RANDOM);
      clientKeys.put(c, keys);
      clientInfos.add(new ClientInfo(c, keys.publicKey(), null));
    }
    this.config = new ClusterConfig(infos, clientInfos, f,
        ProtocolSettings.defaults(), TransportSettings.defaults(), null);
    for (FakeReplica r : replicas) {
      r.setConfig(config);
    }
  }

  static FakeCluster start(int n, int clients, App app) throws IOException {
    return new FakeCluster(n, clients, app);
  }

  /** As {@link #echo}, with a configuration file that says the group tolerates {@code f} faults. */
  static FakeCluster echo(int n, int clients, int f) throws IOException {
    return new FakeCluster(n, clients, (client, op) -> concat("echo:".getBytes(), op), f);
  }

  /** Results that echo the operation, tagged so that results of different inputs differ. */
  static FakeCluster echo(int n, int clients) throws IOException {
    return start(n, clients, (client, op) -> concat("echo:".getBytes(), op));
  }

  void behave(int replica, Behavior behavior) {
    replicas.get(replica).behavior = behavior;
  }

  FakeReplica replica(int id) {
    return replicas.get(id);
  }

  /** A client of the configuration, built against this cluster. */
  PbftClientBuilder client(int clientId) {
    return PbftClient.newBuilder().config(config).clientId(clientId).keys(clientKeys.get(clientId));
  }

  /** Called by a replica that received a valid, signed request on an established session. */
  synchronized void order(Request request) {
    int client = request.getClientId();
    Executed last = lastByClient.get(client);
    Executed now;
    if (last == null || Long.compareUnsigned(request.getTimestamp(), last.timestamp()) > 0) {
      byte[] op = request.getOperation().toByteArray();
      now = new Executed(client, request.getTimestamp(), op, app.execute(client, op));
      lastByClient.put(client, now);
      log.add(now);
    } else if (request.getTimestamp() == last.timestamp()) {
      now = last; // a retransmission: everybody resends the cached reply
    } else {
      return; // older than what was executed: dropped, as real replicas do
    }
    for (FakeReplica r : replicas) {
      r.reply(now);
    }
  }

  synchronized List<Executed> executedBy(int client) {
    return log.stream().filter(e -> e.clientId() == client).toList();
  }

  synchronized int executedCount() {
    return log.size();
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Override
  public void close() {
    for (Server s : servers) {
      s.shutdownNow();
    }
    for (Server s : servers) {
      try {
        s.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}

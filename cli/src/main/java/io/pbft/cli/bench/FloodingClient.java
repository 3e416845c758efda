package io.pbft.cli.bench;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.pbft.config.Authentication;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.HandshakeException;
import io.pbft.crypto.RequestMacs;
import io.pbft.crypto.SessionHandshake;
import io.pbft.proto.ClientMessage;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.ReplicaToClient;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A configured client that floods: it opens a session with every replica (a valid signed
 * handshake) and then sends validly signed puts with ever-increasing timestamps to all of them as
 * fast as HTTP/2 flow control allows, never waiting for a reply. Requests are signed ahead in a
 * pool and reused round-robin with fresh timestamps re-signed in the background, so that the
 * flooder's own CPU is not the limit. With {@code authentication: macs} its requests carry a full,
 * valid authenticator (one MAC per replica under its sessions' keys): it is a correct client that
 * floods, not one that lies. {@code pbft bench --fault flood-client} runs it as a process
 * of its own ({@link #main}: {@code CONFIG CLIENT_ID [KIND]}) until it is killed.
 *
 * <p>Other {@link Kind}s make it a client that lies, as the simulator's Byzantine clients do, at
 * 50 rounds a second: {@code equivocate} sends each replica a different operation under one
 * timestamp, {@code max-timestamp} uses timestamps at the very top of the range and then
 * Long.MAX_VALUE itself, over and over ({@code pbft bench --fault equivocating-client} and
 * {@code max-timestamp-client}).
 */
public final class FloodingClient implements AutoCloseable {
  /** How the client misbehaves. */
  public enum Kind {
    FLOOD("flood"), EQUIVOCATE("equivocate"), MAX_TIMESTAMP("max-timestamp");

    private final String option;

    Kind(String option) {
      this.option = option;
    }

    public String option() {
      return option;
    }

    static Kind parse(String option) {
      for (Kind k : values()) {
        if (k.option.equals(option)) {
          return k;
        }
      }
      throw new IllegalArgumentException("kind must be flood, equivocate or max-timestamp, got " + option);
    }
  }

  /** Rounds of the lying kinds: one request per replica per round. */
  private static final long ROUND_MS = 20;
  /** The max-timestamp client starts this far below Long.MAX_VALUE and climbs one per round. */
  private static final long MAX_TIMESTAMP_CLIMB = 500;

  private final Kind kind;
  private final long startMs = System.currentTimeMillis();
  private final ClusterConfig config;
  private final int clientId;
  private final Ed25519Keys keys;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong nextTimestamp = new AtomicLong(1);
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  /** The request key of each replica's session, once up (MACs only). */
  private final AtomicReferenceArray<SessionHandshake.SessionKey> requestKeys;
  private final boolean macs;

  public FloodingClient(ClusterConfig config, int clientId) {
    this(config, clientId, Kind.FLOOD);
  }

  public FloodingClient(ClusterConfig config, int clientId, Kind kind) {
    this.kind = kind;
    this.config = config;
    this.clientId = clientId;
    this.keys = config.clientKeys(clientId);
    this.requestKeys = new AtomicReferenceArray<>(config.n());
    this.macs = config.authentication() == Authentication.MACS;
  }

  public long sent() {
    return sent.get();
  }

  /** The next request for {@code replicaId}: the same bytes for every replica in a round, unless equivocating. */
  private SignedRequest next(int replicaId) {
    long round = (System.currentTimeMillis() - startMs) / ROUND_MS;
    long ts;
    String operation;
    switch (kind) {
      case EQUIVOCATE -> {
        ts = 1 + round;
        operation = "put equivocate-" + clientId + " " + ts + " told-replica-" + replicaId;
      }
      case MAX_TIMESTAMP -> {
        ts = Long.MAX_VALUE - Math.max(0, MAX_TIMESTAMP_CLIMB - round);
        operation = "put top-" + clientId + " " + ts;
      }
      default -> {
        ts = nextTimestamp.getAndIncrement();
        operation = "put flood-" + clientId + " " + ts;
      }
    }
    byte[] request = Request.newBuilder().setClientId(clientId).setTimestamp(ts)
        .setOperation(ByteString.copyFromUtf8(operation)).build().toByteArray();
    if (!macs) {
      return SignedRequest.newBuilder().setRequest(ByteString.copyFrom(request))
          .setSignature(ByteString.copyFrom(keys.sign(request))).build();
    }
    ByteString bytes = ByteString.copyFrom(request);
    SignedRequest.Builder b = SignedRequest.newBuilder().setRequest(bytes);
    for (int r = 0; r < requestKeys.length(); r++) {
      SessionHandshake.SessionKey key = requestKeys.get(r);
      if (key != null) {
        b.addAuthenticator(RequestMacs.entry(r, key, bytes));
      }
    }
    return b.build();
  }

  private boolean allKeysKnown() {
    for (int r = 0; r < requestKeys.length(); r++) {
      if (requestKeys.get(r) == null) {
        return false;
      }
    }
    return true;
  }

  /** Starts one flooding thread per replica. */
  public void start() {
    for (ReplicaInfo r : config.replicas()) {
      ManagedChannel channel = NettyChannelBuilder.forAddress(r.host(), r.port()).usePlaintext().build();
      channels.add(channel);
      Thread t = new Thread(() -> floodReplica(channel, r.id()), "flood-" + r.id());
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  private void floodReplica(ManagedChannel channel, int replicaId) {
    SecureRandom random = new SecureRandom();
    while (!closed.get()) {
      Object lock = new Object();
      AtomicBoolean ended = new AtomicBoolean();
      AtomicBoolean accepted = new AtomicBoolean();
      @SuppressWarnings("unchecked")
      ClientCallStreamObserver<ClientMessage>[] call = new ClientCallStreamObserver[1];
      SessionHandshake.Client handshake = SessionHandshake.start(clientId, replicaId, keys, random);
      ClientServiceGrpc.newStub(channel).session(new ClientResponseObserver<ClientMessage, ReplicaToClient>() {
        @Override
        public void beforeStart(ClientCallStreamObserver<ClientMessage> requestStream) {
          call[0] = requestStream;
          requestStream.setOnReadyHandler(() -> wake(lock));
        }

        @Override
        public void onNext(ReplicaToClient value) {
          if (value.hasAccept()) {
            try {
              handshake.finish(value.getAccept(), config.replica(replicaId).verifier());
              requestKeys.set(replicaId, handshake.requestKey());
            } catch (HandshakeException e) {
              ended.set(true);
            }
            accepted.set(true);
            wake(lock);
          }
        }

        @Override
        public void onError(Throwable t) {
          ended.set(true);
          wake(lock);
        }

        @Override
        public void onCompleted() {
          ended.set(true);
          wake(lock);
        }
      });
      try {
        call[0].onNext(ClientMessage.newBuilder()
            .setOpen(handshake.open()).build());
        long waitUntil = System.nanoTime() + 2_000_000_000L;
        // A full authenticator needs every session's key: wait (briefly) for the others.
        while (macs && !allKeysKnown() && System.nanoTime() - waitUntil < 0 && !closed.get()) {
          Thread.sleep(10);
        }
        while (!closed.get() && !ended.get()) {
          synchronized (lock) {
            while (!(accepted.get() && call[0].isReady()) && !ended.get() && !closed.get()) {
              lock.wait(100);
            }
          }
          if (ended.get() || closed.get()) {
            break;
          }
          call[0].onNext(ClientMessage.newBuilder().setRequest(next(replicaId)).build());
          sent.incrementAndGet();
          if (kind != Kind.FLOOD) {
            Thread.sleep(ROUND_MS);
          }
        }
        call[0].cancel("flood over", null);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        // the stream broke under us: open another
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static void wake(Object lock) {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  @Override
  public void close() {
    closed.set(true);
    threads.forEach(Thread::interrupt);
    channels.forEach(ManagedChannel::shutdownNow);
  }

  /** {@code CONFIG CLIENT_ID [KIND]}: misbehaves until killed, printing what it sent every second. */
  public static void main(String[] args) throws Exception {
    if (args.length != 2 && args.length != 3) {
      throw new IllegalArgumentException("usage: CONFIG CLIENT_ID [flood|equivocate|max-timestamp]");
    }
    ClusterConfig config = ClusterConfig.load(Path.of(args[0]));
    Kind kind = args.length == 3 ? Kind.parse(args[2]) : Kind.FLOOD;
    FloodingClient flood = new FloodingClient(config, Integer.parseInt(args[1]), kind);
    flood.start();
    while (true) {
      Thread.sleep(1000);
      System.out.println(kind.option() + " client " + args[1] + ": " + flood.sent() + " requests sent");
      System.out.flush();
    }
  }
}

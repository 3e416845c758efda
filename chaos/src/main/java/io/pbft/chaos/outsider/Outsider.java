package io.pbft.chaos.outsider;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.pbft.config.ClusterConfig;
import io.pbft.crypto.SessionHandshake;
import io.pbft.proto.Ack;
import io.pbft.proto.ClientMessage;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.ReplicaServiceGrpc;
import io.pbft.proto.ReplicaToClient;
import io.pbft.proto.SignedMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What anyone who can reach a replica's port can do without a key: open client streams and never
 * send the signed handshake, hold TCP connections that say nothing, start HTTP/2 and never finish a
 * frame (slowloris), and push large messages full of unknown protobuf fields down peer streams.
 * frame (slowloris), push large messages full of unknown protobuf fields down peer streams, and
 * send garbage bytes. Each attack counts what the replica did about it (streams and sockets it
 * closed). Used by {@code pbft bench --fault session-exhaustion|garbage-flood} (as a process of its
 * own, through {@link #main}) and by the hygiene figures; closes everything it opened.
 */
public final class Outsider implements AutoCloseable {
  /** HTTP/2 connection preface (RFC 9113, section 3.4). */
  public static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  /** TLS for gRPC channels (server authenticated, no certificate of its own); null: plaintext. */
  private final SslContext tls;

  /** An outsider speaking plaintext. */
  public Outsider() {
    this(null);
  }

  /**
   * An outsider whose gRPC channels speak TLS with {@code tls} (to a cluster with TLS on: it
   * authenticates the replicas but has no certificate, like any client). Raw sockets stay raw.
   */
  public Outsider(SslContext tls) {
    this.tls = tls;
  }

  /** Streams of one kind, and how many of them the server has ended since. */
  public static final class Streams {
    public final AtomicInteger opened = new AtomicInteger();
    public final AtomicInteger ended = new AtomicInteger();
    public final List<ClientCallStreamObserver<?>> calls = new CopyOnWriteArrayList<>();

    /** Opened and not yet ended by the server. */
    public int open() {
      return opened.get() - ended.get();
    }
  }

  /** A channel to {@code host:port} (one HTTP/2 connection), closed with this outsider. */
  public ManagedChannel channel(String host, int port) {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(host, port);
    ManagedChannel c = (tls != null ? b.sslContext(tls) : b.usePlaintext())
        .maxInboundMessageSize(64 << 20).build();
    channels.add(c);
    return c;
  }

  /** {@link #channel(String, int)} on 127.0.0.1. */
  public ManagedChannel channel(int port) {
    return channel("127.0.0.1", port);
  }

  /**
   * Opens {@code count} ClientService.Session streams to {@code host:port}, {@code perConnection}
   * on each connection, that never send anything (no signed SessionOpen).
   */
  public Streams handshakeless(String host, int port, int count, int perConnection) {
    Streams s = new Streams();
    for (int opened = 0; opened < count; opened += perConnection) {
      handshakeless(channel(host, port), Math.min(perConnection, count - opened), s);
    }
    return s;
  }

  /** {@code count} ClientService.Session streams on {@code channel} that never send anything. */
  public Streams handshakeless(ManagedChannel channel, int count, Streams into) {
    for (int i = 0; i < count; i++) {
      into.opened.incrementAndGet();
      ClientServiceGrpc.newStub(channel).session(endCounter(into));
    }
    return into;
  }

  /** {@code count} ReplicaService.Stream calls on {@code channel} that never send a message. */
  public Streams silentPeerStreams(ManagedChannel channel, int count, Streams into) {
    for (int i = 0; i < count; i++) {
      into.opened.incrementAndGet();
      ReplicaServiceGrpc.newStub(channel).stream(endCounter(into));
    }
    return into;
  }

  /** A peer stream on {@code channel} to send messages down, counting its end in {@code into}. */
  public ClientCallStreamObserver<SignedMessage> peerStream(ManagedChannel channel, Streams into) {
    into.opened.incrementAndGet();
    ClientResponseObserver<SignedMessage, Ack> observer = endCounter(into);
    ReplicaServiceGrpc.newStub(channel).stream(observer);
    @SuppressWarnings("unchecked")
    ClientCallStreamObserver<SignedMessage> call =
        (ClientCallStreamObserver<SignedMessage>) into.calls.get(into.calls.size() - 1);
    return call;
  }

  private static <Q, R> ClientResponseObserver<Q, R> endCounter(Streams into) {
    return new ClientResponseObserver<>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<Q> requestStream) {
        into.calls.add(requestStream);
      }

      @Override
      public void onNext(R value) {}

      @Override
      public void onError(Throwable t) {
        into.ended.incrementAndGet();
      }

      @Override
      public void onCompleted() {
        into.ended.incrementAndGet();
      }
    };
  }

  /** A client stream with a hand-made signed handshake: accepted, and ended, as the replica says. */
  public static final class Session {
    public final CompletableFuture<Void> accepted = new CompletableFuture<>();
    public final CompletableFuture<String> ended = new CompletableFuture<>();
    public final List<String> rejections = new CopyOnWriteArrayList<>();
    public ClientCallStreamObserver<ClientMessage> call;

    public void close() {
      call.cancel("outsider done", null);
    }
  }

  /** Opens a session of {@code clientId} (its key from {@code config}) with replica {@code replicaId}. */
  public Session session(ManagedChannel channel, ClusterConfig config, int clientId, int replicaId) {
    Session s = new Session();
    SessionHandshake.Client hs = SessionHandshake.start(clientId, replicaId, config.clientKeys(clientId), new SecureRandom());
    ClientServiceGrpc.newStub(channel).session(new ClientResponseObserver<ClientMessage, ReplicaToClient>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<ClientMessage> requestStream) {
        s.call = requestStream;
      }

      @Override
      public void onNext(ReplicaToClient m) {
        switch (m.getBodyCase()) {
          case ACCEPT -> {
            try {
              hs.finish(m.getAccept(), config.replica(replicaId).verifier());
              s.accepted.complete(null);
            } catch (Exception e) {
              s.accepted.completeExceptionally(e);
            }
          }
          case REJECTION -> s.rejections.add(m.getRejection().getReason());
          default -> { }
        }
      }

      @Override
      public void onError(Throwable t) {
        s.ended.complete(t.getMessage());
        s.accepted.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        s.ended.complete("completed");
        s.accepted.completeExceptionally(new IllegalStateException("ended before accept: " + s.rejections));
      }
    });
    s.call.onNext(ClientMessage.newBuilder().setOpen(hs.open()).build());
    return s;
  }

  /** A TCP connection to 127.0.0.1:{@code port}. */
  public Socket connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    sockets.add(s);
    return s;
  }

  /** Sends {@code bytes} on a new connection and waits (up to 5 s) until the replica closes it. */
  public boolean sendAndAwaitClose(int port, byte[] bytes) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.getOutputStream().write(bytes);
      s.getOutputStream().flush();
      s.setSoTimeout(5000);
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      try {
        while (in.read(buf) >= 0) {
          // drain what the server sends before it closes (a GOAWAY)
        }
        return true;
      } catch (SocketTimeoutException e) {
        return false;
      } catch (IOException e) {
        return true; // reset
      }
    }
  }

  /** Every socket opened so far. */
  public List<Socket> sockets() {
    return new ArrayList<>(sockets);
  }

  /** Opens {@code count} TCP connections to {@code host:port} that never send a byte. */
  public List<Socket> idleSockets(String host, int port, int count) throws IOException {
    List<Socket> opened = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Socket s = new Socket();
      try {
        s.connect(new InetSocketAddress(host, port), 5000);
      } catch (IOException e) {
        s.close();
        continue; // refused: the replica's accept queue or a connection cap
      }
      opened.add(s);
      sockets.add(s);
    }
    return opened;
  }

  /**
   * Slowloris over HTTP/2: {@code count} connections that send the preface, an empty SETTINGS
   * frame and the 9-byte header of a HEADERS frame promising {@code 64} bytes without END_HEADERS,
   * then one byte of it every {@code trickleMs} (so the frame never completes in time and the
   * connection is never idle at the TCP level).
   */
  public List<Socket> slowloris(String host, int port, int count, long trickleMs) throws IOException {
    List<Socket> opened = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Socket s = new Socket();
      try {
        s.connect(new InetSocketAddress(host, port), 5000);
        OutputStream out = s.getOutputStream();
        out.write(PREFACE);
        out.write(new byte[] {0, 0, 0, 0x4, 0, 0, 0, 0, 0}); // SETTINGS, empty
        out.write(new byte[] {0, 0, 64, 0x1, 0, 0, 0, 0, 1}); // HEADERS of 64 bytes on stream 1, no END_HEADERS
        out.flush();
      } catch (IOException e) {
        s.close();
        continue;
      }
      opened.add(s);
      sockets.add(s);
    }
    Thread trickle = new Thread(() -> {
      for (int b = 0; b < 64 && !closed.get(); b++) {
        try {
          Thread.sleep(trickleMs);
        } catch (InterruptedException e) {
          return;
        }
        for (Socket s : opened) {
          try {
            s.getOutputStream().write(0x40);
            s.getOutputStream().flush();
          } catch (IOException ignored) {
            // closed by the replica
          }
        }
      }
    }, "outsider-slowloris");
    trickle.setDaemon(true);
    trickle.start();
    threads.add(trickle);
    return opened;
  }

  /**
   * How many of {@code sockets} the server has not closed: a read that times out means open,
   * end of stream or a reset means closed. Whatever the server sent is drained.
   */
  public static int stillOpen(List<Socket> sockets) {
    int open = 0;
    byte[] buffer = new byte[4096];
    for (Socket s : sockets) {
      if (s.isClosed()) {
        continue;
      }
      try {
        s.setSoTimeout(1);
        InputStream in = s.getInputStream();
        boolean ended = false;
        while (true) {
          int n;
          try {
            n = in.read(buffer);
          } catch (SocketTimeoutException e) {
            break;
          }
          if (n < 0) {
            ended = true;
            break;
          }
        }
        if (!ended) {
          open++;
        }
      } catch (IOException e) {
        // reset: closed
      }
    }
    return open;
  }

  /** A SignedMessage claiming sender 0 whose only content is {@code bytes} of an unknown field. */
  public static SignedMessage unknownFields(int bytes) {
    return SignedMessage.newBuilder().setSender(0).setUnknownFields(withUnknownField(bytes)).build();
  }

  /** An unknown field set holding one field (number 99) of {@code bytes} zero bytes. */
  public static UnknownFieldSet withUnknownField(int bytes) {
    return UnknownFieldSet.newBuilder()
        .addField(99, UnknownFieldSet.Field.newBuilder().addLengthDelimited(ByteString.copyFrom(new byte[bytes])).build())
        .build();
  }

  /** Messages sent and peer streams the server ended, of one flood. */
  public static final class Flood {
    public final AtomicLong sent = new AtomicLong();
    public final AtomicInteger streamsEnded = new AtomicInteger();
  }

  /**
   * Pushes {@code message} down {@code streams} ReplicaService.Stream calls (each on a connection
   * of its own) as fast as HTTP/2 flow control lets it, until {@link #close}; a stream the server
   * ends is opened again.
   */
  public Flood flood(String host, int port, int streams, SignedMessage message) {
    Flood f = new Flood();
    for (int i = 0; i < streams; i++) {
      ManagedChannel c = channel(host, port);
      Thread t = new Thread(() -> {
        while (!closed.get()) {
          AtomicBoolean ended = new AtomicBoolean();
          Object lock = new Object();
          ClientCallStreamObserver<SignedMessage>[] call = new ClientCallStreamObserver[1];
          ReplicaServiceGrpc.newStub(c).stream(new ClientResponseObserver<SignedMessage, Ack>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<SignedMessage> requestStream) {
              call[0] = requestStream;
              requestStream.setOnReadyHandler(() -> {
                synchronized (lock) {
                  lock.notifyAll();
                }
              });
            }

            @Override
            public void onNext(Ack value) {}

            @Override
            public void onError(Throwable t) {
              end();
            }

            @Override
            public void onCompleted() {
              end();
            }

            private void end() {
              f.streamsEnded.incrementAndGet();
              ended.set(true);
              synchronized (lock) {
                lock.notifyAll();
              }
            }
          });
          while (!closed.get() && !ended.get()) {
            synchronized (lock) {
              while (!call[0].isReady() && !ended.get() && !closed.get()) {
                try {
                  lock.wait(100);
                } catch (InterruptedException e) {
                  return;
                }
              }
            }
            if (ended.get() || closed.get()) {
              break;
            }
            try {
              call[0].onNext(message);
              f.sent.incrementAndGet();
            } catch (RuntimeException e) {
              break;
            }
          }
          try {
            call[0].cancel("outsider done", null);
          } catch (RuntimeException ignored) {
            // already ended
          }
          if (!closed.get()) {
            try {
              Thread.sleep(50);
            } catch (InterruptedException e) {
              return;
            }
          }
        }
      }, "outsider-flood-" + i);
      t.setDaemon(true);
      t.start();
      threads.add(t);
    }
    return f;
  }

  /** Garbage bytes sent and connections the server closed, of one garbage flood. */
  public static final class Garbage {
    public final AtomicLong bytes = new AtomicLong();
    public final AtomicLong connectionsClosed = new AtomicLong();
  }

  /**
   * Garbage on the port from {@code connections} threads, each on a connection of its own: an
   * HTTP/2 preface then random bytes in 4 KiB writes, as fast as the socket takes them; a
   * connection the server closes is opened again (after 10 ms) until {@link #close}.
   *
   * <p>The bytes are 4 KiB windows at random offsets into 64 KiB of random bytes drawn once per
   * thread: to the server they are as random as fresh ones, and the attacker, which in bench
   * shares the replicas' cores, does not spend a core drawing hundreds of megabytes a second.
   */
  public Garbage garbage(String host, int port, int connections, long seed) {
    Garbage g = new Garbage();
    for (int i = 0; i < connections; i++) {
      java.util.Random random = new java.util.Random(seed * 31 + i);
      Thread t = new Thread(() -> {
        byte[] pool = new byte[64 << 10];
        random.nextBytes(pool);
        int write = 4096;
        while (!closed.get()) {
          Socket s = new Socket();
          sockets.add(s);
          try (s) {
            s.connect(new InetSocketAddress(host, port), 5000);
            OutputStream out = s.getOutputStream();
            if (random.nextBoolean()) {
              out.write(PREFACE); // sometimes past the preface, into the frame parser
            }
            while (!closed.get()) {
              out.write(pool, random.nextInt(pool.length - write + 1), write);
              g.bytes.addAndGet(write);
            }
          } catch (IOException e) {
            g.connectionsClosed.incrementAndGet();
          } finally {
            sockets.remove(s); // closed: only open sockets are kept for close()
          }
          try {
            Thread.sleep(10);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "outsider-garbage-" + i);
      t.setDaemon(true);
      t.start();
      threads.add(t);
    }
    return g;
  }

  /**
   * The attack in a process of its own, so that a client measured meanwhile does not share its
   * JVM and network threads: {@code streams HOST PORT[,PORT...] COUNT PER_CONNECTION} opens
   * handshake-less streams on each port and holds them open until it is killed; {@code garbage
   * HOST PORT[,PORT...] CONNECTIONS} sends random bytes. Every second it prints what it has done
   * ("opened: [...]" streams per port, or "garbage bytes sent: [...]").
   *
   * <p>With {@code --armed-by FILE} the process starts, builds its channels and loads what it
   * needs, then waits for {@code FILE} to exist before it attacks: a JVM started only when the
   * fault is due took seconds on a loaded machine to send anything, so a short run saw the attack
   * late or not at all.
   */
  public static void main(String[] args) throws Exception {
    String usage = "usage: streams HOST PORT[,PORT...] COUNT PER_CONNECTION | garbage HOST PORT[,PORT...] CONNECTIONS"
        + " [--tls-ca CA_FILE] [" + ARMED_BY + " FILE]";
    List<String> rest = new ArrayList<>(List.of(args));
    String ca = takeOption(rest, "--tls-ca");
    String armedBy = takeOption(rest, ARMED_BY);
    SslContext tls = ca == null ? null
        : io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts.forClient().trustManager(new java.io.File(ca)).build();
    if (rest.size() < 4) {
      throw new IllegalArgumentException(usage);
    }
    Outsider o = new Outsider(tls);
    String host = rest.get(1);
    String[] ports = rest.get(2).split(",");
    switch (rest.get(0)) {
      case "streams" -> {
        if (rest.size() != 5) {
          throw new IllegalArgumentException(usage);
        }
        int count = Integer.parseInt(rest.get(3));
        int perConnection = Integer.parseInt(rest.get(4));
        List<List<ManagedChannel>> channels = new ArrayList<>();
        for (String port : ports) {
          List<ManagedChannel> mine = new ArrayList<>();
          for (int opened = 0; opened < count; opened += perConnection) {
            mine.add(o.channel(host, Integer.parseInt(port))); // gRPC connects on the first call
          }
          channels.add(mine);
        }
        // load the stub classes before the wait, not after it
        ClientServiceGrpc.newStub(channels.get(0).get(0));
        if (armedBy != null) {
          connectAll(channels);
        }
        awaitArmed(armedBy);
        List<Streams> all = new ArrayList<>();
        for (int i = 0; i < ports.length; i++) {
          all.add(new Streams());
        }
        for (int i = 0; i < ports.length; i++) {
          int left = count;
          for (ManagedChannel c : channels.get(i)) {
            o.handshakeless(c, Math.min(perConnection, left), all.get(i));
            left -= perConnection;
          }
          System.out.println("opened: " + all.stream().map(s -> Integer.toString(s.opened.get())).toList()
              + " at " + java.time.LocalTime.now());
          System.out.flush();
        }
        while (true) {
          System.out.println("opened: " + all.stream().map(s -> Integer.toString(s.opened.get())).toList()
              + ", still open: " + all.stream().map(s -> Integer.toString(s.open())).toList());
          System.out.flush();
          Thread.sleep(1000);
        }
      }
      case "garbage" -> {
        awaitArmed(armedBy);
        List<Garbage> all = new ArrayList<>();
        for (int i = 0; i < ports.length; i++) {
          all.add(o.garbage(host, Integer.parseInt(ports[i]), Integer.parseInt(rest.get(3)), i));
        }
        while (true) {
          System.out.println("garbage bytes sent: " + all.stream().map(g -> Long.toString(g.bytes.get())).toList()
              + ", connections closed by the replicas: "
              + all.stream().map(g -> Long.toString(g.connectionsClosed.get())).toList());
          System.out.flush();
          Thread.sleep(1000);
        }
      }
      default -> throw new IllegalArgumentException(usage);
    }
  }

  /** The option that arms an outsider process: it attacks once this file exists. */
  public static final String ARMED_BY = "--armed-by";

  /**
   * Connects every channel (TCP, TLS, HTTP/2) before the attack, as an attacker with its
   * connections ready would, waiting up to 5 s: on two shared cores, 200 TLS handshakes at the
   * moment of the attack took the outsider seconds. A replica closes a connection without calls
   * after its handshake timeout (10 s); gRPC reconnects on the next call if it did.
   */
  private static void connectAll(List<List<ManagedChannel>> channels) throws InterruptedException {
    List<ManagedChannel> all = channels.stream().flatMap(List::stream).toList();
    all.forEach(c -> c.getState(true));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline
        && !all.stream().allMatch(c -> c.getState(false) == io.grpc.ConnectivityState.READY)) {
      Thread.sleep(20);
    }
    long ready = all.stream().filter(c -> c.getState(false) == io.grpc.ConnectivityState.READY).count();
    System.out.println("outsider: " + ready + " of " + all.size() + " connections ready");
    System.out.flush();
  }

  /** Removes {@code name VALUE} from {@code args} and returns VALUE; null if absent. */
  private static String takeOption(List<String> args, String name) {
    int at = args.indexOf(name);
    if (at < 0) {
      return null;
    }
    if (at + 1 >= args.size()) {
      throw new IllegalArgumentException(name + " needs a value");
    }
    String value = args.get(at + 1);
    args.subList(at, at + 2).clear();
    return value;
  }

  private static void awaitArmed(String armedBy) throws InterruptedException {
    if (armedBy == null) {
      return;
    }
    System.out.println("outsider: waiting for " + armedBy);
    System.out.flush();
    java.nio.file.Path trigger = java.nio.file.Path.of(armedBy);
    while (!java.nio.file.Files.exists(trigger)) {
      Thread.sleep(10);
    }
    System.out.println("outsider: armed");
    System.out.flush();
  }

  @Override
  public void close() {
    closed.set(true);
    for (Thread t : threads) {
      t.interrupt();
    }
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException ignored) {
        // best effort
      }
    }
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    for (ManagedChannel c : channels) {
      try {
        c.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}

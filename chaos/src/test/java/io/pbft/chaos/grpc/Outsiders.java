package io.pbft.chaos.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Raw gRPC and TCP from outside a cluster, for the connection hygiene tests: streams that never
 * send a handshake, hand-made session handshakes, idle sockets and bytes that are not HTTP/2.
 * Closes everything it opened.
 */
final class Outsiders implements AutoCloseable {
  static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  ManagedChannel channel(int port) {
    ManagedChannel c = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .maxInboundMessageSize(64 << 20).build();
    channels.add(c);
    return c;
  }

  /** Streams of one kind opened by a test, and how many the server has ended. */
  static final class Streams {
    final AtomicInteger opened = new AtomicInteger();
    final AtomicInteger ended = new AtomicInteger();
    final List<ClientCallStreamObserver<?>> calls = new CopyOnWriteArrayList<>();

    int open() {
      return opened.get() - ended.get();
    }
  }

  /** {@code count} ClientService.Session streams on {@code channel} that never send anything. */
  Streams handshakeless(ManagedChannel channel, int count, Streams into) {
    for (int i = 0; i < count; i++) {
      into.opened.incrementAndGet();
      ClientServiceGrpc.newStub(channel).session(new ClientResponseObserver<ClientMessage, ReplicaToClient>() {
        @Override
        public void beforeStart(ClientCallStreamObserver<ClientMessage> requestStream) {
          into.calls.add(requestStream);
        }

        @Override
        public void onNext(ReplicaToClient value) {}

        @Override
        public void onError(Throwable t) {
          into.ended.incrementAndGet();
        }

        @Override
        public void onCompleted() {
          into.ended.incrementAndGet();
        }
      });
    }
    return into;
  }

  /** {@code count} ReplicaService.Stream calls on {@code channel} that never send a message. */
  Streams silentPeerStreams(ManagedChannel channel, int count, Streams into) {
    for (int i = 0; i < count; i++) {
      into.opened.incrementAndGet();
      ReplicaServiceGrpc.newStub(channel).stream(endCounter(into));
    }
    return into;
  }

  /** A peer stream on {@code channel} that sends {@code messages}, counting its end in {@code into}. */
  ClientCallStreamObserver<SignedMessage> peerStream(ManagedChannel channel, Streams into) {
    into.opened.incrementAndGet();
    ClientResponseObserver<SignedMessage, Ack> observer = endCounter(into);
    ReplicaServiceGrpc.newStub(channel).stream(observer);
    @SuppressWarnings("unchecked")
    ClientCallStreamObserver<SignedMessage> call = (ClientCallStreamObserver<SignedMessage>) into.calls.get(into.calls.size() - 1);
    return call;
  }

  private static <R> ClientResponseObserver<SignedMessage, R> endCounter(Streams into) {
    return new ClientResponseObserver<>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<SignedMessage> requestStream) {
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
  static final class Session {
    final CompletableFuture<Void> accepted = new CompletableFuture<>();
    final CompletableFuture<String> ended = new CompletableFuture<>();
    final List<String> rejections = new CopyOnWriteArrayList<>();
    ClientCallStreamObserver<ClientMessage> call;

    void close() {
      call.cancel("test done", null);
    }
  }

  /** Opens a session of {@code clientId} with replica {@code replicaId} over {@code channel}. */
  Session session(ManagedChannel channel, ClusterConfig config, int clientId, int replicaId) {
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

  /** A SignedMessage claiming sender 0 whose only content is {@code bytes} of an unknown field. */
  static SignedMessage unknownFields(int bytes) {
    return SignedMessage.newBuilder().setSender(0).setUnknownFields(withUnknownField(bytes)).build();
  }

  static UnknownFieldSet withUnknownField(int bytes) {
    return UnknownFieldSet.newBuilder()
        .addField(99, UnknownFieldSet.Field.newBuilder().addLengthDelimited(ByteString.copyFrom(new byte[bytes])).build())
        .build();
  }

  /** A TCP connection to {@code port}; null if the replica refused or closed it at once. */
  Socket connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    sockets.add(s);
    return s;
  }

  /** Sends {@code bytes} on a new connection and waits (up to 5 s) until the replica closes it. */
  boolean sendAndAwaitClose(int port, byte[] bytes) throws IOException {
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

  /** How many of {@code sockets} the other side has not closed (a read that times out: open). */
  static int stillOpen(List<Socket> sockets) {
    int open = 0;
    byte[] buffer = new byte[4096];
    for (Socket s : sockets) {
      try {
        s.setSoTimeout(1);
        InputStream in = s.getInputStream();
        while (true) {
          int n;
          try {
            n = in.read(buffer);
          } catch (SocketTimeoutException e) {
            open++;
            break;
          }
          if (n < 0) {
            break;
          }
        }
      } catch (IOException e) {
        // reset: closed
      }
    }
    return open;
  }

  List<Socket> sockets() {
    return new ArrayList<>(sockets);
  }

  @Override
  public void close() {
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

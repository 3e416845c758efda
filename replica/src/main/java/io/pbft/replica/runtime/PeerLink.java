package io.pbft.replica.runtime;

import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.pbft.proto.Ack;
import io.pbft.proto.ReplicaServiceGrpc;
import io.pbft.proto.SignedMessage;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outgoing side of one peer: a queue bounded in messages ({@code transport.peerQueueMax}) and
 * in bytes ({@code transport.peerQueueBytesMax}) drained into one long-lived gRPC client stream,
 * respecting gRPC flow control ({@code isReady}). A full queue drops the newest message and
 * counts it; a broken stream is reopened after a pause, and queued messages wait for it.
 */
final class PeerLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PeerLink.class);

  private final int self;
  private final int peer;
  private final ManagedChannel channel;
  private final ScheduledExecutorService scheduler;
  private final long reconnectDelayMs;
  private final ArrayBlockingQueue<SignedMessage> queue;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final long bytesMax;

  private ClientCallStreamObserver<SignedMessage> stream; // guarded by this
  private boolean connecting;                              // guarded by this
  private volatile boolean closed;

  PeerLink(int self, int peer, ManagedChannel channel, ScheduledExecutorService scheduler, int queueMax,
      long reconnectDelayMs) {
    this(self, peer, channel, scheduler, queueMax, Long.MAX_VALUE, reconnectDelayMs);
  }

  PeerLink(int self, int peer, ManagedChannel channel, ScheduledExecutorService scheduler, int queueMax,
      long queueBytesMax, long reconnectDelayMs) {
    this.bytesMax = queueBytesMax;
    this.self = self;
    this.peer = peer;
    this.channel = channel;
    this.scheduler = scheduler;
    this.reconnectDelayMs = reconnectDelayMs;
    this.queue = new ArrayBlockingQueue<>(queueMax);
  }

  void send(SignedMessage message) {
    if (closed) {
      return;
    }
    int size = message.getSerializedSize();
    boolean fits = bytes.addAndGet(size) <= bytesMax;
    if (!fits || !queue.offer(message)) {
      bytes.addAndGet(-size);
      long d = dropped.incrementAndGet();
      if (Long.bitCount(d) == 1) {
        log.warn("replica {}: queue to peer {} full ({}), {} messages dropped so far", self, peer,
            fits ? "peerQueueMax messages" : "peerQueueBytesMax bytes", d);
      }
    }
    drain();
  }

  long dropped() {
    return dropped.get();
  }

  long sent() {
    return sent.get();
  }

  /** Messages waiting for this peer. */
  int queued() {
    return queue.size();
  }

  /** Bytes of the messages waiting for this peer. */
  long queuedBytes() {
    return bytes.get();
  }

  private synchronized void drain() {
    if (closed) {
      return;
    }
    if (stream == null) {
      connect();
      return;
    }
    while (stream.isReady()) {
      SignedMessage m = queue.poll();
      if (m == null) {
        return;
      }
      bytes.addAndGet(-m.getSerializedSize());
      stream.onNext(m);
      sent.incrementAndGet();
    }
  }

  private synchronized void connect() {
    if (connecting || stream != null || closed) {
      return;
    }
    connecting = true;
    ReplicaServiceGrpc.newStub(channel).stream(new ClientResponseObserver<SignedMessage, Ack>() {
      private ClientCallStreamObserver<SignedMessage> call;

      @Override
      public void beforeStart(ClientCallStreamObserver<SignedMessage> requestStream) {
        call = requestStream;
        synchronized (PeerLink.this) {
          stream = requestStream;
          connecting = false;
        }
        requestStream.setOnReadyHandler(PeerLink.this::drain);
      }

      @Override
      public void onNext(Ack value) {}

      @Override
      public void onError(Throwable t) {
        log.debug("replica {}: stream to peer {} broke: {}", self, peer, t.toString());
        broken(call);
      }

      @Override
      public void onCompleted() {
        broken(call);
      }
    });
  }

  private void broken(ClientCallStreamObserver<SignedMessage> call) {
    synchronized (this) {
      if (stream == call) {
        stream = null;
      }
    }
    if (!closed) {
      scheduler.schedule(this::drain, reconnectDelayMs, TimeUnit.MILLISECONDS);
    }
  }

  /** The id of the peer this link sends to. */
  int peer() {
    return peer;
  }

  @Override
  public void close() {
    ClientCallStreamObserver<SignedMessage> s;
    synchronized (this) {
      closed = true;
      s = stream;
      stream = null;
    }
    if (s != null) {
      try {
        s.onCompleted();
      } catch (RuntimeException ignored) {
        // already broken
      }
    }
    channel.shutdown();
  }

  void awaitClosed() throws InterruptedException {
    if (!channel.awaitTermination(2, TimeUnit.SECONDS)) {
      channel.shutdownNow();
    }
  }
}

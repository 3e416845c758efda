package io.pbft.cli.bench;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.SignedRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the replaying client ({@link FloodingClient.Kind#REPLAY}) sends: other clients' requests,
 * read from the file bench's own clients append every request they send to ({@link
 * RequestCapture}; a process of its own cannot overhear them otherwise). A thread tails the file
 * and picks captured requests at a bounded rate; each one picked is replayed twice to every
 * replica, {@value #SOON_MS} ms after it was read (while the original may still be on its way to
 * execution) and {@value #LATE_MS} ms after (long after it executed, usually past a checkpoint).
 * Requests already in the file when the replayer starts are skipped: it overhears from then on.
 *
 * <p>Each replica's session thread takes its copies with {@link #next}; a replica whose session is
 * down misses the copies that find its queue full. Picking at most {@value #REPLAYS_PER_SECOND} / 2
 * requests a second bounds the replays to {@value #REPLAYS_PER_SECOND} a second (each to every
 * replica): the point is what replicas do with a replay, not how many they can take (that is the
 * flooder's).
 */
final class Replays implements AutoCloseable {
  static final long SOON_MS = 100;
  static final long LATE_MS = 3_000;
  static final int REPLAYS_PER_SECOND = 50;
  /** How often the file is read and due replays handed out. */
  private static final long POLL_MS = 10;
  /** Copies waiting for one replica's session, beyond which they are dropped. */
  private static final int QUEUED_PER_REPLICA = 64;

  private record Due(long atNanos, boolean late, SignedRequest request) {}

  private final Path file;
  private final List<BlockingQueue<SignedRequest>> queues = new ArrayList<>();
  private final PriorityQueue<Due> schedule = new PriorityQueue<>((a, b) -> Long.compare(a.atNanos, b.atNanos));
  private final AtomicLong captured = new AtomicLong();
  private final AtomicLong picked = new AtomicLong();
  private final AtomicLong replayedSoon = new AtomicLong();
  private final AtomicLong replayedLate = new AtomicLong();
  private final Thread thread;
  private volatile boolean closed;

  // The tail of the file (only the reading thread touches these).
  private FileChannel channel;
  private long skipUntil = -1;
  private long offset;
  private byte[] buffer = new byte[1 << 16];
  private int start;
  private int end;
  /** Requests that may be picked now: a token bucket of REPLAYS_PER_SECOND / 2 a second. */
  private double tokens = 1;
  private long tokensAtNanos = System.nanoTime();

  Replays(Path file, int replicas) {
    this.file = file;
    for (int r = 0; r < replicas; r++) {
      queues.add(new ArrayBlockingQueue<>(QUEUED_PER_REPLICA));
    }
    this.thread = new Thread(this::run, "replays");
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** The next replay due for {@code replicaId}, or null if none became due within {@code waitMs}. */
  SignedRequest next(int replicaId, long waitMs) throws InterruptedException {
    return queues.get(replicaId).poll(waitMs, TimeUnit.MILLISECONDS);
  }

  /** What it read and replayed so far, for its log. */
  String describe() {
    return captured.get() + " requests overheard, " + picked.get() + " picked, replays due " + replayedSoon.get()
        + " soon after and " + replayedLate.get() + " long after they were sent";
  }

  private void run() {
    while (!closed) {
      try {
        read();
        handOut();
        Thread.sleep(POLL_MS);
      } catch (InterruptedException e) {
        return;
      } catch (IOException e) {
        if (!closed) {
          System.err.println("replays: cannot read " + file + ": " + e);
        }
        return;
      }
    }
  }

  /** Reads what was appended since the last call and picks among the complete requests. */
  private void read() throws IOException {
    if (channel == null) {
      channel = FileChannel.open(file, StandardOpenOption.READ);
      skipUntil = channel.size();
    }
    if (end == buffer.length) {
      if (start > 0) {
        System.arraycopy(buffer, start, buffer, 0, end - start);
        end -= start;
        start = 0;
      } else {
        buffer = Arrays.copyOf(buffer, buffer.length * 2);
      }
    }
    int n = channel.read(ByteBuffer.wrap(buffer, end, buffer.length - end), offset);
    if (n <= 0) {
      return;
    }
    end += n;
    offset += n;
    long endOffset = offset - (end - start); // file offset of buffer[start]
    while (start < end) {
      // A request is complete once its length and all its bytes are there; the writer may be
      // half-way through one.
      CodedInputStream in = CodedInputStream.newInstance(buffer, start, end - start);
      int length;
      try {
        length = in.readRawVarint32();
      } catch (InvalidProtocolBufferException truncated) {
        break;
      }
      int header = in.getTotalBytesRead();
      if (end - start - header < length) {
        break;
      }
      SignedRequest request = SignedRequest.parseFrom(
          CodedInputStream.newInstance(buffer, start + header, length));
      start += header + length;
      endOffset += header + length;
      if (endOffset <= skipUntil) {
        continue; // sent before the replayer started
      }
      captured.incrementAndGet();
      pick(request);
    }
    if (start == end) {
      start = 0;
      end = 0;
    }
  }

  private void pick(SignedRequest request) {
    long now = System.nanoTime();
    tokens = Math.min(1, tokens + (now - tokensAtNanos) / 1e9 * REPLAYS_PER_SECOND / 2);
    tokensAtNanos = now;
    if (tokens < 1) {
      return;
    }
    tokens -= 1;
    picked.incrementAndGet();
    schedule.add(new Due(now + TimeUnit.MILLISECONDS.toNanos(SOON_MS), false, request));
    schedule.add(new Due(now + TimeUnit.MILLISECONDS.toNanos(LATE_MS), true, request));
  }

  /** Hands every replay that is due to every replica's queue. */
  private void handOut() {
    long now = System.nanoTime();
    while (!schedule.isEmpty() && schedule.peek().atNanos - now <= 0) {
      Due due = schedule.poll();
      (due.late ? replayedLate : replayedSoon).incrementAndGet();
      for (BlockingQueue<SignedRequest> q : queues) {
        q.offer(due.request);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    try {
      if (channel != null) {
        channel.close();
      }
    } catch (IOException ignored) {
      // closing a file we only read
    }
  }
}

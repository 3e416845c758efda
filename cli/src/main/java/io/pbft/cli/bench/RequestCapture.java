package io.pbft.cli.bench;

import io.pbft.proto.SignedRequest;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * bench's tap for {@code --fault replaying-client}: the request listener of bench's own clients
 * ({@code PbftClientBuilder.requestListener}), appending every request they send to a file as
 * length-delimited {@code SignedRequest}s, which the replaying client's process tails ({@link
 * Replays}). A replayer on the network would overhear them; a process on the same machine needs
 * to be handed them. The clients only queue (they call the listener holding their lock); a thread
 * writes and flushes every {@value #FLUSH_MS} ms, so that the replayer sees a request within
 * milliseconds. Requests beyond {@value #QUEUED_MAX} waiting are not captured (the writer fell
 * behind): a replayer needs a sample, not every request.
 */
public final class RequestCapture implements Consumer<SignedRequest>, AutoCloseable {
  private static final int QUEUED_MAX = 10_000;
  private static final long FLUSH_MS = 10;

  private final Path file;
  private final OutputStream out;
  private final BlockingQueue<SignedRequest> queue = new LinkedBlockingQueue<>(QUEUED_MAX);
  private final Thread writer;
  private volatile boolean closed;

  private RequestCapture(Path file) throws IOException {
    this.file = file;
    this.out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
    this.writer = new Thread(this::write, "request-capture");
    writer.setDaemon(true);
    writer.start();
  }

  /** Creates (or empties) {@code file} and captures into it from now on. */
  public static RequestCapture open(Path file) {
    try {
      return new RequestCapture(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the request capture " + file, e);
    }
  }

  public Path file() {
    return file;
  }

  @Override
  public void accept(SignedRequest request) {
    if (!closed) {
      queue.offer(request);
    }
  }

  private void write() {
    List<SignedRequest> batch = new ArrayList<>();
    try {
      while (!closed || !queue.isEmpty()) {
        SignedRequest first = queue.poll(FLUSH_MS, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch);
        for (SignedRequest r : batch) {
          r.writeDelimitedTo(out);
        }
        batch.clear();
        out.flush();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      // The directory went away under us (bench is ending): the replayer just hears no more.
    }
  }

  /** Writes what is queued and closes the file. */
  @Override
  public void close() {
    closed = true;
    try {
      writer.join(TimeUnit.SECONDS.toMillis(5));
      out.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException ignored) {
      // nothing more to write
    }
  }
}

package io.pbft.chaos.grpc;

import io.pbft.chaos.outsider.Outsider;
import static io.pbft.chaos.grpc.ConnectionHygieneTest.garbage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.pbft.proto.StatusResponse;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A flood of garbage connections (HTTP/1.x requests, TLS handshakes, random bytes, HTTP/2 protocol
 * errors) costs the replica a counter each, by reason, and at most one log line per interval for
 * their address: no stack trace from gRPC or Netty, whose "Transport failed" used to log 25 lines
 * per connection.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GarbageLogTest {
  @TempDir
  Path dir;

  @Test
  void aFloodOfGarbageConnectionsLogsABoundedNumberOfLinesAndIsCountedByReason() throws Exception {
    Logger garbageLog = (Logger) LoggerFactory.getLogger("io.pbft.replica.runtime.Garbage");
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    Level level = garbageLog.getLevel();
    garbageLog.setLevel(Level.INFO);
    garbageLog.addAppender(lines);
    List<LogRecord> grpcRecords = new CopyOnWriteArrayList<>();
    Handler jul = new Handler() {
      @Override
      public void publish(LogRecord r) {
        grpcRecords.add(r);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    java.util.logging.Logger grpcLog = java.util.logging.Logger.getLogger("io.grpc");
    grpcLog.addHandler(jul);
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 1);
        Outsider outsiders = new Outsider()) {
      cluster.kvClient(0).put("before", "garbage");
      int port = cluster.config().replica(0).port();
      Random random = new Random(1);
      int each = 40;
      int closed = 0;
      for (int i = 0; i < each; i++) {
        byte[] noise = new byte[200];
        random.nextBytes(noise);
        noise[0] = 'x';
        closed += outsiders.sendAndAwaitClose(port, "GET / HTTP/1.1\r\nHost: replica\r\n\r\n".getBytes(StandardCharsets.US_ASCII)) ? 1 : 0;
        closed += outsiders.sendAndAwaitClose(port, new byte[] {0x16, 0x03, 0x01, 0x00, (byte) 0xa5, 0x01, 0x00}) ? 1 : 0;
        closed += outsiders.sendAndAwaitClose(port, noise) ? 1 : 0;
        closed += outsiders.sendAndAwaitClose(port, dataOnStreamZero()) ? 1 : 0;
      }
      assertEquals(4 * each, closed, "every garbage connection is closed by the replica");

      StatusResponse st = cluster.status(0);
      String why = GrpcCluster.describe(List.of(st));
      assertEquals(each, garbage(st, "not HTTP/2: an HTTP/1.x request"), why);
      assertEquals(each, garbage(st, "not HTTP/2: a TLS handshake on the plaintext port"), why);
      assertEquals(each, garbage(st, "not HTTP/2: bytes that are not the HTTP/2 preface"), why);
      assertEquals(each, garbage(st, "HTTP/2 PROTOCOL_ERROR: connection closed"), why);

      // one address (127.0.0.1), one interval: one line for the whole flood, no stack trace
      List<ILoggingEvent> replicaZero = lines.list.stream()
          .filter(e -> e.getFormattedMessage().startsWith("replica 0:")).toList();
      assertEquals(1, replicaZero.size(), () -> replicaZero.stream().map(ILoggingEvent::getFormattedMessage).toList().toString());
      assertTrue(replicaZero.stream().allMatch(e -> e.getThrowableProxy() == null));
      assertTrue(lines.list.size() <= 4, "at most one line per replica: " + lines.list.size());
      List<LogRecord> traces = grpcRecords.stream().filter(r -> r.getThrown() != null).toList();
      assertEquals(List.of(), traces.stream().map(r -> r.getLoggerName() + ": " + r.getMessage()).toList(),
          "gRPC logged stack traces");
      assertEquals(1, st.getGarbage().getLogLines(), why);

      cluster.kvClient(0).put("after", "garbage");
    } finally {
      grpcLog.removeHandler(jul);
      garbageLog.detachAppender(lines);
      garbageLog.setLevel(level);
    }
  }

  /** The HTTP/2 preface, an empty SETTINGS frame, then a DATA frame on stream 0 (a connection error). */
  static byte[] dataOnStreamZero() {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(Outsider.PREFACE);
    b.writeBytes(new byte[] {0, 0, 0, 0x4, 0, 0, 0, 0, 0});
    b.writeBytes(new byte[] {0, 0, 1, 0x0, 0, 0, 0, 0, 0, 42});
    return b.toByteArray();
  }
}

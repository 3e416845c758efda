package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ClusterConfig;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.app.kv.RocksKvStateMachine;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.runtime.ReplicaServer;
import io.pbft.replica.storage.FaultInjectingChannel;
import io.pbft.replica.storage.WriteAheadLog;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A durable replica whose disk fills up under load: it reports the failure clearly and stops
 * taking part (the other three go on), what it had written stays intact, and once there is room
 * again it restarts from its data directory, with no corruption found, and catches up; no
 * acknowledged put is lost.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class DiskFullTest {
  private static final int CLIENTS = 4;
  private static final int FULL = 2;
  /**
   * Bytes the log may write before the disk is "full": a dozen batches or so, so that it fills
   * in the first moments of the load, while the durable replica still keeps up with the others
   * (later it may lag, catch up by state transfer and write little).
   */
  private static final long ROOM = 48 << 10;

  @TempDir
  Path dir;

  private static ReplicaServer durable(ClusterConfig config, Path data, WriteAheadLog.Options options)
      throws java.io.IOException {
    return ReplicaServer.startDurable(config, FULL, config.replicaKeys(FULL), Behaviour.HONEST, null, data,
        RocksKvStateMachine::open, options);
  }

  @Test
  void replicaWhoseDiskFillsUpStopsTakingPartAndRecoversOnceThereIsRoom() throws Exception {
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, CLIENTS + 1, c -> c.withProtocol(PrimaryFailoverTest.fastSettings()))) {
      ClusterConfig config = cluster.config();
      Path data = dir.resolve("data-" + FULL);
      WriteAheadLog.Options fillsUp = WriteAheadLog.Options.defaults()
          .withOpener((file, options) -> new FaultInjectingChannel(FileChannel.open(file, options), ROOM, false));
      cluster.stop(FULL);
      ReplicaServer full = cluster.restartWith(FULL, () -> durable(config, data, fillsUp));

      try (PutLoad load = PutLoad.start(cluster, "disk-full", PutLoad.ids(0, CLIENTS), 32)) {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (full.failure() == null && System.nanoTime() - deadline < 0) {
          Thread.sleep(20);
        }
        String failure = full.failure();
        assertNotNull(failure, "the log never filled up: " + GrpcCluster.describe(List.of(cluster.status(FULL))));
        assertTrue(failure.startsWith("storage failure: write-ahead log failed"), failure);
        assertTrue(failure.contains("No space left on device"), failure);
        StatusResponse stopped = cluster.status(FULL);
        assertTrue(stopped.getStorageFailed());

        // The others (2f + 1 = 3) go on without it; it executes nothing more.
        long acked = load.acknowledgedCount();
        load.awaitAcknowledged(acked + 300, Duration.ofMinutes(2));
        assertEquals(stopped.getLastExecuted(), cluster.status(FULL).getLastExecuted(),
            "a replica that stopped taking part executed more");
        assertTrue(cluster.status(0).getLastExecuted() > stopped.getLastExecuted());

        // Room again: the same data directory opens without corruption, and the replica catches up.
        cluster.stop(FULL);
        ReplicaServer again = cluster.restartWith(FULL, () -> durable(config, data, WriteAheadLog.Options.defaults()));
        try (Stream<Path> entries = Files.list(data)) {
          List<String> names = entries.map(p -> p.getFileName().toString()).toList();
          assertTrue(names.stream().noneMatch(n -> n.contains("corrupt")), "set aside as corrupt: " + names);
        }
        assertNull(again.failure());
        load.awaitAcknowledged(load.acknowledgedCount() + 200, Duration.ofMinutes(1));
        load.stop();
        try (var kv = cluster.kvClient(CLIENTS)) {
          cluster.settle(kv);
        }
        List<StatusResponse> all = cluster.assertRunningReplicasAgree();
        assertEquals(4, all.size());
        assertFalse(cluster.status(FULL).getStorageFailed());
        assertEquals(0, load.failures(), "puts that failed: first " + load.firstFailure());
        load.assertEveryAcknowledgedPutIsRead();
      }
    }
  }
}

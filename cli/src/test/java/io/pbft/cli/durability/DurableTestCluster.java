package io.pbft.cli.durability;

import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.pbft.cli.cluster.LocalCluster;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.ReplicaInfo;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.StatusProbe;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * Four durable replica processes ({@code pbft replica --data-dir}) on 127.0.0.1, started through
 * {@link LocalCluster} so that every process is stopped and the directory (keys, logs, data)
 * deleted on {@link #close}, whatever happened. Small protocol bounds keep checkpoints, log
 * compaction and view changes frequent, so a short test exercises them all.
 */
final class DurableTestCluster implements AutoCloseable {
  /** Checkpoints every 16 batches, a window of 64, a backup suspects the primary after 500 ms. */
  static final UnaryOperator<ProtocolSettings> SMALL =
      p -> p.withCheckpointInterval(16).withWindowSize(64).withViewChangeTimeoutMs(500);

  final LocalCluster local;
  final ClusterConfig config;

  private DurableTestCluster(LocalCluster local, ClusterConfig config) {
    this.local = local;
    this.config = config;
  }

  /**
   * Generates keys for four replicas and {@code clients} clients, applies {@code protocol} to the
   * defaults, and starts the four replicas with their data directories; returns once all of them
   * answer the status RPC.
   */
  static DurableTestCluster start(String purpose, int clients, UnaryOperator<ProtocolSettings> protocol)
      throws InterruptedException {
    LocalCluster local = LocalCluster.create(purpose, new PrintWriter(System.err, true));
    try {
      ClusterConfig generated = local.generate(4, clients);
      ClusterConfig config = generated.withProtocol(protocol.apply(generated.protocol()));
      config.write(local.dir().resolve("cluster.yaml"));
      local.startDurableReplicas(config);
      local.awaitHealthy(StatusProbe.targets(config));
      return new DurableTestCluster(local, config);
    } catch (RuntimeException | InterruptedException | Error e) {
      local.close();
      throw e;
    }
  }

  Path dataDir(int id) {
    return local.dataDir(id);
  }

  /** SIGKILL, and wait until the process is gone. */
  void kill(int id) throws InterruptedException {
    local.kill(id);
  }

  /** SIGKILL to every replica at once (no replica outlives another by more than the signals' gap). */
  void killAll() throws InterruptedException {
    List<Process> processes = new ArrayList<>();
    for (int i = 0; i < config.n(); i++) {
      processes.add(local.process(i));
    }
    processes.forEach(Process::destroyForcibly);
    for (int i = 0; i < config.n(); i++) {
      local.kill(i); // marks it killed on purpose; already dead or dying
    }
  }

  /** Starts replica {@code id} again from its data directory, on its port. Does not wait. */
  void restart(int id) {
    local.startReplica(config, id, dataDir(id));
  }

  /** Waits until replica {@code id} answers the status RPC (fails if any process died by itself). */
  void awaitUp(int... ids) throws InterruptedException {
    List<StatusProbe.Target> targets = new ArrayList<>();
    for (int id : ids) {
      ReplicaInfo r = config.replica(id);
      targets.add(new StatusProbe.Target(id, r.host(), r.port()));
    }
    local.awaitHealthy(targets);
  }

  /** What replica {@code id}'s status RPC says now, or null if it does not answer within 2 s. */
  StatusResponse status(int id) {
    ReplicaInfo r = config.replica(id);
    // A fresh channel each time: one that saw the replica down may be in reconnect backoff.
    ManagedChannel channel = NettyChannelBuilder.forAddress(r.host(), r.port()).usePlaintext().build();
    try {
      return ClientServiceGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
          .status(StatusRequest.getDefaultInstance());
    } catch (RuntimeException e) {
      return null;
    } finally {
      channel.shutdownNow();
    }
  }

  List<StatusResponse> statuses() {
    List<StatusResponse> all = new ArrayList<>();
    for (int i = 0; i < config.n(); i++) {
      all.add(status(i));
    }
    return all;
  }

  /**
   * Waits until every replica answers with the same last executed sequence number and state
   * digest, and returns what they said; fails with their statuses if that does not happen
   * within {@code timeout}.
   */
  List<StatusResponse> awaitAgreement(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<StatusResponse> last;
    do {
      local.checkAlive();
      last = statuses();
      if (agree(last)) {
        return last;
      }
      Thread.sleep(250);
    } while (System.nanoTime() - deadline < 0);
    fail("replicas did not reach the same state within " + timeout.toSeconds() + " s:\n" + describe(last));
    return last;
  }

  static boolean agree(List<StatusResponse> statuses) {
    StatusResponse first = statuses.get(0);
    if (first == null) {
      return false;
    }
    for (StatusResponse s : statuses) {
      if (s == null || s.getLastExecuted() != first.getLastExecuted()
          || !s.getStateDigest().equals(first.getStateDigest())) {
        return false;
      }
    }
    return true;
  }

  static String describe(List<StatusResponse> statuses) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < statuses.size(); i++) {
      StatusResponse s = statuses.get(i);
      b.append("  replica ").append(i).append(": ");
      if (s == null) {
        b.append("unreachable\n");
      } else {
        b.append("view ").append(s.getView()).append(", last executed ").append(s.getLastExecuted())
            .append(", low watermark ").append(s.getLowWatermark()).append(", digest ")
            .append(HexFormat.of().formatHex(s.getStateDigest().toByteArray()), 0, 16)
            .append(", state transfers ").append(s.getStateTransfers())
            .append(", storage failed ").append(s.getStorageFailed()).append('\n');
      }
    }
    return b.toString();
  }

  /** The output of replica {@code id}'s latest process. */
  String log(int id) {
    try {
      return Files.readString(local.log(id), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The data directory's entries (names only), for messages. */
  static String listing(Path dir) {
    try (var s = Files.list(dir)) {
      return Arrays.toString(s.map(p -> p.getFileName().toString()).sorted().toArray());
    } catch (IOException e) {
      return "(cannot list " + dir + ": " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    local.close();
  }
}

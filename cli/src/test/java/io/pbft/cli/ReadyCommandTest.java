package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.pbft.config.ClusterConfig;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pbft ready} against replicas that only answer Status, each with a last executed we choose. */
class ReadyCommandTest {
  @TempDir
  Path dir;

  private final List<Server> servers = new ArrayList<>();

  @AfterEach
  void stop() {
    servers.forEach(Server::shutdownNow);
  }

  /** Four fake replicas on loopback, replica i answering lastExecuted[i] (negative: none runs); returns the config. */
  private Path cluster(long... lastExecuted) throws Exception {
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < lastExecuted.length; i++) {
      int id = i;
      long executed = lastExecuted[i];
      Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
          .addService(new ClientServiceGrpc.ClientServiceImplBase() {
            @Override
            public void status(StatusRequest request, StreamObserver<StatusResponse> out) {
              out.onNext(StatusResponse.newBuilder().setReplicaId(id).setLastExecuted(executed).build());
              out.onCompleted();
            }
          }).build().start();
      ports.add(s.getPort());
      if (executed < 0) {
        s.shutdownNow().awaitTermination(); // the port stays known, nothing answers there
      } else {
        servers.add(s);
      }
    }
    Run keygen = Run.of("keygen", "--replicas", String.valueOf(lastExecuted.length), "--clients", "1", "--no-tls",
        "--out", dir.toString()); // the fake replicas speak plaintext; TLS status calls are tested with real ones
    assertEquals(0, keygen.exitCode(), keygen.toString());
    Path yaml = dir.resolve("cluster.yaml");
    ClusterConfig moved = KeygenCommand.withAddresses(ClusterConfig.load(yaml), i -> "127.0.0.1", ports::get);
    moved.write(yaml);
    return yaml;
  }

  @Test
  void caughtUpReplicaIsReady() throws Exception {
    Path yaml = cluster(400, 400, 450, 400);
    Run run = Run.of("ready", "--config", yaml.toString(), "--id", "0");
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.out().contains("replica 0 is ready"), run.toString());
  }

  @Test
  void replicaBehindByMoreThanACheckpointIntervalIsNotReady() throws Exception {
    Path yaml = cluster(0, 400, 400, 400); // keygen's default checkpointInterval is 128
    Run run = Run.of("ready", "--config", yaml.toString(), "--id", "0");
    assertEquals(CliException.FAILED, run.exitCode(), run.toString());
    assertTrue(run.out().contains("is not ready: last executed 0 is 400 behind 400"), run.toString());
  }

  @Test
  void lagMaxWidensWhatCountsAsCaughtUp() throws Exception {
    Path yaml = cluster(0, 400, 400, 400);
    Run run = Run.of("ready", "--config", yaml.toString(), "--id", "0", "--lag-max", "400");
    assertEquals(0, run.exitCode(), run.toString());
  }

  @Test
  void replicaThatDoesNotAnswerIsNotReady() throws Exception {
    Path yaml = cluster(-1, 400, 400, 400);
    Run run = Run.of("ready", "--config", yaml.toString(), "--id", "0", "--timeout-ms", "1000");
    assertEquals(CliException.FAILED, run.exitCode(), run.toString());
    assertTrue(run.out().contains("does not answer"), run.toString());
  }

  @Test
  void withOnlyOnePeerAnsweringItCannotTell() throws Exception {
    Path yaml = cluster(400, 400, -1, -1);
    Run run = Run.of("ready", "--config", yaml.toString(), "--id", "0", "--timeout-ms", "1000", "--quiet");
    assertEquals(CliException.FAILED, run.exitCode(), run.toString());
    assertEquals("", run.out(), run.toString());
  }

  @Test
  void idOutsideTheGroupIsAUsageError() throws Exception {
    Path yaml = cluster(0, 0, 0, 0);
    Run run = Run.of("ready", "--config", yaml.toString(), "--id", "4");
    assertEquals(CliException.USAGE, run.exitCode(), run.toString());
  }
}

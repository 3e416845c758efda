package io.pbft.cli;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.replica.app.kv.KvStateMachine;
import io.pbft.replica.runtime.ReplicaServer;
import java.io.IOException;
import java.net.BindException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pbft replica}: runs one replica of the key-value store until SIGTERM or SIGINT. */
@Command(name = "replica", mixinStandardHelpOptions = true,
    description = "Run one replica of the replicated key-value store until SIGTERM/SIGINT.")
final class ReplicaCommand implements Callable<Integer> {
  @Option(names = "--config", paramLabel = "FILE", required = true, description = "The cluster.yaml written by keygen.")
  Path config;

  @Option(names = "--id", paramLabel = "I", required = true, description = "This replica's id in the configuration.")
  int id;

  @Override
  public Integer call() throws InterruptedException {
    ClusterConfig cfg = Configs.load(config);
    ReplicaInfo me = cfg.replica(id);
    Ed25519Keys keys = cfg.replicaKeys(id);
    ReplicaServer server;
    try {
      server = ReplicaServer.start(cfg, id, keys, new KvStateMachine());
    } catch (IOException e) {
      if (addressInUse(e)) {
        throw new CliException(CliException.FAILED, "address " + me.address() + " already in use", e);
      }
      throw new CliException(CliException.FAILED, "cannot start replica " + id + " on " + me.address() + ": "
          + e.getMessage(), e);
    }
    // close() is graceful (drains calls, then forces); the JVM waits for hooks before exiting.
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "pbft-replica-shutdown"));
    server.awaitTermination();
    return 0;
  }

  /**
   * Netty's native (epoll) transport reports EADDRINUSE as its own IOException subclass, not as
   * java.net.BindException, so the message is checked as well.
   */
  private static boolean addressInUse(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof BindException
          || (c.getMessage() != null && c.getMessage().contains("Address already in use"))) {
        return true;
      }
    }
    return false;
  }
}

package io.pbft.cli;

import io.pbft.cli.kube.CaughtUp;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.StatusProbe;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pbft ready}: exit 0 only when this replica answers and has caught up with its group
 * ({@link CaughtUp}). A readiness probe, where {@code pbft health} is a liveness one: a replica
 * that serves but is still fetching state is healthy and not ready.
 */
@Command(name = "ready", mixinStandardHelpOptions = true,
    description = {"Check that one replica has caught up: it answers its Status RPC, its storage works, and its "
        + "last executed sequence number is at most --lag-max behind what f + 1 of its peers report.",
        "Exit 0 if so, 1 if not (the reason is printed). The replica is asked at 127.0.0.1 on its configured port, "
            + "its peers at their configured addresses."})
final class ReadyCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", required = true, defaultValue = "${env:PBFT_CONFIG}",
      description = "The cluster configuration (env PBFT_CONFIG).")
  Path config;

  @Option(names = "--id", paramLabel = "I", required = true, defaultValue = "${env:PBFT_ID}",
      description = "Which replica (env PBFT_ID).")
  Integer id;

  @Option(names = "--address", paramLabel = "HOST:PORT",
      description = "Where to ask the replica itself (default: 127.0.0.1 and its configured port).")
  String address;

  @Option(names = "--lag-max", paramLabel = "SEQS",
      description = "Sequence numbers it may be behind and still be caught up (default: protocol.checkpointInterval).")
  Long lagMax;

  @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "2000",
      description = "Deadline of each Status call, all made at once (default ${DEFAULT-VALUE}).")
  long timeoutMs;

  @Option(names = "--quiet", description = "Print nothing; the exit code tells.")
  boolean quiet;

  @Override
  public Integer call() {
    if (timeoutMs <= 0) {
      throw CliException.usage("--timeout-ms must be positive, got " + timeoutMs);
    }
    if (lagMax != null && lagMax < 0) {
      throw CliException.usage("--lag-max must not be negative, got " + lagMax);
    }
    ClusterConfig cfg = Configs.load(config);
    if (id < 0 || id >= cfg.n()) {
      throw CliException.usage("--id " + id + " is not a replica of " + config + " (0.." + (cfg.n() - 1) + ")");
    }
    List<StatusProbe.Target> targets = new ArrayList<>();
    for (ReplicaInfo r : cfg.replicas()) {
      targets.add(r.id() == id ? self(r) : new StatusProbe.Target(r.id(), r.host(), r.port()));
    }
    OptionalLong own = OptionalLong.empty();
    boolean storageFailed = false;
    List<Long> peers = new ArrayList<>();
    try (StatusProbe probe = StatusProbe.open(targets, statusTls(cfg))) {
      for (StatusProbe.Answer a : probe.pollAll(Duration.ofMillis(timeoutMs))) {
        if (!a.reachable()) {
          continue;
        }
        StatusResponse s = a.status();
        if (a.target().id() == id) {
          own = OptionalLong.of(s.getLastExecuted());
          storageFailed = s.getStorageFailed();
        } else {
          peers.add(s.getLastExecuted());
        }
      }
    }
    long lag = lagMax != null ? lagMax : cfg.protocol().checkpointInterval();
    CaughtUp.Verdict v = CaughtUp.judge(own, storageFailed, peers, cfg.n(), cfg.f(), lag);
    if (!quiet) {
      PrintWriter out = spec.commandLine().getOut();
      out.println("replica " + id + (v.caughtUp() ? " is ready: " : " is not ready: ") + v.reason());
      out.flush();
    }
    return v.caughtUp() ? 0 : CliException.FAILED;
  }

  /**
   * With TLS on, the Status RPC answers only identities of the cluster: the probe runs beside the
   * replica (a Kubernetes pod holds only that replica's files), so it calls as that replica, or
   * as the operator or a client where those files are here instead. Null with TLS off.
   */
  private io.grpc.netty.shaded.io.netty.handler.ssl.SslContext statusTls(ClusterConfig cfg) {
    if (!cfg.tls().enabled()) {
      return null;
    }
    if (cfg.tlsFilesPresent(cfg.tls().replicaFiles(id))) {
      return io.pbft.client.ClientTls.context(cfg, cfg.replicaTls(id));
    }
    return io.pbft.client.ClientTls.adminContext(cfg);
  }

  private StatusProbe.Target self(ReplicaInfo r) {
    if (address == null) {
      return new StatusProbe.Target(r.id(), "127.0.0.1", r.port());
    }
    int colon = address.lastIndexOf(':');
    try {
      return new StatusProbe.Target(r.id(), address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
    } catch (RuntimeException e) {
      throw CliException.usage("--address must be HOST:PORT, got '" + address + "'");
    }
  }
}

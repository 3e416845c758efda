package io.pbft.cli;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.ReplicaInfo;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pbft keygen}: key pairs for every replica and client, and the cluster configuration. */
@Command(name = "keygen", mixinStandardHelpOptions = true,
    description = "Generate keys and a cluster configuration (DIR/cluster.yaml, DIR/keys/).")
final class KeygenCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--replicas", paramLabel = "N", defaultValue = "4", description = "Replicas (default ${DEFAULT-VALUE}).")
  int replicas;

  @Option(names = "--clients", paramLabel = "N", defaultValue = "8",
      description = "Client identities (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--out", paramLabel = "DIR", required = true, description = "Directory to write to.")
  Path out;

  @Option(names = "--base-port", paramLabel = "P", defaultValue = "7000",
      description = "Port of replica 0; replica i listens on P + i (default ${DEFAULT-VALUE}).")
  int basePort;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Host of every replica (default ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--hosts", paramLabel = "H0,H1,...", split = ",",
      description = {"One host name per replica instead of --host, e.g. container names: replica i is at Hi and "
          + "every replica listens on --base-port."})
  List<String> hosts;

  @Option(names = "--published-base-port", paramLabel = "P",
      description = {"Also write DIR/cluster-host.yaml, the same cluster as seen from the Docker host: replica i at "
          + "127.0.0.1:P + i (where its container port is published)."})
  Integer publishedBasePort;

  @Option(names = "--faults", paramLabel = "F",
      description = "Faulty replicas to tolerate; needs replicas >= 3F + 1 (default: the most the replica count allows).")
  Integer faults;

  @Option(names = "--force", description = "Overwrite an existing DIR/cluster.yaml and its keys.")
  boolean force;

  @Override
  public Integer call() {
    if (faults != null && faults < 0) {
      throw CliException.usage("--faults must not be negative, got " + faults);
    }
    if (Files.exists(out) && !Files.isDirectory(out)) {
      throw CliException.usage("--out " + out + " exists and is not a directory");
    }
    Path yaml = out.resolve("cluster.yaml");
    if (Files.exists(yaml) && !force) {
      throw CliException.usage(yaml + " already exists; pass --force to overwrite it (and its keys)");
    }
    if (hosts != null) {
      if (spec.commandLine().getParseResult().hasMatchedOption("--host")) {
        throw CliException.usage("--host and --hosts cannot be combined");
      }
      if (hosts.size() != replicas) {
        throw CliException.usage("--hosts names " + hosts.size() + " hosts but --replicas is " + replicas
            + " (give one host per replica)");
      }
      for (String h : hosts) {
        if (h.isBlank() || h.contains(":")) {
          throw CliException.usage("--hosts: '" + h + "' is not a host name");
        }
      }
      if (basePort < 1 || basePort > 65535) {
        throw CliException.usage("--base-port " + basePort + " is out of range");
      }
    }
    if (publishedBasePort != null && (publishedBasePort < 1 || publishedBasePort + replicas - 1 > 65535)) {
      throw CliException.usage("--published-base-port " + publishedBasePort + " leaves no room for " + replicas
          + " ports");
    }
    ClusterConfig config = ClusterSetup.generate(out, replicas, clients, host, basePort,
        faults == null ? -1 : faults, new SecureRandom());
    if (hosts != null) {
      // every replica at its own host name, all on the same port (containers on one network)
      config = withAddresses(config, i -> hosts.get(i).strip(), i -> basePort);
      config.write(yaml);
    }
    PrintWriter o = spec.commandLine().getOut();
    o.printf("wrote %s: n = %d replicas (f = %d), %d clients, replicas at %s..%s%n", yaml, config.n(), config.f(),
        config.clients().size(), config.replica(0).address(), config.replica(config.n() - 1).address());
    o.printf("wrote %d private keys to %s (keep them secret)%n", config.n() + config.clients().size(),
        out.resolve("keys"));
    if (publishedBasePort != null) {
      Path hostYaml = out.resolve("cluster-host.yaml");
      ClusterConfig hostSide = withAddresses(config, i -> "127.0.0.1", i -> publishedBasePort + i);
      hostSide.write(hostYaml);
      o.printf("wrote %s: the same cluster seen from the host, replicas at %s..%s%n", hostYaml,
          hostSide.replica(0).address(), hostSide.replica(hostSide.n() - 1).address());
    }
    o.printf("start replica I with: pbft replica --config %s --id I%n", yaml);
    o.flush();
    return 0;
  }

  /** The same keys and settings with replica i at host(i):port(i). */
  static ClusterConfig withAddresses(ClusterConfig c, java.util.function.IntFunction<String> host,
      java.util.function.IntUnaryOperator port) {
    List<ReplicaInfo> moved = new ArrayList<>();
    for (ReplicaInfo r : c.replicas()) {
      moved.add(new ReplicaInfo(r.id(), host.apply(r.id()), port.applyAsInt(r.id()), r.publicKey(), r.keyFile()));
    }
    return new ClusterConfig(moved, c.clients(), c.f(), c.protocol(), c.transport(), c.baseDir(), c.authentication());
  }
}

package io.pbft.cli;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
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
    ClusterConfig config = ClusterSetup.generate(out, replicas, clients, host, basePort,
        faults == null ? -1 : faults, new SecureRandom());
    PrintWriter o = spec.commandLine().getOut();
    o.printf("wrote %s: n = %d replicas (f = %d), %d clients, replicas at %s..%s%n", yaml, config.n(), config.f(),
        config.clients().size(), config.replica(0).address(), config.replica(config.n() - 1).address());
    o.printf("wrote %d private keys to %s (keep them secret)%n", config.n() + config.clients().size(),
        out.resolve("keys"));
    o.printf("start replica I with: pbft replica --config %s --id I%n", yaml);
    o.flush();
    return 0;
  }
}

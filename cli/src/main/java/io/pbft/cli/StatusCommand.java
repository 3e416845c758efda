package io.pbft.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pbft.cli.cluster.ClusterStatus;
import io.pbft.cli.cluster.StatusReport;
import io.pbft.config.ClusterConfig;
import io.pbft.config.Membership;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pbft status}: every replica's epoch, view, progress and state digest, and the group's membership. */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = {"Show every replica's epoch, view, progress and state digest, whether they agree, and the "
        + "membership of the epoch they are in (with a reconfiguration pending, if any).",
        "Exits 1 if any replica is unreachable."})
final class StatusCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", required = true, description = "The cluster.yaml written by keygen.")
  Path config;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "2000",
      description = "Deadline of each replica's status call (default ${DEFAULT-VALUE}).")
  long timeoutMs;

  @Override
  public Integer call() throws JsonProcessingException {
    if (timeoutMs <= 0) {
      throw CliException.usage("--timeout-ms must be positive, got " + timeoutMs);
    }
    ClusterConfig cfg = Configs.load(config);
    // At the addresses the group's checked chain of changes names (a moved replica where it runs now).
    ClusterStatus.Snapshot snapshot = ClusterStatus.pollFollowing(cfg, Duration.ofMillis(timeoutMs));
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      ObjectNode root = StatusReport.JSON.createObjectNode();
      root.set("replicas", StatusReport.toJson(snapshot));
      root.put("agree", snapshot.reachableAgree());
      root.set("membership", StatusReport.membershipJson(snapshot, Membership.initial(cfg)));
      out.println(StatusReport.JSON.writeValueAsString(root));
    } else {
      StatusReport.printTable(snapshot, out);
      out.println(StatusReport.agreementLine(snapshot));
      StatusReport.epochLines(snapshot, Membership.initial(cfg)).forEach(out::println);
    }
    out.flush();
    return snapshot.allReachable() ? 0 : CliException.FAILED;
  }
}

package io.pbft.cli.chaos;

import io.pbft.cli.CliException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code pbft chaos}: the chaos harness's commands. */
@Command(name = "chaos", mixinStandardHelpOptions = true,
    description = {"Byzantine fault injection: traitor replicas, a network nemesis, and checkers.",
        "The simulator runs whole groups from a seed, deterministically.",
        "Every failing seed prints the command that replays it."},
    subcommands = {SimCommand.class, ReplayCommand.class, BehavioursCommand.class})
public final class ChaosCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return CliException.USAGE;
  }
}

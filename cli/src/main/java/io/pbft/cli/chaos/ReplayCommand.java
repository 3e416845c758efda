package io.pbft.cli.chaos;

import io.pbft.chaos.script.ScriptReplay;
import io.pbft.chaos.script.ScriptRunner;
import io.pbft.cli.CliException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pbft chaos replay FILE}: runs a scenario script (a golden scenario, or a simulator seed
 * saved with {@code pbft chaos sim --seed S --script FILE}) against the real cores and prints it
 * with this run's outputs.
 */
@Command(name = "replay", mixinStandardHelpOptions = true,
    description = {"Replay a scenario script against the real cores and print it with this run's outputs.",
        "Exit code 0: every output matched the file and every check passed; 1: a difference or a failed check."},
    footer = {"", "Examples:",
        "  pbft chaos sim --seed 7 --script seed-7.txt && pbft chaos replay seed-7.txt",
        "  pbft chaos replay chaos/src/test/resources/scenarios/07-view-change-prepared.txt",
        "  pbft chaos replay --update my-scenario.txt   (write this run's outputs into the file)"})
final class ReplayCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Parameters(paramLabel = "FILE", description = "The script.")
  Path file;

  @Option(names = "--update", description = "Rewrite the file's expected outputs with this run's instead of comparing.")
  boolean update;

  @Override
  public Integer call() {
    if (!Files.isRegularFile(file)) {
      throw CliException.usage("no such script: " + file);
    }
    PrintWriter out = spec.commandLine().getOut();
    return ScriptReplay.replay(file, update, ScriptRunner.paper(), out) ? 0 : CliException.FAILED;
  }
}

package io.pbft.cli;

import io.pbft.client.PbftException;
import io.pbft.config.ConfigException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code pbft} command. Exit codes: 0 success, 1 the operation failed (timeout, unreachable
 * cluster, port in use, replicas disagree), 2 bad arguments or configuration.
 */
@Command(name = "pbft", mixinStandardHelpOptions = true, version = "pbft 0.1.0",
    description = "Byzantine fault tolerant replicated key-value store (PBFT).",
    subcommands = {KeygenCommand.class, AdminCommand.class, ReplicaCommand.class, KvCommand.class, StatusCommand.class,
        BenchCommand.class, DemoCommand.class, HealthCommand.class, ReadyCommand.class,
        io.pbft.cli.kube.KubeInitCommand.class, io.pbft.cli.chaos.ChaosCommand.class},
    commandListHeading = "%nCommands:%n",
    footer = {"", "Exit codes: 0 ok, 1 operation failed, 2 bad arguments or configuration.",
        "Log level: --log-level LEVEL or PBFT_LOG_LEVEL (default INFO); logs go to stderr."})
public final class Main implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  @Spec
  CommandSpec spec;

  // A setter, not a field: the level must take effect while the arguments are parsed, before
  // any subcommand logs. INHERIT makes it valid after any subcommand name as well.
  @Option(names = "--log-level", paramLabel = "LEVEL", scope = ScopeType.INHERIT,
      description = "TRACE, DEBUG, INFO, WARN, ERROR or OFF (default: $PBFT_LOG_LEVEL or INFO).")
  void setLogLevel(String level) {
    if (level != null && !Logging.setLevel(level)) {
      throw new ParameterException(spec.commandLine(),
          "invalid --log-level '" + level + "' (expected one of TRACE, DEBUG, INFO, WARN, ERROR, OFF)");
    }
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return CliException.USAGE;
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line; tests call {@code execute} on it with their own writers. */
  public static CommandLine commandLine() {
    Logging.initFromEnvironment();
    CommandLine cl = new CommandLine(new Main());
    cl.setParameterExceptionHandler(Main::usageError);
    cl.setExecutionExceptionHandler((e, cmd, parseResult) -> failure(e, cmd));
    return cl;
  }

  private static int usageError(ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    PrintWriter err = cmd.getErr();
    err.println("error: " + e.getMessage());
    UnmatchedArgumentException.printSuggestions(e, err);
    err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
    err.flush();
    return CliException.USAGE;
  }

  /** Maps what a command threw to a one-line message and an exit code. */
  private static int failure(Exception e, CommandLine cmd) {
    Throwable t = unwrap(e);
    if (t instanceof ParameterException pe) {
      return usageError(pe, new String[0]);
    }
    PrintWriter err = cmd.getErr();
    int code;
    if (t instanceof CliException c) {
      code = c.exitCode();
    } else if (t instanceof ConfigException) {
      code = CliException.USAGE;
    } else if (t instanceof PbftException) {
      code = CliException.FAILED;
    } else if (t instanceof IllegalArgumentException) {
      // the client and config builders report inconsistent inputs this way
      code = CliException.USAGE;
    } else {
      // A bug rather than a user error: still one line, with the trace a --log-level DEBUG away.
      err.println("error: unexpected failure: " + t
          + (log.isDebugEnabled() ? "" : " (run with --log-level DEBUG for details)"));
      log.debug("unexpected failure", t);
      err.flush();
      return CliException.FAILED;
    }
    err.println("error: " + brief(t.getMessage()));
    log.debug("command failed", t);
    err.flush();
    return code;
  }

  /**
   * The first line of a message, at most 400 characters: some library messages embed a gRPC
   * status whose cause carries a whole stack trace, which users must not get as an error line.
   */
  public static String brief(String message) {
    if (message == null) {
      return "(no message)";
    }
    int newline = message.indexOf('\n');
    String line = (newline < 0 ? message : message.substring(0, newline)).strip();
    return line.length() <= 400 ? line : line.substring(0, 400) + "...";
  }

  static Throwable unwrap(Throwable t) {
    while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}

package io.pbft.cli;

import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.client.PbftException;
import io.pbft.client.PbftUnavailableException;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.kv.KvOperations;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code pbft kv}: one key-value operation through the replicated store. Keys and values are
 * UTF-8 text; results go to stdout alone so scripts can use them.
 */
@Command(name = "kv", mixinStandardHelpOptions = true,
    description = "Run one operation on the replicated key-value store.",
    subcommands = {KvCommand.Put.class, KvCommand.Get.class, KvCommand.Delete.class, KvCommand.Cas.class},
    commandListHeading = "%nOperations:%n")
final class KvCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(KvCommand.class);

  @Spec
  CommandSpec spec;

  // INHERIT: the options may also follow the operation name (`kv put k v --client 0 ...`).
  @Option(names = "--config", paramLabel = "FILE", required = true, scope = ScopeType.INHERIT,
      description = "The cluster.yaml written by keygen.")
  Path config;

  @Option(names = "--client", paramLabel = "C", required = true, scope = ScopeType.INHERIT,
      description = "Client identity (its key file is named in the configuration).")
  int clientId;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10", scope = ScopeType.INHERIT,
      description = "Give up after this long (default ${DEFAULT-VALUE}).")
  double timeoutSeconds;

  @Override
  public Integer call() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
        "missing operation: put KEY VALUE | get KEY | delete KEY | cas KEY (EXPECTED | --expect-absent) NEW");
  }

  /** Runs {@code operation} with a client built from the options, mapping failures to exit codes. */
  <T> T run(Function<KvClient, CompletableFuture<T>> operation) {
    if (!(timeoutSeconds > 0) || timeoutSeconds > 86_400) {
      throw CliException.usage("--timeout must be between 0 and 86400 seconds, got " + timeoutSeconds);
    }
    Duration timeout = Duration.ofMillis((long) (timeoutSeconds * 1000));
    ClusterConfig cfg = Configs.load(config);
    cfg.client(clientId); // fails early, with the config's message, for an unknown client id
    PbftClient client = PbftClient.newBuilder()
        .config(cfg)
        .clientId(clientId)
        .operationTimeout(timeout)
        // with TLS, the client's own certificate too when its files are here (optional for replicas)
        .clientCertificate(cfg.tls().enabled() && cfg.tlsFilesPresent(cfg.tls().clientFiles(clientId)))
        // retransmit to every replica well within a short --timeout
        .requestTimeout(min(PbftClient.DEFAULT_REQUEST_TIMEOUT, timeout.dividedBy(4)))
        .build();
    try (KvClient kv = KvClient.owning(client)) {
      CompletableFuture<T> result = operation.apply(kv);
      try {
        // the client enforces the timeout itself; this bound only guards against a lost future
        return result.get(timeout.toMillis() + 2_000, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        throw CliException.failed("no result from the cluster within " + seconds() + " s");
      } catch (ExecutionException e) {
        Throwable cause = Main.unwrap(e);
        if (cause instanceof PbftUnavailableException) {
          log.debug("cluster unreachable", cause);
          throw CliException.failed("cannot reach the cluster: none of its " + cfg.n() + " replicas ("
              + cfg.replicas().stream().map(ReplicaInfo::address).collect(Collectors.joining(", "))
              + ") accepted a session within " + seconds() + " s");
        }
        if (cause instanceof PbftException p) {
          throw p;
        }
        throw new PbftException("operation failed: " + cause, cause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw CliException.failed("interrupted (the operation may still execute)");
      }
    }
  }

  private String seconds() {
    return timeoutSeconds == Math.rint(timeoutSeconds) ? String.valueOf((long) timeoutSeconds)
        : String.valueOf(timeoutSeconds);
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private abstract static class Operation implements Callable<Integer> {
    @ParentCommand
    KvCommand kv;

    @Spec
    CommandSpec spec;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }
  }

  @Command(name = "put", mixinStandardHelpOptions = true, description = "Set KEY to VALUE; prints OK.")
  static final class Put extends Operation {
    @Parameters(index = "0", paramLabel = "KEY")
    String key;

    @Parameters(index = "1", paramLabel = "VALUE")
    String value;

    @Override
    public Integer call() {
      kv.run(c -> c.putAsync(utf8(key), utf8(value)));
      out().println("OK");
      out().flush();
      return 0;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true,
      description = {"Print the value of KEY; prints nothing (exit 0) if KEY has no value.",
          "A read-only read: every replica answers from its state and n - f matching answers are the "
              + "result; if they do not agree it is ordered like a write. --ordered orders it at once."})
  static final class Get extends Operation {
    @Parameters(index = "0", paramLabel = "KEY")
    String key;

    @Option(names = "--ordered", description = "Order the read through the three phases like a write.")
    boolean ordered;

    @Override
    public Integer call() {
      KvClient.ReadMode mode = ordered ? KvClient.ReadMode.ORDERED : KvClient.ReadMode.READ_ONLY;
      Optional<byte[]> value = kv.run(c -> c.getAsync(utf8(key), mode));
      value.ifPresent(v -> out().println(text(v)));
      out().flush();
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete KEY; prints 'deleted' or 'not found'.")
  static final class Delete extends Operation {
    @Parameters(index = "0", paramLabel = "KEY")
    String key;

    @Override
    public Integer call() {
      boolean deleted = kv.run(c -> c.deleteAsync(utf8(key)));
      out().println(deleted ? "deleted" : "not found");
      out().flush();
      return 0;
    }
  }

  @Command(name = "cas", mixinStandardHelpOptions = true,
      description = {"Set KEY to NEW iff its value is EXPECTED (or it has none, with --expect-absent).",
          "Prints OK, or FAILED with the current value; a CAS that ran and failed still exits 0."})
  static final class Cas extends Operation {
    @Parameters(index = "0", paramLabel = "KEY")
    String key;

    /** Either EXPECTED NEW or --expect-absent NEW: the arity is checked in call(). */
    @Parameters(index = "1..*", paramLabel = "EXPECTED NEW", arity = "1..2")
    java.util.List<String> values;

    @Option(names = "--expect-absent", description = "Succeed only if KEY has no value (instead of EXPECTED).")
    boolean expectAbsent;

    @Override
    public Integer call() {
      int want = expectAbsent ? 1 : 2;
      if (values.size() != want) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), expectAbsent
            ? "with --expect-absent, cas takes KEY NEW (no EXPECTED value)"
            : "cas needs KEY EXPECTED NEW (or KEY NEW with --expect-absent)");
      }
      byte[] expected = expectAbsent ? null : utf8(values.get(0));
      byte[] newValue = utf8(values.get(want - 1));
      // Not KvClient.compareAndSet: on failure the user wants the current value, which only the
      // raw KvResult carries.
      KvResult result = kv.run(c -> c.pbftClient().invoke(KvOperations.cas(utf8(key), expected, newValue))
          .thenApply(Cas::parse));
      switch (result.getStatus()) {
        case OK -> out().println("OK");
        case CAS_FAILED -> out().println("FAILED (current value: "
            + (result.getFound() ? result.getValue().toStringUtf8() : "absent") + ")");
        default -> throw new PbftException("the replicas refused the cas: " + result.getStatus());
      }
      out().flush();
      return 0;
    }

    private static KvResult parse(byte[] bytes) {
      try {
        return KvResult.parseFrom(bytes);
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new PbftException("the replicas agreed on a result that is not a KvResult: "
            + "is this cluster running the key-value store?", e);
      }
    }
  }
}

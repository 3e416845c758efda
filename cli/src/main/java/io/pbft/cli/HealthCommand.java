package io.pbft.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.pbft.client.ClientTls;
import io.pbft.config.ClusterConfig;
import java.nio.file.Files;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pbft health}: one gRPC health check (grpc.health.v1) against one replica; exit 0 when it
 * answers SERVING. Meant for container health checks: with no {@code --address} it probes the
 * replica this container runs (PBFT_CONFIG and PBFT_ID, or PBFT_LISTEN's port) on 127.0.0.1.
 */
@Command(name = "health", mixinStandardHelpOptions = true,
    description = {"Check one replica with the gRPC health service; exit 0 if it is SERVING, 1 if not.",
        "Without --address: 127.0.0.1 and the port of replica $PBFT_ID in $PBFT_CONFIG (or of $PBFT_LISTEN)."})
final class HealthCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--address", paramLabel = "HOST:PORT", description = "The replica to check.")
  String address;

  @Option(names = "--config", paramLabel = "FILE", defaultValue = "${env:PBFT_CONFIG}",
      description = {"With --id instead of --address: the replica's port comes from this file (env PBFT_CONFIG).",
          "With TLS on in it, the check is made over TLS, the replica authenticated against its CA."})
  Path config;

  @Option(names = "--id", paramLabel = "I", defaultValue = "${env:PBFT_ID}",
      description = "With --config: which replica (env PBFT_ID).")
  Integer id;

  @Option(names = "--tls-ca", paramLabel = "FILE",
      description = "Check over TLS, the replica authenticated against this CA certificate (PEM); default: the CA of --config if it has TLS on.")
  Path tlsCa;

  @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "2000",
      description = "Deadline of the check (default ${DEFAULT-VALUE}).")
  long timeoutMs;

  @Option(names = "--quiet", description = "Print nothing; the exit code tells.")
  boolean quiet;

  @Override
  public Integer call() {
    if (timeoutMs <= 0) {
      throw CliException.usage("--timeout-ms must be positive, got " + timeoutMs);
    }
    String target = address != null ? address : localTarget();
    int colon = target.lastIndexOf(':');
    if (colon <= 0) {
      throw CliException.usage("--address must be HOST:PORT, got '" + target + "'");
    }
    String host = target.substring(0, colon);
    int port;
    try {
      port = Integer.parseInt(target.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw CliException.usage("--address: port in '" + target + "' is not a number");
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    PrintWriter out = spec.commandLine().getOut();
    // With TLS on in the configuration (--config or PBFT_CONFIG), the replica is checked against its
    // CA; the health service asks for no certificate of the caller.
    SslContext tls;
    try {
      tls = tlsCa != null ? GrpcSslContexts.forClient().trustManager(tlsCa.toFile()).build()
          : config != null && Files.isReadable(config) ? ClientTls.context(Configs.load(config), null) : null;
    } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
      throw CliException.usage("--tls-ca " + tlsCa + ": " + e.getMessage());
    }
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress(host, port);
    ManagedChannel channel = (tls != null ? builder.sslContext(tls) : builder.usePlaintext()).build();
    try {
      HealthCheckResponse r = HealthGrpc.newBlockingStub(channel)
          .withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)
          .check(HealthCheckRequest.getDefaultInstance());
      if (!quiet) {
        out.println(target + " " + r.getStatus());
        out.flush();
      }
      return r.getStatus() == HealthCheckResponse.ServingStatus.SERVING ? 0 : CliException.FAILED;
    } catch (StatusRuntimeException e) {
      throw CliException.failed(target + " is not healthy: " + e.getStatus().getCode()
          + (e.getStatus().getDescription() == null ? "" : " (" + e.getStatus().getDescription() + ")")
          + (tlsFailure(e) == null ? "" : " (TLS handshake failed: " + tlsFailure(e) + ")")
          + (tls == null && e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE
              ? "; checked without TLS: if the replica has TLS on, give --config FILE or --tls-ca FILE" : ""));
    } finally {
      channel.shutdownNow();
    }
  }

  private static String tlsFailure(Throwable t) {
    return ClientTls.handshakeFailure(t);
  }

  /** 127.0.0.1 and this container's replica port: from PBFT_LISTEN if it names one, else from the config. */
  private String localTarget() {
    String listen = System.getenv("PBFT_LISTEN");
    if (listen != null) {
      int colon = listen.lastIndexOf(':');
      if (colon >= 0 && listen.indexOf(':') == colon && colon < listen.length() - 1) {
        return "127.0.0.1:" + listen.substring(colon + 1).strip();
      }
    }
    if (config == null || id == null) {
      throw CliException.usage("give --address HOST:PORT, or --config FILE and --id I (or PBFT_CONFIG and PBFT_ID)");
    }
    ClusterConfig cfg = Configs.load(config);
    return "127.0.0.1:" + cfg.replica(id).port();
  }
}

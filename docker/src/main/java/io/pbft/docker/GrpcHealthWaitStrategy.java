package io.pbft.docker;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.testcontainers.containers.ContainerLaunchException;
import org.testcontainers.containers.wait.strategy.AbstractWaitStrategy;

/**
 * Waits until a replica's gRPC health service (grpc.health.v1, registered by every replica)
 * answers SERVING at a host address, polling every 100 ms. Fails early, with the container's
 * last log lines, when the container stops running (a bad configuration, a missing key).
 */
public final class GrpcHealthWaitStrategy extends AbstractWaitStrategy {
  private final String host;
  private final int port;
  private final SslContext tls;

  public GrpcHealthWaitStrategy(String host, int port) {
    this(host, port, null);
  }

  /** Over TLS {@code tls} (the replica authenticated; the health service asks no certificate); null: plaintext. */
  public GrpcHealthWaitStrategy(String host, int port, SslContext tls) {
    this.host = host;
    this.port = port;
    this.tls = tls;
  }

  @Override
  protected void waitUntilReady() {
    await(host, port, tls, startupTimeout, waitStrategyTarget::isRunning,
        () -> "container logs:\n" + ReplicaContainers.tail(waitStrategyTarget.getLogs(), 40));
  }

  /** Polls until SERVING; throws {@link ContainerLaunchException} on timeout or when {@code running} turns false. */
  static void await(String host, int port, SslContext tls, Duration timeout, BooleanSupplier running,
      Supplier<String> diagnostics) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no answer yet";
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress(host, port);
    ManagedChannel channel = (tls != null ? builder.sslContext(tls) : builder.usePlaintext()).build();
    try {
      while (true) {
        try {
          HealthCheckResponse r = HealthGrpc.newBlockingStub(channel)
              .withDeadlineAfter(1, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance());
          if (r.getStatus() == HealthCheckResponse.ServingStatus.SERVING) {
            return;
          }
          last = r.getStatus().toString();
        } catch (StatusRuntimeException e) {
          last = e.getStatus().getCode() + (e.getStatus().getDescription() == null ? ""
              : " (" + e.getStatus().getDescription() + ")");
        }
        if (!running.getAsBoolean()) {
          throw new ContainerLaunchException("the replica at " + host + ":" + port + " stopped before it was healthy; "
              + diagnostics.get());
        }
        if (System.nanoTime() > deadline) {
          throw new ContainerLaunchException("the replica at " + host + ":" + port + " was not healthy within "
              + timeout.toSeconds() + " s (last answer: " + last + "); " + diagnostics.get());
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new ContainerLaunchException("interrupted while waiting for " + host + ":" + port, e);
        }
      }
    } finally {
      channel.shutdownNow();
    }
  }
}

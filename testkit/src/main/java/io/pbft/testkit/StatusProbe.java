package io.pbft.testkit;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.pbft.client.ClientTls;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Asks replicas for their status over the ClientService.Status RPC, each under a deadline, on
 * channels of its own (so a status check never competes with, or depends on, a client's
 * sessions). A channel whose call failed has its reconnection backoff reset, so a replica that
 * was down answers as soon as it is back instead of after gRPC's next retry. Used by
 * {@code pbft status}, bench and demo, and by the process and container clusters.
 */
public final class StatusProbe implements AutoCloseable {
  /** Where to ask: a replica id and its address. */
  public record Target(int id, String host, int port) {
    public String address() {
      return host + ":" + port;
    }
  }

  /** What one replica answered, or why it could not be asked (then {@code status} is null). */
  public record Answer(Target target, StatusResponse status, String error) {
    public boolean reachable() {
      return status != null;
    }
  }

  private final Map<Integer, Target> targets = new LinkedHashMap<>();
  private final Map<Integer, ManagedChannel> channels = new LinkedHashMap<>();

  private StatusProbe(List<Target> targets, SslContext tls) {
    for (Target t : targets) {
      this.targets.put(t.id(), t);
      NettyChannelBuilder b = NettyChannelBuilder.forAddress(t.host(), t.port());
      channels.put(t.id(), (tls != null ? b.sslContext(tls) : b.usePlaintext()).build());
    }
  }

  /** Plaintext channels to {@code targets} (replicas with TLS off, or another plaintext server). */
  public static StatusProbe open(List<Target> targets) {
    return new StatusProbe(targets, null);
  }

  /**
   * Channels to {@code targets} with TLS {@code tls} (from {@link ClientTls#adminContext}: with TLS
   * on, the status RPC answers only callers with a certificate); null for plaintext.
   */
  public static StatusProbe open(List<Target> targets, SslContext tls) {
    return new StatusProbe(targets, tls);
  }

  /**
   * Every replica of {@code config}, at its configured address; with TLS on, as the operator (or
   * the first client whose certificate is here: {@link ClientTls#adminIdentity}).
   */
  public static StatusProbe open(ClusterConfig config) {
    return new StatusProbe(targets(config), ClientTls.adminContext(config));
  }

  public static List<Target> targets(ClusterConfig config) {
    List<Target> all = new ArrayList<>();
    for (ReplicaInfo r : config.replicas()) {
      all.add(new Target(r.id(), r.host(), r.port()));
    }
    return all;
  }

  public List<Target> targets() {
    return List.copyOf(targets.values());
  }

  /**
   * Replica {@code id}'s status.
   *
   * @throws IllegalStateException saying why, if it does not answer within {@code timeout}
   */
  public StatusResponse status(int id, Duration timeout) {
    Answer a = ask(id, timeout);
    if (!a.reachable()) {
      throw new IllegalStateException("replica " + id + " at " + a.target().address() + " does not answer: "
          + a.error());
    }
    return a.status();
  }

  /** One replica asked and its answer collected within {@code timeout}. */
  public Answer ask(int id, Duration timeout) {
    Target t = targets.get(id);
    if (t == null) {
      throw new IllegalArgumentException("no replica " + id + " among " + targets.keySet());
    }
    return collect(t, call(id, timeout), timeout);
  }

  /** One round: every replica asked at once, the answers collected within {@code timeout}, in target order. */
  public List<Answer> pollAll(Duration timeout) {
    List<Future<StatusResponse>> calls = new ArrayList<>();
    for (int id : targets.keySet()) {
      calls.add(call(id, timeout));
    }
    List<Answer> answers = new ArrayList<>();
    int i = 0;
    for (Target t : targets.values()) {
      answers.add(collect(t, calls.get(i++), timeout));
    }
    return answers;
  }

  private Future<StatusResponse> call(int id, Duration timeout) {
    return ClientServiceGrpc.newFutureStub(channels.get(id))
        .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .status(StatusRequest.getDefaultInstance());
  }

  private Answer collect(Target t, Future<StatusResponse> call, Duration timeout) {
    String error;
    try {
      // the deadline bounds each call; this wait is only a safety net
      return new Answer(t, call.get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS), null);
    } catch (ExecutionException e) {
      error = describe(e.getCause());
    } catch (TimeoutException e) {
      call.cancel(true);
      error = "no answer within " + timeout.toMillis() + " ms";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = "interrupted";
    }
    channels.get(t.id()).resetConnectBackoff();
    return new Answer(t, null, error);
  }

  private static String describe(Throwable t) {
    Status s = Status.fromThrowable(t);
    String d = s.getDescription();
    if (s.getCode() == Status.Code.UNAVAILABLE && s.getCause() != null && s.getCause().getMessage() != null) {
      d = s.getCause().getMessage(); // "Connection refused: ..." says more than "io exception"
      String tls = ClientTls.handshakeFailure(s.getCause());
      if (tls != null) {
        d = "TLS handshake failed: " + tls;
      }
    }
    return s.getCode() + (d == null ? "" : ": " + d);
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}

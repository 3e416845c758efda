package io.pbft.cli.bench;

import com.google.protobuf.ByteString;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.kv.KvStateMachine;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The baseline for {@code pbft bench --unreplicated}: the same {@link KvStateMachine} behind one
 * plain gRPC server. Operations arrive as the same serialized KvOperation inside a
 * {@link Request}, and results leave as a {@link Reply}, but there are no signatures, no MACs,
 * no agreement and a single copy of the state: what is left is the cost of gRPC and execution.
 *
 * <p>The service is declared by hand (a MethodDescriptor over existing messages) so that the
 * wire format module stays free of benchmark-only services. It also answers
 * ClientService.Status, so the same health and status polling works against it.
 */
public final class UnreplicatedServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(UnreplicatedServer.class);

  public static final MethodDescriptor<Request, Reply> EXECUTE = MethodDescriptor.<Request, Reply>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName("pbft.bench.Unreplicated", "Execute"))
      .setRequestMarshaller(ProtoUtils.marshaller(Request.getDefaultInstance()))
      .setResponseMarshaller(ProtoUtils.marshaller(Reply.getDefaultInstance()))
      .build();

  private final KvStateMachine app = new KvStateMachine();
  private final Server server;
  private long executed;

  private UnreplicatedServer(String host, int port) {
    ServerServiceDefinition execute = ServerServiceDefinition.builder("pbft.bench.Unreplicated")
        .addMethod(EXECUTE, ServerCalls.asyncUnaryCall(this::execute))
        .build();
    ServerServiceDefinition status = ServerServiceDefinition.builder(ClientServiceGrpc.SERVICE_NAME)
        .addMethod(ClientServiceGrpc.getStatusMethod(), ServerCalls.asyncUnaryCall(this::status))
        .build();
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .directExecutor() // handlers are short and never block, as in the replica
        .addService(execute)
        .addService(status)
        .build();
  }

  public static UnreplicatedServer start(String host, int port) throws IOException {
    UnreplicatedServer s = new UnreplicatedServer(host, port);
    s.server.start();
    log.info("unreplicated key-value server listening on {}:{}", host, s.port());
    return s;
  }

  public int port() {
    return server.getPort();
  }

  private void execute(Request request, StreamObserver<Reply> response) {
    byte[] result;
    // one copy of the state, executed in arrival order: the lock is the whole "protocol"
    synchronized (this) {
      executed++;
      result = app.execute(new ExecutionContext(executed), List.of(new Operation(request.getClientId(),
          request.getTimestamp(), request.getOperation().toByteArray()))).get(0);
    }
    response.onNext(Reply.newBuilder()
        .setTimestamp(request.getTimestamp())
        .setClientId(request.getClientId())
        .setResult(ByteString.copyFrom(result))
        .build());
    response.onCompleted();
  }

  private void status(StatusRequest request, StreamObserver<StatusResponse> response) {
    StatusResponse.Builder b = StatusResponse.newBuilder().setReplicas(1);
    synchronized (this) {
      b.setLastExecuted(executed).setStateDigest(ByteString.copyFrom(app.stateDigest()));
    }
    response.onNext(b.build());
    response.onCompleted();
  }

  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(3, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** {@code UnreplicatedServer --port P}: what bench starts in a process of its own. */
  public static void main(String[] args) throws InterruptedException {
    if (args.length != 2 || !args[0].equals("--port")) {
      System.err.println("usage: UnreplicatedServer --port P");
      System.exit(2);
    }
    int port;
    try {
      port = Integer.parseInt(args[1]);
    } catch (NumberFormatException e) {
      System.err.println("error: --port must be a number, got " + args[1]);
      System.exit(2);
      return;
    }
    UnreplicatedServer s;
    try {
      s = start("127.0.0.1", port);
    } catch (IOException e) {
      System.err.println("error: cannot listen on 127.0.0.1:" + port + ": " + e.getMessage());
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(s::close, "unreplicated-shutdown"));
    s.server.awaitTermination();
  }
}

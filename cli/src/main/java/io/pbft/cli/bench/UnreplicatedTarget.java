package io.pbft.cli.bench;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** Clients of the {@link UnreplicatedServer}: plain unary calls over one channel, no signatures. */
public final class UnreplicatedTarget implements KvTarget {
  private final ManagedChannel channel;
  private final int clients;
  private final Duration timeout;
  private final AtomicLong timestamps = new AtomicLong();

  public UnreplicatedTarget(String host, int port, int clients, Duration timeout) {
    this.channel = NettyChannelBuilder.forAddress(host, port).usePlaintext().build();
    this.clients = clients;
    this.timeout = timeout;
  }

  @Override
  public int clients() {
    return clients;
  }

  @Override
  public byte[] execute(int client, byte[] operation) {
    Request request = Request.newBuilder()
        .setClientId(client)
        .setTimestamp(timestamps.incrementAndGet())
        .setOperation(ByteString.copyFrom(operation))
        .build();
    Reply reply = ClientCalls.blockingUnaryCall(channel, UnreplicatedServer.EXECUTE,
        CallOptions.DEFAULT.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS), request);
    return reply.getResult().toByteArray();
  }

  @Override
  public void close() {
    channel.shutdownNow();
  }
}

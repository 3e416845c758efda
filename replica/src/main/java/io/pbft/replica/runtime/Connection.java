package io.pbft.replica.runtime;

import io.grpc.Context;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One accepted TCP connection, as {@link Connections} accounts for it: its remote address, its
 * open calls, how many authenticated streams it carries (established client sessions, peer
 * streams with a verified message), and, while it carries none, the bytes it has sent (charged
 * against {@code transport.unauthenticatedBytesMax}).
 */
final class Connection {
  /** The connection of the call being handled, set by {@link Connections#interceptor}. */
  static final Context.Key<Connection> CURRENT = Context.key("pbft-connection");

  /** The connection's channel; null for a call whose connection is unknown (accounted alone). */
  final Channel channel;
  final SocketAddress remote;
  /** The remote IP address (the key of the per-address bounds), or the remote address itself. */
  final Object address;
  final long openedNanos = System.nanoTime();
  final AtomicInteger calls = new AtomicInteger();
  final AtomicInteger authenticated = new AtomicInteger();
  /** Bytes read while unauthenticated with calls open, not yet refunded. */
  final AtomicLong charge = new AtomicLong();
  /** When the connection last had no call open (System.nanoTime); meaningful while calls == 0. */
  volatile long idleSinceNanos = openedNanos;
  /** Its streams displaced without having sent anything (see {@link Hygiene#SILENT_STREAMS_PER_CONNECTION_MAX}). */
  final AtomicInteger silentStreamsDropped = new AtomicInteger();
  /**
   * The TLS identity of the caller ({@code TlsIdentity}), or {@link #NO_TLS_IDENTITY} if it
   * presented no certificate; null until {@link TransportIdentity} first looked.
   */
  volatile Object tlsIdentity;
  static final Object NO_TLS_IDENTITY = new Object();
  /**
   * The Status and Membership queries its remote address may still make (one bucket for all the
   * address's connections, {@code transport.queriesPerSecondMax}); null for a call whose connection
   * is unknown.
   */
  volatile TokenBucket queries;
  /** The HTTP/2 connection preface has arrived. */
  volatile boolean http2;
  volatile boolean closing;

  Connection(Channel channel, SocketAddress remote) {
    this.channel = channel;
    this.remote = remote;
    this.address = remote instanceof InetSocketAddress a && a.getAddress() != null ? a.getAddress() : remote;
  }

  boolean isAuthenticated() {
    return authenticated.get() > 0;
  }

  /** The remote IP address as text, for logs. */
  String describe() {
    return Garbage.describe(remote);
  }

  /**
   * The context of the runtime's first handler in the connection's pipeline: a close issued there
   * reaches the socket at once, where one issued on the channel would first pass gRPC's handler,
   * which turns it into a graceful shutdown that waits for the other side (a GOAWAY, then a PING
   * it must answer).
   */
  volatile ChannelHandlerContext head;

  /** Closes the connection now (from any thread); what it carried ends with it. */
  void close() {
    closing = true;
    ChannelHandlerContext ctx = head;
    if (ctx != null) {
      ctx.close();
    } else if (channel != null) {
      channel.close();
    }
  }
}

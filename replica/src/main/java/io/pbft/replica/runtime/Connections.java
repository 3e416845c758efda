package io.pbft.replica.runtime;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelDuplexHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelFactory;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelPromise;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.util.ReferenceCountUtil;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.pbft.config.TransportSettings;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Filter;
import java.util.logging.Logger;

/**
 * Every TCP connection of one replica, from the moment it is accepted: the caps on connections
 * in total and per remote address ({@code transport.connectionsMax},
 * {@code connectionsPerAddressMax}), enforced before gRPC sees the connection; bytes that are not
 * HTTP/2, dropped and counted before gRPC's decoder logs a stack trace for them; HTTP/2 errors
 * (GOAWAY and RST_STREAM frames the replica sends), counted and logged in one line; the byte
 * budget of connections that carry no authenticated stream ({@code unauthenticatedBytesMax});
 * and connections without an authenticated stream that stay without a call for
 * {@code handshakeTimeoutMs}.
 *
 * <p>A connection is <em>authenticated</em> while it carries an established client session or a
 * peer stream with a verified message. When a cap is reached, the oldest unauthenticated
 * connection (of that address, or of all) is closed to make room, so connections that outsiders
 * hold open cannot keep a client or peer out; a new connection is refused only when every
 * connection in its way is authenticated.
 *
 * <p>Netty has no hook for this in gRPC's server builder other than the server channel itself:
 * {@link #serverChannels} makes server channels whose pipeline starts with {@link Acceptor},
 * which sees each accepted connection before gRPC's acceptor registers it.
 */
final class Connections {
  /** HTTP/2 connection preface (RFC 9113, section 3.4). */
  static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private final int replicaId;
  private final int max;
  private final int perAddressMax;
  private final long handshakeTimeoutNanos;
  private final long unauthenticatedBytesMax;
  private final Garbage garbage;
  private final boolean epoll = Epoll.isAvailable();
  final EventLoopGroup boss;
  final EventLoopGroup workers;

  private final LinkedHashMap<Channel, Connection> all = new LinkedHashMap<>(); // guarded by this; oldest first
  private final Map<Object, Integer> perAddress = new HashMap<>(); // guarded by this
  /** The query bucket of each address with a connection open (see {@link Connection#queries}); guarded by this. */
  private final Map<Object, TokenBucket> queries = new HashMap<>();
  private final int queriesPerSecond;
  private final ConcurrentHashMap<SocketAddress, Connection> byRemote = new ConcurrentHashMap<>();
  private final AtomicLong unauthenticatedBytes = new AtomicLong();
  private final AtomicLong accepted = new AtomicLong();

  /** The port speaks TLS: the preface and frames are watched on the decrypted bytes. */
  private final boolean tls;

  Connections(int replicaId, TransportSettings t, Garbage garbage) {
    this(replicaId, t, garbage, false);
  }

  Connections(int replicaId, TransportSettings t, Garbage garbage, boolean tls) {
    this.replicaId = replicaId;
    this.tls = tls;
    this.max = t.connectionsMax();
    this.perAddressMax = t.connectionsPerAddressMax();
    this.queriesPerSecond = t.queriesPerSecondMax();
    this.handshakeTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(t.handshakeTimeoutMs());
    this.unauthenticatedBytesMax = t.unauthenticatedBytesMax();
    this.garbage = garbage;
    DefaultThreadFactory bossThreads = new DefaultThreadFactory("pbft-accept-" + replicaId, true);
    DefaultThreadFactory workerThreads = new DefaultThreadFactory("pbft-net-" + replicaId, true);
    // One acceptor thread, as gRPC's default; transport.networkThreads network threads (0: Netty's
    // default), which then also carry this replica's streams to its peers (peerChannel).
    int threads = t.networkThreads();
    this.boss = epoll ? new EpollEventLoopGroup(1, bossThreads) : new NioEventLoopGroup(1, bossThreads);
    this.workers = epoll ? new EpollEventLoopGroup(threads, workerThreads) : new NioEventLoopGroup(threads, workerThreads);
    quietTransportLogs();
  }

  /**
   * Makes {@code builder}'s channel (to a peer) run on this replica's network threads instead of
   * gRPC's shared ones, with its callbacks on them too (they only drain a queue): a message the core
   * sends from a network thread (an inline event) then leaves without a hand-off whenever its
   * stream lives on that same thread.
   */
  NettyChannelBuilder peerChannel(NettyChannelBuilder builder) {
    return builder.eventLoopGroup(workers)
        .channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
        .directExecutor();
  }

  /** Server channels (epoll where available, as gRPC's default) whose accepted connections pass {@link Acceptor}. */
  ChannelFactory<ServerChannel> serverChannels() {
    return () -> {
      ServerChannel ch = epoll ? new EpollServerSocketChannel() : new NioServerSocketChannel();
      ch.pipeline().addLast(new Acceptor());
      return ch;
    };
  }

  /** Counts calls per connection and hands each call its {@link Connection} ({@link Connection#CURRENT}). */
  ServerInterceptor interceptor() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        Connection known = remote == null ? null : byRemote.get(remote);
        // a connection not accepted through Acceptor (cannot happen) is accounted alone
        Connection c = known != null ? known : new Connection(null, remote);
        if (c.closing) {
          call.close(Status.UNAVAILABLE.withDescription("connection closing"), new Metadata());
          return new ServerCall.Listener<>() { };
        }
        c.calls.incrementAndGet();
        ServerCall.Listener<Q> listener;
        try {
          listener = Contexts.interceptCall(Context.current().withValue(Connection.CURRENT, c), call, headers, next);
        } catch (RuntimeException e) {
          callEnded(c);
          throw e;
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
          @Override
          public void onComplete() {
            callEnded(c);
            super.onComplete();
          }

          @Override
          public void onCancel() {
            callEnded(c);
            super.onCancel();
          }
        };
      }
    };
  }

  private void callEnded(Connection c) {
    if (c.calls.decrementAndGet() == 0) {
      c.idleSinceNanos = System.nanoTime();
      refund(c); // nothing is buffered for a connection without calls
    }
  }

  /** {@code c} carries one more authenticated stream: from now on its bytes are not charged. */
  void authenticated(Connection c) {
    if (c != null && c.authenticated.getAndIncrement() == 0) {
      refund(c);
    }
  }

  /** One authenticated stream of {@code c} ended. */
  void unauthenticated(Connection c) {
    if (c != null) {
      c.authenticated.decrementAndGet();
    }
  }

  private void refund(Connection c) {
    long bytes = c.charge.getAndSet(0);
    if (bytes != 0) {
      unauthenticatedBytes.addAndGet(-bytes);
    }
  }

  private void charge(Connection c, int bytes) {
    if (c.isAuthenticated()) {
      return;
    }
    c.charge.addAndGet(bytes);
    if (unauthenticatedBytes.addAndGet(bytes) > unauthenticatedBytesMax) {
      shed();
    }
  }

  /** Closes the oldest unauthenticated connections holding charged bytes until the budget holds again. */
  private void shed() {
    List<Connection> victims = new ArrayList<>();
    synchronized (this) {
      long over = unauthenticatedBytes.get() - unauthenticatedBytesMax;
      for (Connection c : all.values()) {
        if (over <= 0) {
          break;
        }
        if (!c.isAuthenticated() && !c.closing && c.charge.get() > 0) {
          over -= c.charge.get();
          c.closing = true;
          victims.add(c);
        }
      }
    }
    for (Connection c : victims) {
      refund(c);
      garbage.count("connection over the unauthenticated byte budget", c.remote,
          "transport.unauthenticatedBytesMax " + unauthenticatedBytesMax + " bytes, all such connections together");
      c.close();
    }
  }

  /**
   * Admits a new connection, closing the oldest unauthenticated connection in the way of a cap;
   * null if it must be refused (every connection in the way is authenticated).
   */
  private Connection admit(Channel child) {
    SocketAddress remote = child.remoteAddress();
    Connection c = new Connection(child, remote);
    List<Connection> victims = new ArrayList<>(2);
    String refused = null;
    synchronized (this) {
      int mine = perAddress.getOrDefault(c.address, 0);
      if (mine >= perAddressMax) {
        Connection v = oldestUnauthenticated(c.address);
        if (v == null) {
          refused = "connection refused: connectionsPerAddressMax";
        } else {
          forget(v);
          victims.add(v);
        }
      }
      if (refused == null && all.size() >= max) {
        Connection v = oldestUnauthenticated(null);
        if (v == null) {
          refused = "connection refused: connectionsMax";
        } else {
          forget(v);
          victims.add(v);
        }
      }
      if (refused == null) {
        all.put(child, c);
        perAddress.merge(c.address, 1, Integer::sum);
        c.queries = queries.computeIfAbsent(c.address, a -> new TokenBucket(queriesPerSecond, System.nanoTime()));
        if (remote != null) {
          byRemote.put(remote, c);
        }
        accepted.incrementAndGet();
      }
    }
    for (Connection v : victims) {
      garbage.count("connection closed to make room for a newer one", v.remote,
          "it carried no authenticated stream; transport.connectionsMax " + max + ", connectionsPerAddressMax "
              + perAddressMax);
      refund(v);
      v.close();
    }
    if (refused != null) {
      garbage.count(refused, remote, "every connection in the way carries an authenticated stream");
      return null;
    }
    return c;
  }

  /** The oldest connection without an authenticated stream, of {@code address} (null: of any). */
  private Connection oldestUnauthenticated(Object address) {
    for (Connection c : all.values()) {
      if (!c.isAuthenticated() && (address == null || address.equals(c.address))) {
        return c;
      }
    }
    return null;
  }

  /** Takes {@code c} out of the bookkeeping (idempotent); guarded by this. */
  private void forget(Connection c) {
    if (all.remove(c.channel) != null) {
      if (perAddress.computeIfPresent(c.address, (k, n) -> n <= 1 ? null : n - 1) == null) {
        queries.remove(c.address);
      }
      if (c.remote != null) {
        byRemote.remove(c.remote, c);
      }
    }
  }

  private void closed(Connection c) {
    synchronized (this) {
      forget(c);
    }
    refund(c);
  }

  /** The connection a call arrived on, or null. */
  Connection byRemote(SocketAddress remote) {
    return remote == null ? null : byRemote.get(remote);
  }

  /**
   * Closes connections without an authenticated stream that have had no call for the handshake
   * timeout (idle sockets, slowloris that never completes a request, and tools whose calls ended).
   */
  void sweep(long now) {
    List<Connection> idle = new ArrayList<>();
    synchronized (this) {
      for (Connection c : all.values()) {
        if (!c.isAuthenticated() && !c.closing && c.calls.get() == 0 && now - c.idleSinceNanos > handshakeTimeoutNanos) {
          idle.add(c);
        }
      }
    }
    for (Connection c : idle) {
      if (c.http2) {
        garbage.countQuietly("connection closed: no authenticated stream and no call within handshakeTimeoutMs");
      } else {
        garbage.count("connection closed: no HTTP/2 within handshakeTimeoutMs", c.remote, null);
      }
      c.close();
    }
  }

  synchronized int size() {
    return all.size();
  }

  long accepted() {
    return accepted.get();
  }

  long unauthenticatedBytes() {
    return unauthenticatedBytes.get();
  }

  /** Closes the event loops this replica's server used (after the server has terminated). */
  void shutdown() {
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  /** First in each server channel's pipeline: admits or refuses each accepted connection. */
  @ChannelHandler.Sharable
  private final class Acceptor extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof Channel child)) {
        ctx.fireChannelRead(msg);
        return;
      }
      Connection c;
      try {
        c = admit(child);
      } catch (RuntimeException e) {
        child.unsafe().closeForcibly();
        throw e;
      }
      if (c == null) {
        child.unsafe().closeForcibly(); // not registered yet: close the socket at once
        return;
      }
      child.pipeline().addFirst("pbft-connection", tls ? new TlsGate(c) : new Watch(c));
      child.closeFuture().addListener(f -> closed(c));
      ctx.fireChannelRead(child);
    }
  }

  /**
   * First in each connection's pipeline when the port speaks TLS: what arrives must start a TLS
   * handshake (anything else is garbage, counted, and the connection closed); on the first bytes
   * it puts the {@link Watch} right after gRPC's TLS handler, where the bytes are HTTP/2 again.
   */
  private final class TlsGate extends ChannelInboundHandlerAdapter {
    private final Connection c;
    private boolean checked;

    TlsGate(Connection c) {
      this.c = c;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      c.head = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!checked && msg instanceof ByteBuf buf && buf.isReadable()) {
        checked = true;
        if ((buf.getByte(buf.readerIndex()) & 0xff) != 0x16) { // TLS record type handshake
          garbage.count(classifyOnTlsPort(buf), c.remote, null);
          ReferenceCountUtil.release(msg);
          c.close();
          return;
        }
        ChannelHandlerContext ssl = ctx.pipeline().context(SslHandler.class);
        if (ssl == null) {
          // gRPC adds its TLS handler when the connection is set up, before anything is read
          throw new IllegalStateException("no TLS handler in the pipeline of a TLS connection");
        }
        ctx.pipeline().addAfter(ssl.name(), "pbft-connection-http2", new Watch(c));
      }
      ctx.fireChannelRead(msg);
    }
  }

  /** What the first bytes on the TLS port look like when they do not start a TLS handshake. */
  static String classifyOnTlsPort(ByteBuf buf) {
    String plaintext = classify(buf, buf.readerIndex(), 0);
    return plaintext.startsWith("not HTTP/2: bytes") ? "not TLS: bytes that do not start a TLS handshake"
        : buf.readableBytes() >= 3 && buf.getByte(buf.readerIndex()) == 'P' && buf.getByte(buf.readerIndex() + 1) == 'R'
            ? "not TLS: plaintext HTTP/2 on the TLS port (a client without TLS?)"
            : "not TLS: " + plaintext.substring("not HTTP/2: ".length()) + " on the TLS port";
  }

  /**
   * First in each connection's pipeline (after the TLS handler, with TLS): checks the HTTP/2 preface, charges unauthenticated bytes,
   * and watches the frames the replica sends for GOAWAY and RST_STREAM errors.
   */
  private final class Watch extends ChannelDuplexHandler {
    private final Connection c;
    private int prefaceMatched;
    private final byte[] header = new byte[9];
    private int headerFill;
    private long skip;
    private int frameType = -1;
    private final byte[] payload = new byte[128];
    private int payloadFill;

    Watch(Connection c) {
      this.c = c;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      c.head = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf buf) {
        if (prefaceMatched < PREFACE.length && !checkPreface(buf)) {
          ReferenceCountUtil.release(msg);
          c.close();
          return;
        }
        charge(c, buf.readableBytes());
      }
      ctx.fireChannelRead(msg);
    }

    /** False (and counted) if {@code buf} shows that the peer does not speak HTTP/2. */
    private boolean checkPreface(ByteBuf buf) {
      int start = buf.readerIndex();
      int n = Math.min(buf.readableBytes(), PREFACE.length - prefaceMatched);
      for (int i = 0; i < n; i++) {
        if (buf.getByte(start + i) != PREFACE[prefaceMatched + i]) {
          garbage.count(classify(buf, start, prefaceMatched), c.remote, null);
          return false;
        }
      }
      prefaceMatched += n;
      if (prefaceMatched == PREFACE.length) {
        c.http2 = true;
      }
      return true;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (msg instanceof ByteBuf buf) {
        watch(buf);
      }
      ctx.write(msg, promise);
    }

    /** Follows the outbound frame boundaries; reports GOAWAY and RST_STREAM frames with an error. */
    private void watch(ByteBuf buf) {
      int i = buf.readerIndex();
      int end = buf.writerIndex();
      while (i < end) {
        if (skip > 0) {
          int n = (int) Math.min(skip, end - i);
          if (frameType >= 0) {
            int keep = Math.min(n, payload.length - payloadFill);
            buf.getBytes(i, payload, payloadFill, keep);
            payloadFill += keep;
          }
          i += n;
          skip -= n;
          if (skip == 0) {
            frameEnded();
          }
          continue;
        }
        header[headerFill++] = buf.getByte(i++);
        if (headerFill == header.length) {
          headerFill = 0;
          skip = ((header[0] & 0xffL) << 16) | ((header[1] & 0xffL) << 8) | (header[2] & 0xffL);
          int type = header[3] & 0xff;
          frameType = type == 0x7 || type == 0x3 ? type : -1; // GOAWAY, RST_STREAM
          payloadFill = 0;
          if (skip == 0) {
            frameEnded();
          }
        }
      }
    }

    private void frameEnded() {
      int type = frameType;
      frameType = -1;
      if (!c.channel.isActive()) {
        return; // the other side is gone: what gRPC writes now (GOAWAY INTERNAL_ERROR) answers a reset
      }
      if (type == 0x7 && payloadFill >= 8) {
        int code = readInt(payload, 4);
        if (code == 0x2) {
          // gRPC's answer to its own read failing (a connection reset mid-message): not garbage
          garbage.countQuietly("HTTP/2 INTERNAL_ERROR: connection closed");
        } else if (code != 0) {
          String debug = new String(payload, 8, payloadFill - 8, StandardCharsets.UTF_8).replaceAll("\\p{Cntrl}", " ").strip();
          garbage.count("HTTP/2 " + errorName(code) + ": connection closed", c.remote, debug);
        }
      } else if (type == 0x3 && payloadFill >= 4) {
        int code = readInt(payload, 0);
        if (code == 0x5) {
          // data for a stream this replica has just closed (a timeout, a bound): the sender's, not garbage
          garbage.countQuietly("HTTP/2 STREAM_CLOSED: stream reset");
        } else if (code != 0 && code != 0x8) {
          // NO_ERROR and CANCEL end calls normally (a client or this replica closing a stream)
          garbage.count("HTTP/2 " + errorName(code) + ": stream reset", c.remote, null);
        }
      }
    }
  }

  private static int readInt(byte[] b, int at) {
    return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
  }

  /** RFC 9113, section 7. */
  static String errorName(int code) {
    return switch (code) {
      case 0x1 -> "PROTOCOL_ERROR";
      case 0x2 -> "INTERNAL_ERROR";
      case 0x3 -> "FLOW_CONTROL_ERROR";
      case 0x4 -> "SETTINGS_TIMEOUT";
      case 0x5 -> "STREAM_CLOSED";
      case 0x6 -> "FRAME_SIZE_ERROR";
      case 0x7 -> "REFUSED_STREAM";
      case 0x9 -> "COMPRESSION_ERROR";
      case 0xa -> "CONNECT_ERROR";
      case 0xb -> "ENHANCE_YOUR_CALM";
      case 0xc -> "INADEQUATE_SECURITY";
      case 0xd -> "HTTP_1_1_REQUIRED";
      default -> "error " + code;
    };
  }

  /** What the first bytes of a connection that is not HTTP/2 look like. */
  static String classify(ByteBuf buf, int start, int alreadyMatched) {
    int first = alreadyMatched > 0 ? PREFACE[0] : buf.getByte(start) & 0xff;
    if (alreadyMatched == 0 && first == 0x16) {
      return "not HTTP/2: a TLS handshake on the plaintext port";
    }
    int n = Math.min(8, buf.readableBytes());
    byte[] head = new byte[n];
    buf.getBytes(start, head);
    String text = new String(head, StandardCharsets.ISO_8859_1);
    if (alreadyMatched == 0) {
      for (String method : List.of("GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "TRAC")) {
        if (text.startsWith(method)) {
          return "not HTTP/2: an HTTP/1.x request";
        }
      }
    }
    return "not HTTP/2: bytes that are not the HTTP/2 preface";
  }

  // ------------------------------------------------------------------ gRPC's own transport logs

  /**
   * gRPC logs every failed connection ("Transport failed") and stream error ("Stream Error") with
   * a stack trace through java.util.logging; garbage on the port is counted and logged in one line
   * by {@link Watch} instead. Only those records are filtered (the loggers are kept referenced,
   * since java.util.logging forgets the configuration of loggers that are collected).
   */
  private static final Set<String> QUIET = Set.of("Transport failed", "Stream Error", "Connection Error");
  private static final List<Logger> QUIETED = new ArrayList<>();

  static synchronized void quietTransportLogs() {
    if (!QUIETED.isEmpty()) {
      return;
    }
    Filter filter = record -> !(record.getThrown() != null && QUIET.contains(record.getMessage()));
    for (String name : List.of("io.grpc.netty.shaded.io.grpc.netty.NettyServerTransport.connections",
        "io.grpc.netty.shaded.io.grpc.netty.NettyServerHandler")) {
      Logger l = Logger.getLogger(name);
      l.setFilter(filter);
      QUIETED.add(l);
    }
  }
}

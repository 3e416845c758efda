package io.pbft.replica.runtime;

import io.grpc.Status;
import io.pbft.config.TransportSettings;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The connection and stream bounds of one replica, in one place: connections
 * ({@link Connections}), streams that have not authenticated yet ({@link PendingStreams}),
 * established client sessions ({@link ClientSessions}) and authenticated peer streams
 * ({@link PeerStreams}), the timeouts between them, and the count of garbage ({@link Garbage}).
 * A periodic sweep closes what timed out; everything else happens as streams open, authenticate
 * and end.
 */
final class Hygiene {
  final Garbage garbage;
  final Connections connections;
  final PendingStreams pending;
  final PeerStreams peerStreams = new PeerStreams();
  private final ClientSessions sessions;
  private final int handshakeTimeoutMs;
  private final long idleTimeoutNanos;
  private final int idleTimeoutMs;
  private ScheduledFuture<?> sweeper;

  Hygiene(int replicaId, TransportSettings t, ClientSessions sessions) {
    this(replicaId, t, sessions, false);
  }

  Hygiene(int replicaId, TransportSettings t, ClientSessions sessions, boolean tls) {
    this.garbage = new Garbage(replicaId, t.garbageLogIntervalMs());
    this.connections = new Connections(replicaId, t, garbage, tls);
    this.pending = new PendingStreams(t.pendingStreamsMax(), t.pendingStreamsPerAddressMax(), t.handshakeTimeoutMs());
    this.sessions = sessions;
    this.handshakeTimeoutMs = t.handshakeTimeoutMs();
    this.idleTimeoutMs = t.idleTimeoutMs();
    this.idleTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(t.idleTimeoutMs());
  }

  /** Starts the periodic sweep (on the acceptor thread, which has little else to do). */
  void start() {
    long period = Math.max(25, Math.min(1000, handshakeTimeoutMs / 4));
    sweeper = connections.boss.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.MILLISECONDS);
  }

  void stop() {
    if (sweeper != null) {
      sweeper.cancel(false);
    }
    connections.shutdown();
  }

  /**
   * A connection that carries no authenticated stream is closed, with everything on it, once this
   * many of its streams have been displaced (to make room for newer ones) without sending anything. A client sends
   * its handshake as soon as it opens a stream, so its streams are never silent long enough to be
   * displaced; an outsider's connection full of silent streams is closed at one stroke, instead of
   * being answered stream by stream (a rejection, headers and trailers each) while the rest of
   * its streams stay open and hold memory. Measured: 5,000 silent streams on 50 connections cost
   * the primary a young collection long enough (0.3-0.9 s on two shared cores) for the backups'
   * request timers to fire.
   */
  static final int SILENT_STREAMS_PER_CONNECTION_MAX = 8;
  static final String SILENT_CONNECTION_CLOSED = "connection closed: " + SILENT_STREAMS_PER_CONNECTION_MAX
      + " of its streams displaced without a handshake";

  /** A new stream: pending until it authenticates; may displace older pending streams. */
  void opened(GuardedStream s) {
    for (GuardedStream displaced : pending.admit(s)) {
      drop(displaced, true, "stream without handshake closed to make room for a newer one",
          "transport.pendingStreamsMax / pendingStreamsPerAddressMax", Status.RESOURCE_EXHAUSTED.withDescription(
              "too many streams without a completed handshake: the oldest are closed"));
    }
  }

  /**
   * Ends a pending stream taken out of {@link #pending}: with {@code status}, or, when it was
   * {@code displaced} while silent and its connection has had {@link
   * #SILENT_STREAMS_PER_CONNECTION_MAX} such streams displaced, by closing its whole connection.
   * A stream whose connection is closing already needs nothing written: it ends with the
   * connection. (Timeouts do not count towards closing a connection: they come at most one
   * handshake timeout after each stream opened, at the pace of the sweep, not in a burst.)
   */
  private void drop(GuardedStream s, boolean displaced, String why, String detail, Status status) {
    Connection c = s.connection;
    if (c.closing) {
      garbage.countQuietly(why);
      return;
    }
    if (displaced && !s.hasSpoken() && !c.isAuthenticated() && c.channel != null
        && c.silentStreamsDropped.incrementAndGet() >= SILENT_STREAMS_PER_CONNECTION_MAX) {
      garbage.count(why, c.remote, detail);
      garbage.count(SILENT_CONNECTION_CLOSED, c.remote, "and it carries no authenticated stream");
      c.close();
      return;
    }
    garbage.count(why, c.remote, detail);
    s.abort(status);
  }

  /**
   * The handshake of {@code s} has completed: it becomes an established session of its client.
   * False if it cannot (it ended or timed out meanwhile, or the replica serves its maximum of
   * sessions, in which case it is refused here); the caller then sends nothing more on it.
   */
  boolean establish(ClientSession s) {
    if (!pending.remove(s)) {
      return false;
    }
    List<ClientSession> displaced;
    // Under the session's lock, against ended(): either it has ended already, or it ends after
    // being registered and counted (and is then taken out again).
    synchronized (s) {
      if (s.hasEnded()) {
        return false;
      }
      displaced = sessions.register(s);
      if (displaced != null && s.countOnConnection()) {
        connections.authenticated(s.connection);
      }
    }
    if (displaced == null) {
      garbage.count("client handshake refused: clientSessionsMax", s.connection.remote, "client " + s.clientId());
      s.abort(Status.RESOURCE_EXHAUSTED.withDescription("the replica serves its maximum number of client sessions"));
      ended(s);
      return false;
    }
    for (ClientSession old : displaced) {
      garbage.countQuietly("session closed: replaced by a newer one of the same client");
      old.closeWith("replaced by a newer session of client " + old.clientId());
      ended(old);
    }
    return true;
  }

  /** A message of {@code s} has verified as one of {@code sender}'s; false if the stream ended meanwhile. */
  boolean authenticated(PeerStream s, int sender) {
    if (!pending.remove(s)) {
      return s.authenticated(); // already authenticated, or ended
    }
    List<PeerStream> displaced;
    synchronized (s) {
      if (s.hasEnded()) {
        return false;
      }
      displaced = peerStreams.register(sender, s);
      if (s.countOnConnection()) {
        connections.authenticated(s.connection);
      }
    }
    for (PeerStream old : displaced) {
      garbage.countQuietly("peer stream closed: replaced by a newer one of the same sender");
      old.abort(Status.UNAVAILABLE.withDescription("replaced by a newer stream of replica " + sender));
      ended(old);
    }
    return true;
  }

  /** {@code s} ended (any way, any number of times): it leaves the bookkeeping once. */
  void ended(ClientSession s) {
    ended(s, () -> sessions.closed(s));
  }

  void ended(PeerStream s) {
    ended(s, () -> peerStreams.closed(s));
  }

  private void ended(GuardedStream s, Runnable forget) {
    if (!s.markEnded()) {
      return;
    }
    pending.remove(s);
    forget.run();
    if (s.uncountOnConnection()) {
      connections.unauthenticated(s.connection);
    }
  }

  private void ended(GuardedStream s) {
    if (s instanceof ClientSession c) {
      ended(c);
    } else if (s instanceof PeerStream p) {
      ended(p);
    }
  }

  /** Closes what timed out. */
  void sweep() {
    long now = System.nanoTime();
    for (GuardedStream s : pending.expired(now)) {
      drop(s, false, "stream closed: no handshake within handshakeTimeoutMs",
          (s instanceof PeerStream ? "a peer stream without a verified message" : "a client stream") + " after "
              + handshakeTimeoutMs + " ms",
          Status.DEADLINE_EXCEEDED.withDescription("no " + (s instanceof PeerStream ? "verified message"
              : "signed handshake") + " within " + handshakeTimeoutMs + " ms"));
      ended(s);
    }
    long cutoff = now - idleTimeoutNanos;
    for (ClientSession s : sessions.idleSince(cutoff)) {
      garbage.countQuietly("session closed: idle for idleTimeoutMs");
      s.closeWith("session idle for " + idleTimeoutMs + " ms: closed (send a request to open it again)");
      ended(s);
    }
    for (PeerStream s : peerStreams.idleSince(cutoff)) {
      garbage.countQuietly("peer stream closed: idle for idleTimeoutMs");
      s.abort(Status.UNAVAILABLE.withDescription("peer stream idle for " + idleTimeoutMs + " ms"));
      ended(s);
    }
    connections.sweep(now);
  }
}

package io.pbft.config;

/**
 * Settings of the replica runtime and its gRPC transport (the {@code transport} section of
 * {@code cluster.yaml}): message and queue bounds, threads, the clock tick and the event loop.
 * Each setting is declared once below with its range, default, unit and meaning; instances are
 * immutable and valid, made by {@link #newBuilder()}, {@link #toBuilder()} or {@link #defaults()}.
 */
public final class TransportSettings extends GroupSettings {
  public static final SettingsGroup<TransportSettings> GROUP = new SettingsGroup<>("transport",
      "`transport`: the replica runtime and gRPC",
      "Bounds of the gRPC transport and of the runtime around the core (queues, threads, clock, event loop). "
          + "A bound that is reached drops and counts the surplus (see `pbft status`); nothing blocks. Clients "
          + "read messageBytesMax and reconnectDelayMs too.",
      TransportSettings::new);

  public static final Setting MESSAGE_BYTES_MAX = GROUP.setting("messageBytesMax", "bytes", 4096, 1 << 30,
      16 << 20,
      "Largest gRPC message a replica or client accepts on any stream; replicas also drop (and count) larger "
          + "signed messages.");
  public static final Setting PEER_QUEUE_MAX = GROUP.setting("peerQueueMax", "messages", 1, 1 << 24, 20_000,
      "Messages queued for one peer; beyond, new ones are dropped and counted.");
  public static final Setting INBOUND_QUEUE_MAX = GROUP.setting("inboundQueueMax", "messages", 1, 1 << 24, 50_000,
      "Messages waiting for signature verification, and events waiting for the event loop (each queue holds "
          + "this many); beyond, they are dropped and counted.");
  public static final Setting CLIENT_SESSIONS_MAX = GROUP.setting("clientSessionsMax", "streams", 1, 1 << 20,
      4096,
      "Established client sessions (signed handshake completed) one replica serves at once; a handshake beyond "
          + "is refused. A stream takes a slot only once its handshake completes and frees it when it closes; "
          + "streams still without a handshake count against pendingStreamsMax instead.");
  public static final Setting VERIFY_THREADS = GROUP.setting("verifyThreads", "threads", 0, 1024, 0,
      "Signature verification threads (0: one per available core).");
  public static final Setting NETWORK_THREADS = GROUP.setting("networkThreads", "threads", 0, 1024, 0,
      "0: the connections a replica accepts run on gRPC's default number of threads (two per core), and its "
          + "streams to its peers on gRPC's shared client threads. N: N threads of the replica's own carry both, so "
          + "that with eventLoopInline a message the core sends leaves from the thread that ran it without waking "
          + "another. On two cores, 1 gave 1.2-1.4x the throughput of 0 with one client and with fifty, but an "
          + "outsider opening thousands of handshake-less streams then delays the peers' traffic on that one "
          + "thread (one view change in a CI run of the session-exhaustion fault), hence not the default.");
  public static final Setting RECONNECT_DELAY_MS = GROUP.setting("reconnectDelayMs", "ms", 1, 60_000, 200,
      "Pause before a broken stream to a peer is reopened; a client waits as long before it retries a session "
          + "with a replica that did not come up.");
  public static final Setting TICK_MS = GROUP.setting("tickMs", "ms", 1, 1000, 20,
      "Period of the clock ticks the runtime gives the core, which has no clock of its own: its timers "
          + "(view change, heartbeats, state-transfer retries) fire at the first tick after they are due.");
  public static final Setting EVENT_LOOP_BURST_MAX = GROUP.setting("eventLoopBurstMax", "events", 1, 65_536, 64,
      "Events the event loop handles before it sends what they produced, so that messages produced by many "
          + "events leave together.");
  public static final Setting EVENT_LOOP_INLINE = GROUP.setting("eventLoopInline", "0 or 1", 0, 1, 1,
      "1: while the event loop has nothing waiting, the thread that read and checked a peer's message or a "
          + "client's request runs it through the core itself and sends what it produced, one thread hand-off fewer "
          + "per protocol step on a replica that is not busy; the core still runs on one thread at a time. Once "
          + "anything waits, every event takes its turn on the event loop thread. A durable replica (one with a "
          + "data directory) ignores it: its events end in an fsync, which must not hold up a network thread. 0: "
          + "the event loop thread runs every event.");
  public static final Setting CLIENT_SEND_BUFFER_BYTES = GROUP.setting("clientSendBufferBytes", "bytes", 1024,
      1 << 30, 1 << 20,
      "Reply bytes buffered for one client; while more wait, further replies to it are dropped (a correct "
          + "client retransmits and gets the cached reply).");
  public static final Setting CLIENT_REQUESTS_PER_SECOND_MAX = GROUP.setting("clientRequestsPerSecondMax",
      "requests/s", 1, 1 << 20, 1000,
      "Requests one client may send to one replica per second, with bursts of as many; beyond, they are dropped "
          + "before their signatures are checked and counted in `pbft status`, and the replica reads nothing more "
          + "from that client until it may send again, so that flow control holds it back (a correct client sends one "
          + "operation at a time and retransmits slowly, so it never comes near).");
  public static final Setting CLIENT_REQUESTS_VERIFYING_MAX = GROUP.setting("clientRequestsVerifyingMax",
      "requests", 1, 1024, 4,
      "Requests of one client waiting for signature verification at one replica, and as many again, once "
          + "verified, waiting for its event loop; a newer one takes the place of its oldest (counted in `pbft "
          + "status`). Verification and the event loop serve peers and clients in turn, and clients round-robin, so "
          + "a flooding client delays only itself and never the protocol's own messages.");
  public static final Setting CONNECTIONS_MAX = GROUP.setting("connectionsMax", "connections", 4, 1 << 20, 1024,
      "TCP connections one replica keeps open at once. A new connection beyond closes the oldest connection that "
          + "carries no authenticated stream (an established client session or a peer stream with a verified "
          + "message), or is refused when every one does. Counted in `pbft status`.");
  public static final Setting QUERIES_PER_SECOND_MAX = GROUP.setting("queriesPerSecondMax", "queries/s", 1,
      1 << 20, 100,
      "Status and Membership queries (which need no identity) one remote IP address may make per second, over "
          + "all its connections, with bursts of as many; beyond, they are refused (RESOURCE_EXHAUSTED) before "
          + "they take any time from the event loop or the execution thread, and counted in `pbft status`. "
          + "Whatever the callers, at most 16 status queries wait for the event loop at once.");
  public static final Setting CONNECTIONS_PER_ADDRESS_MAX = GROUP.setting("connectionsPerAddressMax", "connections",
      1, 1 << 20, 128,
      "TCP connections from one remote IP address; beyond, as for connectionsMax among that address's connections.");
  public static final Setting STREAMS_PER_CONNECTION_MAX = GROUP.setting("streamsPerConnectionMax", "streams", 16,
      1 << 20, 8192,
      "Concurrent calls on one connection (HTTP/2 MAX_CONCURRENT_STREAMS). A client process multiplexes the "
          + "sessions of all its identities over one connection per replica, so this must exceed the identities "
          + "one process runs.");
  public static final Setting PENDING_STREAMS_MAX = GROUP.setting("pendingStreamsMax", "streams", 1, 1 << 20, 1024,
      "Streams not yet authenticated, from all addresses: client streams whose signed handshake has not "
          + "completed, and peer streams that have carried no message with a valid signature yet. A new stream "
          + "beyond closes the oldest one that has sent nothing (else the oldest): a real handshake completes in one "
          + "round trip, so outsiders holding streams open cannot lock clients out.");
  public static final Setting PENDING_STREAMS_PER_ADDRESS_MAX = GROUP.setting("pendingStreamsPerAddressMax",
      "streams", 1, 1 << 20, 256,
      "Streams not yet authenticated from one remote IP address; beyond, as for pendingStreamsMax among that "
          + "address's streams.");
  public static final Setting HANDSHAKE_TIMEOUT_MS = GROUP.setting("handshakeTimeoutMs", "ms", 100, 600_000, 10_000,
      "A stream still not authenticated this long after it opened is closed (a client stream without a completed "
          + "signed handshake, a peer stream without a verified message). So is a connection that has not started "
          + "HTTP/2 by then, and one that carries no authenticated stream and has had no call for as long.");
  public static final Setting IDLE_TIMEOUT_MS = GROUP.setting("idleTimeoutMs", "ms", 1000, 1 << 30, 300_000,
      "An established client session or peer stream with no message either way for this long is closed (a client "
          + "reopens its session with its next request; peers exchange heartbeats every "
          + "protocol.viewChangeTimeoutMs), and so is a connection with no call for as long.");
  public static final Setting SESSIONS_PER_CLIENT_MAX = GROUP.setting("sessionsPerClientMax", "sessions", 1, 64, 2,
      "Established sessions of one client identity at one replica; a new one beyond closes the oldest. Replies go "
          + "to the newest.");
  public static final Setting INBOUND_QUEUE_BYTES_MAX = GROUP.setting("inboundQueueBytesMax", "bytes", 4096, 1 << 30,
      64 << 20,
      "Bytes of the messages waiting for signature verification, and of those waiting for the event loop (each "
          + "queue holds this many, as well as inboundQueueMax messages); beyond, they are dropped and counted.");
  public static final Setting PEER_QUEUE_BYTES_MAX = GROUP.setting("peerQueueBytesMax", "bytes", 4096, 1 << 30,
      32 << 20,
      "Bytes of the messages queued for one peer (as well as peerQueueMax messages); beyond, new ones are dropped "
          + "and counted.");
  public static final Setting UNAUTHENTICATED_BYTES_MAX = GROUP.setting("unauthenticatedBytesMax", "bytes", 4096,
      1 << 30, 64 << 20,
      "Bytes read, all together, from connections that carry no authenticated stream while they have calls open "
          + "(partial messages are buffered until complete). Beyond, the oldest such connection is closed.");
  public static final Setting GARBAGE_LOG_INTERVAL_MS = GROUP.setting("garbageLogIntervalMs", "ms", 100, 86_400_000,
      60_000,
      "Garbage (bytes that are not HTTP/2, messages with unknown fields or that do not parse, failed handshakes, "
          + "streams closed for the bounds above) is counted by reason in `pbft status`, and logged in one line, "
          + "without a stack trace, at most once per interval per remote address.");

  static {
    GROUP.rule("connectionsPerAddressMax ≤ connectionsMax and pendingStreamsPerAddressMax ≤ pendingStreamsMax.",
        t -> t.connectionsPerAddressMax() > t.connectionsMax()
            ? "transport.connectionsPerAddressMax (" + t.connectionsPerAddressMax() + ") cannot exceed "
                + "transport.connectionsMax (" + t.connectionsMax() + ")"
            : t.pendingStreamsPerAddressMax() > t.pendingStreamsMax()
                ? "transport.pendingStreamsPerAddressMax (" + t.pendingStreamsPerAddressMax() + ") cannot exceed "
                    + "transport.pendingStreamsMax (" + t.pendingStreamsMax() + ")"
                : null);
    GROUP.rule("messageBytesMax ≤ inboundQueueBytesMax and ≤ peerQueueBytesMax, and 2 × messageBytesMax ≤ "
            + "unauthenticatedBytesMax: a largest message must fit in every queue, and a peer's first messages "
            + "(before one of them is verified) in the budget of connections not yet authenticated.",
        t -> t.messageBytesMax() > t.inboundQueueBytesMax()
            ? "transport.messageBytesMax (" + t.messageBytesMax() + ") cannot exceed transport.inboundQueueBytesMax ("
                + t.inboundQueueBytesMax() + "): a largest message would never fit in the inbound queues"
            : t.messageBytesMax() > t.peerQueueBytesMax()
                ? "transport.messageBytesMax (" + t.messageBytesMax() + ") cannot exceed transport.peerQueueBytesMax ("
                    + t.peerQueueBytesMax() + "): a largest message would never fit in a peer's queue"
                : 2L * t.messageBytesMax() > t.unauthenticatedBytesMax()
                    ? "transport.unauthenticatedBytesMax (" + t.unauthenticatedBytesMax() + ") must be at least twice "
                        + "transport.messageBytesMax (" + t.messageBytesMax() + "): a peer's first messages must fit "
                        + "before one of them is verified"
                    : null);
  }

  private TransportSettings(int[] values) {
    super(values);
  }

  public static TransportSettings defaults() {
    return GROUP.defaults();
  }

  /** A builder starting from the defaults. */
  public static Builder newBuilder() {
    return new Builder(GROUP.defaultValues());
  }

  /** A builder starting from these settings. */
  public Builder toBuilder() {
    return new Builder(values());
  }

  @Override
  public SettingsGroup<TransportSettings> group() {
    return GROUP;
  }

  public int messageBytesMax() {
    return get(MESSAGE_BYTES_MAX);
  }

  public int peerQueueMax() {
    return get(PEER_QUEUE_MAX);
  }

  public int inboundQueueMax() {
    return get(INBOUND_QUEUE_MAX);
  }

  public int clientSessionsMax() {
    return get(CLIENT_SESSIONS_MAX);
  }

  /** Status and Membership queries per second from one remote address. */
  public int queriesPerSecondMax() {
    return get(QUERIES_PER_SECOND_MAX);
  }

  /** Network threads of the replica's own, which carry its peer streams too; 0: gRPC's defaults. */
  public int networkThreads() {
    return get(NETWORK_THREADS);
  }

  public int verifyThreads() {
    return get(VERIFY_THREADS);
  }

  public int reconnectDelayMs() {
    return get(RECONNECT_DELAY_MS);
  }

  public int tickMs() {
    return get(TICK_MS);
  }

  public int eventLoopBurstMax() {
    return get(EVENT_LOOP_BURST_MAX);
  }

  /** Events may run on the thread that checked them while the loop is idle ({@link #EVENT_LOOP_INLINE}). */
  public boolean eventLoopInline() {
    return get(EVENT_LOOP_INLINE) == 1;
  }

  public int clientSendBufferBytes() {
    return get(CLIENT_SEND_BUFFER_BYTES);
  }

  public int clientRequestsPerSecondMax() {
    return get(CLIENT_REQUESTS_PER_SECOND_MAX);
  }

  public int clientRequestsVerifyingMax() {
    return get(CLIENT_REQUESTS_VERIFYING_MAX);
  }

  public int connectionsMax() {
    return get(CONNECTIONS_MAX);
  }

  public int connectionsPerAddressMax() {
    return get(CONNECTIONS_PER_ADDRESS_MAX);
  }

  public int streamsPerConnectionMax() {
    return get(STREAMS_PER_CONNECTION_MAX);
  }

  public int pendingStreamsMax() {
    return get(PENDING_STREAMS_MAX);
  }

  public int pendingStreamsPerAddressMax() {
    return get(PENDING_STREAMS_PER_ADDRESS_MAX);
  }

  public int handshakeTimeoutMs() {
    return get(HANDSHAKE_TIMEOUT_MS);
  }

  public int idleTimeoutMs() {
    return get(IDLE_TIMEOUT_MS);
  }

  public int sessionsPerClientMax() {
    return get(SESSIONS_PER_CLIENT_MAX);
  }

  public int inboundQueueBytesMax() {
    return get(INBOUND_QUEUE_BYTES_MAX);
  }

  public int peerQueueBytesMax() {
    return get(PEER_QUEUE_BYTES_MAX);
  }

  public int unauthenticatedBytesMax() {
    return get(UNAUTHENTICATED_BYTES_MAX);
  }

  public int garbageLogIntervalMs() {
    return get(GARBAGE_LOG_INTERVAL_MS);
  }

  /** Collects values; {@link #build} checks every range at once. */
  public static final class Builder {
    private final int[] values;

    private Builder(int[] values) {
      this.values = values;
    }

    /** Sets any setting of the transport group by its declaration. */
    public Builder set(Setting setting, int value) {
      values[GROUP.indexOf(setting)] = value;
      return this;
    }

    public Builder messageBytesMax(int v) {
      return set(MESSAGE_BYTES_MAX, v);
    }

    public Builder peerQueueMax(int v) {
      return set(PEER_QUEUE_MAX, v);
    }

    public Builder inboundQueueMax(int v) {
      return set(INBOUND_QUEUE_MAX, v);
    }

    public Builder clientSessionsMax(int v) {
      return set(CLIENT_SESSIONS_MAX, v);
    }

    public Builder queriesPerSecondMax(int v) {
      return set(QUERIES_PER_SECOND_MAX, v);
    }

    public Builder networkThreads(int v) {
      return set(NETWORK_THREADS, v);
    }

    public Builder verifyThreads(int v) {
      return set(VERIFY_THREADS, v);
    }

    public Builder reconnectDelayMs(int v) {
      return set(RECONNECT_DELAY_MS, v);
    }

    public Builder tickMs(int v) {
      return set(TICK_MS, v);
    }

    public Builder eventLoopBurstMax(int v) {
      return set(EVENT_LOOP_BURST_MAX, v);
    }

    public Builder eventLoopInline(boolean v) {
      return set(EVENT_LOOP_INLINE, v ? 1 : 0);
    }

    public Builder clientSendBufferBytes(int v) {
      return set(CLIENT_SEND_BUFFER_BYTES, v);
    }

    public Builder clientRequestsPerSecondMax(int v) {
      return set(CLIENT_REQUESTS_PER_SECOND_MAX, v);
    }

    public Builder clientRequestsVerifyingMax(int v) {
      return set(CLIENT_REQUESTS_VERIFYING_MAX, v);
    }

    public Builder connectionsMax(int v) {
      return set(CONNECTIONS_MAX, v);
    }

    public Builder connectionsPerAddressMax(int v) {
      return set(CONNECTIONS_PER_ADDRESS_MAX, v);
    }

    public Builder streamsPerConnectionMax(int v) {
      return set(STREAMS_PER_CONNECTION_MAX, v);
    }

    public Builder pendingStreamsMax(int v) {
      return set(PENDING_STREAMS_MAX, v);
    }

    public Builder pendingStreamsPerAddressMax(int v) {
      return set(PENDING_STREAMS_PER_ADDRESS_MAX, v);
    }

    public Builder handshakeTimeoutMs(int v) {
      return set(HANDSHAKE_TIMEOUT_MS, v);
    }

    public Builder idleTimeoutMs(int v) {
      return set(IDLE_TIMEOUT_MS, v);
    }

    public Builder sessionsPerClientMax(int v) {
      return set(SESSIONS_PER_CLIENT_MAX, v);
    }

    public Builder inboundQueueBytesMax(int v) {
      return set(INBOUND_QUEUE_BYTES_MAX, v);
    }

    public Builder peerQueueBytesMax(int v) {
      return set(PEER_QUEUE_BYTES_MAX, v);
    }

    public Builder unauthenticatedBytesMax(int v) {
      return set(UNAUTHENTICATED_BYTES_MAX, v);
    }

    public Builder garbageLogIntervalMs(int v) {
      return set(GARBAGE_LOG_INTERVAL_MS, v);
    }

    /** The settings, or a {@link ConfigException} naming the first key out of range. */
    public TransportSettings build() {
      return GROUP.create(values);
    }
  }
}

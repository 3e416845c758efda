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
      "Client streams one replica serves at once; further ones are refused.");
  public static final Setting VERIFY_THREADS = GROUP.setting("verifyThreads", "threads", 0, 1024, 0,
      "Signature verification threads (0: one per available core).");
  public static final Setting RECONNECT_DELAY_MS = GROUP.setting("reconnectDelayMs", "ms", 1, 60_000, 200,
      "Pause before a broken stream to a peer is reopened; a client waits as long before it retries a session "
          + "with a replica that did not come up.");
  public static final Setting TICK_MS = GROUP.setting("tickMs", "ms", 1, 1000, 20,
      "Period of the clock ticks the runtime gives the core, which has no clock of its own: its timers "
          + "(view change, heartbeats, state-transfer retries) fire at the first tick after they are due.");
  public static final Setting EVENT_LOOP_BURST_MAX = GROUP.setting("eventLoopBurstMax", "events", 1, 65_536, 64,
      "Events the event loop handles before it sends what they produced, so that messages produced by many "
          + "events leave together.");
  public static final Setting CLIENT_SEND_BUFFER_BYTES = GROUP.setting("clientSendBufferBytes", "bytes", 1024,
      1 << 30, 1 << 20,
      "Reply bytes buffered for one client; while more wait, further replies to it are dropped (a correct "
          + "client retransmits and gets the cached reply).");

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

  public int clientSendBufferBytes() {
    return get(CLIENT_SEND_BUFFER_BYTES);
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

    public Builder clientSendBufferBytes(int v) {
      return set(CLIENT_SEND_BUFFER_BYTES, v);
    }

    /** The settings, or a {@link ConfigException} naming the first key out of range. */
    public TransportSettings build() {
      return GROUP.create(values);
    }
  }
}

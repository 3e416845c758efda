package io.pbft.config;

/**
 * Settings of the protocol core (the {@code protocol} section of {@code cluster.yaml}): bounds
 * on batches, queues and messages, the window and checkpoint geometry of the log, and the
 * view-change timer. Each setting is declared once below with its range, default, unit and
 * meaning; instances are immutable and valid, made by {@link #newBuilder()}, {@link #toBuilder()}
 * or {@link #defaults()}.
 */
public final class ProtocolSettings extends GroupSettings {
  public static final SettingsGroup<ProtocolSettings> GROUP = new SettingsGroup<>("protocol",
      "`protocol`: the protocol core",
      "Bounds of the PBFT core, the geometry of its log (window and checkpoints) and its timers. The replicas "
          + "of a cluster judge each other's messages by these values, so they should all use the same ones.",
      ProtocolSettings::new);

  /**
   * Bytes a batch needs beyond the operation of its one request: the request's client id,
   * timestamp and field headers, the client's 64-byte signature, and the batch's own field
   * header (about 100 bytes at most). Part of the wire format, not a setting.
   */
  public static final int REQUEST_ENVELOPE_BYTES = 256;

  public static final Setting BATCH_SIZE_MAX = GROUP.setting("batchSizeMax", "requests", 1, 100_000, 400,
      "Requests the primary puts in one pre-prepare; a backup drops (and counts) a pre-prepare carrying more.");
  public static final Setting BATCH_BYTES_MAX = GROUP.setting("batchBytesMax", "bytes", 512, 1 << 30, 4 << 20,
      "Serialized bytes of the requests in one pre-prepare; a backup drops (and counts) a larger batch.");
  public static final Setting WINDOW_SIZE = GROUP.setting("windowSize", "sequence numbers", 2, 1 << 24, 1024,
      "L of the paper: a replica accepts sequence numbers in (h, h + L], h being its last stable checkpoint.");
  public static final Setting PIPELINE_DEPTH_MAX = GROUP.setting("pipelineDepthMax", "batches", 1, 65_536, 1,
      "Batches the primary keeps pre-prepared and not yet executed; requests arriving meanwhile wait and ride "
          + "in the next batch together, so batches grow with load. An idle primary proposes at once at any depth. "
          + "1 measured fastest on two cores (1.5x the throughput of 4 at 50 clients: fewer, larger batches, "
          + "fewer signed messages per request); a deeper pipeline pays off where the network, not the CPU, "
          + "bounds a round trip (docs/PERFORMANCE.md).");
  public static final Setting CHECKPOINT_INTERVAL = GROUP.setting("checkpointInterval", "sequence numbers", 1,
      1 << 23, 128,
      "K of the paper: a checkpoint every K sequence numbers; once 2f + 1 replicas agree on one it is stable and "
          + "the log below it is discarded.");
  public static final Setting PENDING_REQUESTS_MAX = GROUP.setting("pendingRequestsMax", "requests", 1, 1 << 24,
      20_000,
      "Client requests the primary queues for its next batches; it drops (and counts) requests beyond.");
  public static final Setting OPERATION_BYTES_MAX = GROUP.setting("operationBytesMax", "bytes", 1, 1 << 30,
      1 << 20,
      "Largest operation a client may submit; the client refuses larger ones and replicas drop (and count) them.");
  public static final Setting VIEW_CHANGE_TIMEOUT_MS = GROUP.setting("viewChangeTimeoutMs", "ms", 50, 600_000,
      1000,
      "How long a backup waits for a request it knows of to execute before it suspects the primary, until the "
          + "request timer has a measured latency to adapt to (see viewChangeTimeoutLatencyFactor); the base of "
          + "the NEW-VIEW timer, doubled after each consecutive view change (section 4.5.2); the period of the "
          + "heartbeats.");
  public static final Setting VIEW_CHANGE_TIMEOUT_LATENCY_FACTOR = GROUP.setting("viewChangeTimeoutLatencyFactor",
      "times", 1, 10_000, 10,
      "The adaptive request timer: once batches commit, a backup waits for a request this many times the "
          + "agreement latency it observes (pre-prepare accepted to committed, a span the primary cannot stretch), "
          + "kept within [viewChangeTimeoutMinMs, viewChangeTimeoutMaxMs]. A primary that delays everything just "
          + "under viewChangeTimeoutMs is then still suspected, and a group that is slow for everyone (a cold or "
          + "starved machine) is not mistaken for a slow primary.");
  public static final Setting REQUEST_TIMER_WARM_UP_BATCHES = GROUP.setting("requestTimerWarmUpBatches", "batches",
      0, 1 << 24, 256,
      "A backup's request timer is twice what it would be (within viewChangeTimeoutMaxMs) while it warms up: "
          + "until it has seen this many batches commit since it started, or for requestTimerWarmUpMs, whichever "
          + "ends first. A JVM that is still compiling runs its first seconds several times slower, the primary "
          + "as well as everyone else, and a cold primary is otherwise taken for a slow one; a primary that fails "
          + "during the warm-up costs one longer timeout. 0: no warm-up.");
  public static final Setting REQUEST_TIMER_WARM_UP_MS = GROUP.setting("requestTimerWarmUpMs", "ms", 0, 600_000,
      10_000,
      "The longest a backup's request timer warms up after the replica starts (see requestTimerWarmUpBatches), "
          + "so that a primary slow from the start is suspected at the normal timer this long after it. 0: no "
          + "warm-up.");
  public static final Setting VIEW_CHANGE_TIMEOUT_MIN_MS = GROUP.setting("viewChangeTimeoutMinMs", "ms", 10,
      600_000, 500,
      "Lower bound of the adaptive request timer (viewChangeTimeoutMs if that is lower). Below "
          + "viewChangeTimeoutMs, so that a primary that delays requests just under viewChangeTimeoutMs is still "
          + "suspected when agreement is fast; the timer widens again when agreement is slow.");
  public static final Setting VIEW_CHANGE_TIMEOUT_MAX_MS = GROUP.setting("viewChangeTimeoutMaxMs", "ms", 50,
      3_600_000, 8000,
      "Upper bound of the adaptive request timer (viewChangeTimeoutMs if that is higher), before the doubling "
          + "after consecutive view changes.");
  public static final Setting RELAY_INTERVAL_MS = GROUP.setting("relayIntervalMs", "ms", 0, 60_000, 100,
      "A backup relays one client's requests to the primary at most once per this interval; requests of that "
          + "client arriving sooner wait, and when the interval ends only the newest is relayed. A correct client's "
          + "requests are relayed only when it retransmits (at most once per second) or has no session to the "
          + "primary (its sends to all are then unflagged), so it waits at most one interval, and only then; a "
          + "client flooding the backups costs the primary one relayed request per backup and interval. 0 relays "
          + "every request at once.");
  public static final Setting CLOCK_SKEW_MS = GROUP.setting("clockSkewMs", "ms", 1, 3_600_000, 2000,
      "How far the time a primary proposes with a batch may lie from a backup's own clock, either way, for the "
          + "backup to accept the pre-prepare (the agreed time applications see, docs/APPLICATIONS.md); a primary "
          + "whose clock is further off gets no PREPAREs and is replaced by a view change. Keep the replicas' "
          + "clocks synchronized (NTP) well within it.");
  public static final Setting TENTATIVE_EXECUTION = GROUP.setting("tentativeExecution", "0 or 1", 0, 1, 0,
      "1: replicas execute a batch as soon as it is prepared (every batch before it committed) and reply "
          + "tentatively; a client accepts 2f + 1 matching replies, one phase earlier than the f + 1 committed ones "
          + "it waits for otherwise. A view change that puts another batch at that sequence number rolls the "
          + "tentative one back (the state frozen at the last checkpoint, and the committed batches since, run "
          + "again). Each request then gets two replies from each replica, tentative and committed.");
  public static final Setting SIGNED_VOTES = GROUP.setting("signedVotes", "0 or 1", 0, 1, 0,
      "Under authentication: signatures, 1 signs every PREPARE and COMMIT with Ed25519 as well, and a view change "
          + "carries prepared certificates of signed PREPAREs. 0 (the default) authenticates them with the MACs "
          + "each pair of replicas agrees, as under authentication: macs, and the view change is the paper's MAC "
          + "view change; requests stay signed by their clients either way (docs/AUTHENTICATION.md). Under "
          + "authentication: macs votes always carry MACs.");
  public static final Setting STATE_CHUNK_BYTES_MAX = GROUP.setting("stateChunkBytesMax", "bytes", 512, 1 << 30,
      1 << 20,
      "Largest piece of a checkpoint's state a replica sends in one state-transfer message.");
  public static final Setting CLIENT_REQUESTS_QUEUED_MAX = GROUP.setting("clientRequestsQueuedMax", "requests", 1,
      1024, 2,
      "Requests of one client the primary keeps queued for its next batches; a newer request of that client "
          + "takes the place of its oldest queued one, so a client that floods only delays itself. Batches take "
          + "the queued requests round-robin over clients.");
  public static final Setting STATE_BYTES_MAX = GROUP.setting("stateBytesMax", "bytes", 1024, Integer.MAX_VALUE - 64,
      1 << 30,
      "Largest replicated state (application snapshot and client table) a replica fetches in a state transfer; "
          + "a source claiming more is distrusted. The fetched state is held in memory: keep it below the heap.");
  public static final Setting CATCH_UP_BATCHES_MAX = GROUP.setting("catchUpBatchesMax", "batches", 1, 4096, 64,
      "Committed certificates a replica sends in answer to one heartbeat of a peer that is behind (also bounded "
          + "to 2 × batchBytesMax bytes).");
  public static final Setting VIEW_CHANGE_BACKOFF_DOUBLINGS_MAX = GROUP.setting("viewChangeBackoffDoublingsMax",
      "doublings", 0, 16, 6,
      "Consecutive view changes double viewChangeTimeoutMs at most this many times.");
  public static final Setting AHEAD_CHECKPOINT_VOTES_MAX = GROUP.setting("aheadCheckpointVotesMax", "votes", 2,
      64, 3,
      "CHECKPOINT votes kept per peer for sequence numbers beyond this replica's window (its lowest ones and "
          + "its highest), from which a replica learns it must fetch a newer state.");

  static {
    GROUP.rule("pipelineDepthMax ≤ windowSize: the primary never assigns sequence numbers beyond the window.",
        p -> p.pipelineDepthMax() <= p.windowSize() ? null
            : "protocol.pipelineDepthMax (" + p.pipelineDepthMax() + ") cannot exceed protocol.windowSize ("
                + p.windowSize() + "): the primary never assigns sequence numbers beyond the window");
    GROUP.rule("operationBytesMax + " + REQUEST_ENVELOPE_BYTES + " ≤ batchBytesMax: a batch holding one largest "
            + "request (with its signature and headers) must pass the backups' batch bound, or every primary in "
            + "turn proposes a batch the backups drop and the cluster changes views without end.",
        p -> (long) p.operationBytesMax() + REQUEST_ENVELOPE_BYTES <= p.batchBytesMax() ? null
            : "protocol.operationBytesMax (" + p.operationBytesMax() + ") plus " + REQUEST_ENVELOPE_BYTES
                + " bytes for the signed request around it cannot exceed protocol.batchBytesMax ("
                + p.batchBytesMax() + "): a batch of one largest request would be dropped by every backup");
    GROUP.rule("checkpointInterval divides windowSize: the window then always ends on a checkpoint.",
        p -> p.windowSize() % p.checkpointInterval() == 0 ? null
            : "protocol.checkpointInterval (" + p.checkpointInterval() + ") must divide protocol.windowSize ("
                + p.windowSize() + ") so that the window ends on a checkpoint");
    GROUP.rule("windowSize ≥ 2 × checkpointInterval: the window must hold a checkpoint interval beyond the last "
            + "stable checkpoint and more, or the primary stalls at the window's edge waiting for a checkpoint "
            + "it cannot reach (or, at best, stops at every checkpoint until it is stable).",
        p -> p.windowSize() >= 2L * p.checkpointInterval() ? null
            : "protocol.windowSize (" + p.windowSize() + ") must be at least twice protocol.checkpointInterval ("
                + p.checkpointInterval() + "): otherwise the primary stalls at the window's edge waiting for "
                + "a checkpoint it cannot reach");
  }

  private ProtocolSettings(int[] values) {
    super(values);
  }

  public static ProtocolSettings defaults() {
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
  public SettingsGroup<ProtocolSettings> group() {
    return GROUP;
  }

  public int batchSizeMax() {
    return get(BATCH_SIZE_MAX);
  }

  public int batchBytesMax() {
    return get(BATCH_BYTES_MAX);
  }

  public int windowSize() {
    return get(WINDOW_SIZE);
  }

  public int pipelineDepthMax() {
    return get(PIPELINE_DEPTH_MAX);
  }

  public int checkpointInterval() {
    return get(CHECKPOINT_INTERVAL);
  }

  public int pendingRequestsMax() {
    return get(PENDING_REQUESTS_MAX);
  }

  public int operationBytesMax() {
    return get(OPERATION_BYTES_MAX);
  }

  public int viewChangeTimeoutMs() {
    return get(VIEW_CHANGE_TIMEOUT_MS);
  }

  public int relayIntervalMs() {
    return get(RELAY_INTERVAL_MS);
  }

  public int requestTimerWarmUpBatches() {
    return get(REQUEST_TIMER_WARM_UP_BATCHES);
  }

  public int requestTimerWarmUpMs() {
    return get(REQUEST_TIMER_WARM_UP_MS);
  }

  public int viewChangeTimeoutMinMs() {
    return get(VIEW_CHANGE_TIMEOUT_MIN_MS);
  }

  public int viewChangeTimeoutMaxMs() {
    return get(VIEW_CHANGE_TIMEOUT_MAX_MS);
  }

  public int viewChangeTimeoutLatencyFactor() {
    return get(VIEW_CHANGE_TIMEOUT_LATENCY_FACTOR);
  }

  public int stateChunkBytesMax() {
    return get(STATE_CHUNK_BYTES_MAX);
  }

  public int clockSkewMs() {
    return get(CLOCK_SKEW_MS);
  }

  public boolean tentativeExecution() {
    return get(TENTATIVE_EXECUTION) == 1;
  }

  /** PREPAREs and COMMITs Ed25519-signed under {@code authentication: signatures} ({@link #SIGNED_VOTES}). */
  public boolean signedVotes() {
    return get(SIGNED_VOTES) == 1;
  }

  public int clientRequestsQueuedMax() {
    return get(CLIENT_REQUESTS_QUEUED_MAX);
  }

  public int stateBytesMax() {
    return get(STATE_BYTES_MAX);
  }

  public int catchUpBatchesMax() {
    return get(CATCH_UP_BATCHES_MAX);
  }

  public int viewChangeBackoffDoublingsMax() {
    return get(VIEW_CHANGE_BACKOFF_DOUBLINGS_MAX);
  }

  public int aheadCheckpointVotesMax() {
    return get(AHEAD_CHECKPOINT_VOTES_MAX);
  }

  // One setting changed, the result checked like any other. To change settings that constrain
  // each other (windowSize and checkpointInterval), use toBuilder(), which checks once at build().

  public ProtocolSettings withBatchSizeMax(int v) {
    return toBuilder().batchSizeMax(v).build();
  }

  public ProtocolSettings withWindowSize(int v) {
    return toBuilder().windowSize(v).build();
  }

  public ProtocolSettings withPipelineDepthMax(int v) {
    return toBuilder().pipelineDepthMax(v).build();
  }

  public ProtocolSettings withCheckpointInterval(int v) {
    return toBuilder().checkpointInterval(v).build();
  }

  public ProtocolSettings withViewChangeTimeoutMs(int v) {
    return toBuilder().viewChangeTimeoutMs(v).build();
  }

  public ProtocolSettings withViewChangeTimeoutMinMs(int v) {
    return toBuilder().viewChangeTimeoutMinMs(v).build();
  }

  public ProtocolSettings withStateChunkBytesMax(int v) {
    return toBuilder().stateChunkBytesMax(v).build();
  }

  /** Collects values; {@link #build} checks every range and rule at once. */
  public static final class Builder {
    private final int[] values;

    private Builder(int[] values) {
      this.values = values;
    }

    /** Sets any setting of the protocol group by its declaration. */
    public Builder set(Setting setting, int value) {
      values[GROUP.indexOf(setting)] = value;
      return this;
    }

    public Builder batchSizeMax(int v) {
      return set(BATCH_SIZE_MAX, v);
    }

    public Builder batchBytesMax(int v) {
      return set(BATCH_BYTES_MAX, v);
    }

    public Builder windowSize(int v) {
      return set(WINDOW_SIZE, v);
    }

    public Builder pipelineDepthMax(int v) {
      return set(PIPELINE_DEPTH_MAX, v);
    }

    public Builder checkpointInterval(int v) {
      return set(CHECKPOINT_INTERVAL, v);
    }

    public Builder pendingRequestsMax(int v) {
      return set(PENDING_REQUESTS_MAX, v);
    }

    public Builder operationBytesMax(int v) {
      return set(OPERATION_BYTES_MAX, v);
    }

    public Builder viewChangeTimeoutMs(int v) {
      return set(VIEW_CHANGE_TIMEOUT_MS, v);
    }

    public Builder relayIntervalMs(int v) {
      return set(RELAY_INTERVAL_MS, v);
    }

    public Builder requestTimerWarmUpBatches(int v) {
      return set(REQUEST_TIMER_WARM_UP_BATCHES, v);
    }

    public Builder requestTimerWarmUpMs(int v) {
      return set(REQUEST_TIMER_WARM_UP_MS, v);
    }

    public Builder viewChangeTimeoutMinMs(int v) {
      return set(VIEW_CHANGE_TIMEOUT_MIN_MS, v);
    }

    public Builder viewChangeTimeoutMaxMs(int v) {
      return set(VIEW_CHANGE_TIMEOUT_MAX_MS, v);
    }

    public Builder viewChangeTimeoutLatencyFactor(int v) {
      return set(VIEW_CHANGE_TIMEOUT_LATENCY_FACTOR, v);
    }

    public Builder tentativeExecution(boolean v) {
      return set(TENTATIVE_EXECUTION, v ? 1 : 0);
    }

    public Builder signedVotes(boolean v) {
      return set(SIGNED_VOTES, v ? 1 : 0);
    }

    public Builder clockSkewMs(int v) {
      return set(CLOCK_SKEW_MS, v);
    }

    public Builder stateChunkBytesMax(int v) {
      return set(STATE_CHUNK_BYTES_MAX, v);
    }

    public Builder clientRequestsQueuedMax(int v) {
      return set(CLIENT_REQUESTS_QUEUED_MAX, v);
    }

    public Builder stateBytesMax(int v) {
      return set(STATE_BYTES_MAX, v);
    }

    public Builder catchUpBatchesMax(int v) {
      return set(CATCH_UP_BATCHES_MAX, v);
    }

    public Builder viewChangeBackoffDoublingsMax(int v) {
      return set(VIEW_CHANGE_BACKOFF_DOUBLINGS_MAX, v);
    }

    public Builder aheadCheckpointVotesMax(int v) {
      return set(AHEAD_CHECKPOINT_VOTES_MAX, v);
    }

    /** The settings, or a {@link ConfigException} naming the first key out of range or rule broken. */
    public ProtocolSettings build() {
      return GROUP.create(values);
    }
  }
}

package io.pbft.replica.runtime;

import io.pbft.config.MetricsAddress;
import io.pbft.proto.Drops;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.core.Effects;
import io.pbft.replica.verify.VerifiedRequest;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's Prometheus endpoint ({@code GET /metrics} at its configured {@link MetricsAddress}),
 * made with the official Prometheus Java client. Two kinds of series:
 *
 * <ul>
 *   <li>Counters and gauges read at each scrape from what the Status RPC reports ({@link
 *       ReplicaServer#metricsSample()}: the same sources, gathered on the event loop and the
 *       execution thread, so nothing is counted twice and nothing is read from another thread's
 *       fields), plus the lengths of the runtime's queues, which are safe to read from any thread.
 *   <li>Histograms that exist nowhere else: how long a batch spends in each phase, batch sizes and
 *       the write-ahead log's sync latency. The core has no clock, so the runtime stamps what it
 *       hands the core and the {@link Effects.Milestone}s the core reports, and measures between
 *       them. That bookkeeping runs on the event loop only ({@link #requestArrived},
 *       {@link #effectsTaken}, {@link #executed}); the histograms themselves are thread-safe.
 * </ul>
 *
 * <p>Each replica has a registry of its own, so that replicas sharing a JVM (tests) do not mix.
 * The catalogue of series is in docs/METRICS.md.
 */
final class ReplicaMetrics implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReplicaMetrics.class);
  /** Phase latencies: half a millisecond (a batch on loopback) to ten seconds (a view change). */
  static final double[] PHASE_BOUNDS_SECONDS =
      {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10};
  /** A write and fsync: a tenth of a millisecond (a write cache) to a second (a failing disk). */
  static final double[] SYNC_BOUNDS_SECONDS =
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
  /** Requests per batch, doubling up to protocol.batchSizeMax's default (400) and beyond. */
  static final double[] BATCH_BOUNDS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
  /**
   * Requests remembered between reaching the core and being pre-prepared. A request the core
   * drops never gets a pre-prepare; beyond this many, the oldest arrival is forgotten.
   */
  static final int ARRIVALS_MAX = 16_384;
  /** How long a scrape waits for the event loop and the execution thread. */
  private static final long SAMPLE_TIMEOUT_MS = 2000;

  static final String REQUEST_TO_PRE_PREPARE = "request_to_pre_prepare";
  static final String PRE_PREPARE_TO_COMMIT = "pre_prepare_to_commit";
  static final String COMMIT_TO_EXECUTION = "commit_to_execution";

  private final ReplicaServer replica;
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final DistributionDataPoint requestToPrePrepare;
  private final DistributionDataPoint prePrepareToCommit;
  private final DistributionDataPoint commitToExecution;
  private final Histogram batchRequests;
  private final Histogram walSync;
  private final ExecutorService httpThreads;
  private final HTTPServer http;

  // Event loop only.
  private record RequestKey(int clientId, long timestamp) {}

  private final LinkedHashMap<RequestKey, Long> arrivals = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<RequestKey, Long> eldest) {
      return size() > ARRIVALS_MAX;
    }
  };
  /** When each sequence number was last pre-prepared here, and committed; until it executes. */
  private final TreeMap<Long, Long> prePreparedAt = new TreeMap<>();
  private final TreeMap<Long, Long> committedAt = new TreeMap<>();

  private ReplicaMetrics(ReplicaServer replica, MetricsAddress address) throws IOException {
    this.replica = replica;
    Histogram phases = Histogram.builder()
        .name("pbft_phase_duration_seconds")
        .help("Time a batch spent in each phase at this replica: from a request reaching the core to the "
            + "pre-prepare that carries it (per request), from pre-prepare to committed-local, and from "
            + "committed to executed (per batch)")
        .unit(Unit.SECONDS)
        .labelNames("phase")
        .classicOnly()
        .classicUpperBounds(PHASE_BOUNDS_SECONDS)
        .withoutExemplars()
        .register(registry);
    requestToPrePrepare = phases.labelValues(REQUEST_TO_PRE_PREPARE);
    prePrepareToCommit = phases.labelValues(PRE_PREPARE_TO_COMMIT);
    commitToExecution = phases.labelValues(COMMIT_TO_EXECUTION);
    batchRequests = Histogram.builder()
        .name("pbft_batch_requests")
        .help("Requests in each batch handed to the application (its count is the batches executed)")
        .classicOnly()
        .classicUpperBounds(BATCH_BOUNDS)
        .withoutExemplars()
        .register(registry);
    walSync = Histogram.builder()
        .name("pbft_wal_sync_duration_seconds")
        .help("Writing and fsyncing the write-ahead log once per burst of events (durable replicas only)")
        .unit(Unit.SECONDS)
        .classicOnly()
        .classicUpperBounds(SYNC_BOUNDS_SECONDS)
        .withoutExemplars()
        .register(registry);
    registry.register(new StatusCollector());
    httpThreads = Executors.newFixedThreadPool(2, ReplicaServer.daemon("pbft-metrics-" + replica.id));
    try {
      http = HTTPServer.builder()
          .inetAddress(InetAddress.getByName(address.host()))
          .port(address.port())
          .registry(registry)
          .executorService(httpThreads)
          .buildAndStart();
    } catch (IOException | RuntimeException e) {
      httpThreads.shutdownNow();
      throw new ReplicaServer.MetricsUnavailableException("cannot serve metrics on " + address + ": "
          + e.getMessage(), e);
    }
    log.info("replica {}: metrics on http://{}/metrics", replica.id,
        new MetricsAddress(address.host(), http.getPort()));
  }

  /** The endpoint for {@code replica}, or null when its configuration asks for none. */
  static ReplicaMetrics start(ReplicaServer replica, MetricsAddress address) throws IOException {
    return address == null ? null : new ReplicaMetrics(replica, address);
  }

  /** The port the endpoint listens on (the configured one, or the one port 0 found). */
  int port() {
    return http.getPort();
  }

  // ---------------------------------------------------------------- event loop

  /** A client's request is about to be handed to the core (its first arrival counts). */
  void requestArrived(VerifiedRequest r) {
    arrivals.putIfAbsent(new RequestKey(r.clientId(), r.timestamp()), System.nanoTime());
  }

  /** The effects of a burst, as the loop takes them from the core: stamps their milestones. */
  void effectsTaken(Effects effects) {
    List<Effects.Milestone> milestones = effects.milestones();
    if (!milestones.isEmpty()) {
      long now = System.nanoTime();
      for (Effects.Milestone m : milestones) {
        switch (m.kind()) {
          case PRE_PREPARED -> {
            for (VerifiedRequest r : m.requests()) {
              Long arrived = arrivals.remove(new RequestKey(r.clientId(), r.timestamp()));
              if (arrived != null) {
                requestToPrePrepare.observe(seconds(now - arrived));
              }
            }
            prePreparedAt.put(m.sequence(), now); // a later view's pre-prepare starts the phase again
          }
          case COMMITTED -> {
            Long prePrepared = prePreparedAt.remove(m.sequence());
            if (prePrepared != null) {
              prePrepareToCommit.observe(seconds(now - prePrepared));
            }
            committedAt.putIfAbsent(m.sequence(), now);
          }
        }
      }
    }
    for (Effects.Execute e : effects.executions()) {
      if (!e.tentative()) { // a tentative batch comes again when it commits
        batchRequests.observe(e.requests().size());
      }
    }
  }

  /** The execution thread ran batch {@code sequence}, finishing at {@code nanos}. */
  void executed(long sequence, long nanos) {
    Long committed = committedAt.remove(sequence);
    if (committed != null) {
      commitToExecution.observe(seconds(nanos - committed));
    }
    // Slots that never committed here (a view change dropped them) or were installed by a state
    // transfer are forgotten once execution passes them.
    prePreparedAt.headMap(sequence, true).clear();
    committedAt.headMap(sequence, true).clear();
  }

  // ---------------------------------------------------------------- storage

  /** The log wrote and fsynced a burst's records in {@code nanos} (on the event loop). */
  void walSynced(long nanos) {
    walSync.observe(seconds(nanos));
  }

  private static double seconds(long nanos) {
    return Unit.nanosToSeconds(Math.max(0, nanos));
  }

  @Override
  public void close() {
    http.stop();
    httpThreads.shutdownNow();
  }

  // ---------------------------------------------------------------- the Status RPC's counters

  /**
   * Series read at each scrape from what the Status RPC reports. A replica too busy to answer
   * within {@link #SAMPLE_TIMEOUT_MS} leaves them out of that scrape (and says so in
   * pbft_status_available) rather than fail the histograms' scrape with them.
   */
  private final class StatusCollector implements MultiCollector {
    @Override
    public MetricSnapshots collect() {
      List<MetricSnapshot> out = new ArrayList<>();
      ReplicaServer.MetricsSample sample;
      try {
        sample = replica.metricsSample().get(SAMPLE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        sample = null;
      } catch (Exception e) {
        log.debug("replica {}: no status for a scrape: {}", replica.id, e.toString());
        sample = null;
      }
      out.add(gauge("pbft_status_available", "1 if this scrape got the replica's status (the series below "
          + "are missing from a scrape that did not)", sample == null ? 0 : 1));
      queues(out, sample);
      if (sample != null) {
        status(out, sample.status());
      }
      return new MetricSnapshots(out);
    }

    private void status(List<MetricSnapshot> out, StatusResponse s) {
      out.add(GaugeSnapshot.builder().name("pbft_replica_info")
          .help("Constant 1, labelled with this replica's id, the number of replicas n and f")
          .dataPoint(GaugeDataPointSnapshot.builder().value(1)
              .labels(Labels.of("replica", Integer.toString(s.getReplicaId()), "replicas",
                  Integer.toString(s.getReplicas()), "f", Integer.toString(replica.config.f())))
              .build())
          .build());
      out.add(counter("pbft_requests_executed", "Client requests executed (not batches; retransmissions "
          + "answered from the client table not counted)", s.getExecutedRequests()));
      out.add(gauge("pbft_last_executed_sequence", "Sequence number of the last batch executed", s.getLastExecuted()));
      out.add(gauge("pbft_low_watermark_sequence", "The last stable checkpoint (h of the paper)", s.getLowWatermark()));
      out.add(gauge("pbft_view", "The view this replica is in (or moving to)", s.getView()));
      out.add(gauge("pbft_primary", "The primary of that view", s.getPrimary()));
      out.add(gauge("pbft_view_changing", "1 between a VIEW-CHANGE sent and a NEW-VIEW accepted",
          s.getViewChanging() ? 1 : 0));
      out.add(counter("pbft_view_changes", "View changes this replica moved into (its own or joined)",
          s.getViewChangesStarted()));
      out.add(gauge("pbft_request_timeout_seconds", "The adaptive request timer now (with backoff)",
          Unit.millisToSeconds(s.getRequestTimeoutMs()), Unit.SECONDS));
      out.add(gauge("pbft_agreement_latency_estimate_seconds", "The core's estimate of pre-prepare to committed "
          + "(0 until a batch committed), which the request timer adapts to",
          Unit.millisToSeconds(s.getAgreementLatencyMs()), Unit.SECONDS));
      out.add(counter("pbft_state_transfers", "State transfers completed", s.getStateTransfers()));
      out.add(counter("pbft_state_transfer_bytes", "State bytes fetched by state transfers",
          s.getStateTransferBytes(), Unit.BYTES));
      out.add(gauge("pbft_log_disk_bytes", "The write-ahead log's size on disk (0 when not durable)",
          s.getLogBytesOnDisk(), Unit.BYTES));
      out.add(gauge("pbft_storage_failed", "1 once a failed log write stopped this replica from taking part",
          s.getStorageFailed() ? 1 : 0));
      out.add(counter("pbft_tentative_rollbacks", "Tentatively executed batches rolled back",
          s.getTentativeRollbacks()));
      out.add(gauge("pbft_last_executed_tentative", "1 while the last batch executed ran tentatively and has not "
          + "committed", s.getLastExecutedTentative() ? 1 : 0));
      out.add(counter("pbft_application_failures", "Operations the application threw on, answered as failed and "
          + "undone", s.getApplicationFailures()));
      out.add(gauge("pbft_client_sessions", "Client sessions open", s.getClientSessions()));
      out.add(gauge("pbft_connections", "TCP connections open", s.getConnections()));
      out.add(counter("pbft_connections_accepted", "TCP connections accepted", s.getConnectionsAccepted()));
      out.add(gauge("pbft_pending_streams", "Streams open without a completed handshake", s.getPendingStreams()));
      out.add(gauge("pbft_peer_streams", "Verified streams from peers", s.getPeerStreams()));
      out.add(counter("pbft_unauthenticated_read_bytes", "Bytes read by connections before they authenticated",
          s.getUnauthenticatedBytesRead(), Unit.BYTES));
      out.add(byReason("pbft_dropped", "Inputs the runtime dropped before the core saw them, by reason "
          + "(the runtime's bounded queues, failed verification, ...)", drops(s.getDropped())));
      out.add(byReason("pbft_rejected", "Inputs the core rejected, by reason", s.getRejectedMap()));
      out.add(byReason("pbft_garbage", "What outsiders sent that is no protocol message, or what was closed "
          + "to keep the bounds, by reason", s.getGarbage().getByReasonMap()));
      GaugeSnapshot.Builder bytes = GaugeSnapshot.builder().name("pbft_queue_bytes").unit(Unit.BYTES)
          .help("Bytes waiting in the runtime's bounded queues");
      GaugeSnapshot.Builder high = GaugeSnapshot.builder().name("pbft_queue_high_bytes").unit(Unit.BYTES)
          .help("The most bytes ever waiting in a bounded queue at once");
      bytes.dataPoint(labelled("queue", "verification", s.getQueuedBytes().getVerification()));
      bytes.dataPoint(labelled("queue", "event_loop", s.getQueuedBytes().getEventLoop()));
      bytes.dataPoint(labelled("queue", "peers", s.getQueuedBytes().getPeers()));
      high.dataPoint(labelled("queue", "verification", s.getQueuedBytes().getVerificationHigh()));
      high.dataPoint(labelled("queue", "event_loop", s.getQueuedBytes().getEventLoopHigh()));
      out.add(bytes.build());
      out.add(high.build());
    }

    /** Queue lengths in messages: read directly (thread-safe), the core's from the sample. */
    private void queues(List<MetricSnapshot> out, ReplicaServer.MetricsSample sample) {
      GaugeSnapshot.Builder g = GaugeSnapshot.builder().name("pbft_queue_messages")
          .help("Messages or tasks waiting in the runtime's queues (pending_requests: client requests the "
              + "primary holds for its next batches)");
      g.dataPoint(labelled("queue", "verification", replica.verifyPool.queued()));
      g.dataPoint(labelled("queue", "event_loop", replica.loop.queued()));
      g.dataPoint(labelled("queue", "peers", replica.peersQueued()));
      g.dataPoint(labelled("queue", "execution", replica.executionThread.queued()));
      if (sample != null) {
        g.dataPoint(labelled("queue", "pending_requests", sample.pendingRequests()));
      }
      out.add(g.build());
      out.add(counter("pbft_signature_batches", "Groups of signed client requests whose signatures were checked "
          + "together (authentication: signatures)", replica.verifyPool.togetherBatches()));
      out.add(counter("pbft_signature_batched_requests", "Client requests in those groups",
          replica.verifyPool.togetherRequests()));
      out.add(counter("pbft_event_loop_inline_events", "Peers' messages and clients' requests the core ran on the "
          + "thread that checked them, finding the event loop idle (transport.eventLoopInline)", replica.loop.ranInline()));
    }
  }

  /** The runtime's typed drop counters under their own reasons, and the open-ended ones. */
  static Map<String, Long> drops(Drops d) {
    Map<String, Long> all = new TreeMap<>(d.getByReasonMap());
    all.put("event loop full", d.getEventLoopFull());
    all.put("event loop bytes full", d.getEventLoopBytesFull());
    all.put("replies without session", d.getRepliesWithoutSession());
    all.put("peer queue full", d.getPeerQueueFull());
    all.put("verification queue full", d.getVerificationQueueFull());
    all.put("verification queue bytes full", d.getVerificationQueueBytesFull());
    return all;
  }

  private static GaugeSnapshot gauge(String name, String help, double value) {
    return gauge(name, help, value, null);
  }

  private static GaugeSnapshot gauge(String name, String help, double value, Unit unit) {
    GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help)
        .dataPoint(GaugeDataPointSnapshot.builder().value(value).build());
    return (unit == null ? b : b.unit(unit)).build();
  }

  private static GaugeDataPointSnapshot labelled(String label, String value, double v) {
    return GaugeDataPointSnapshot.builder().value(v).labels(Labels.of(label, value)).build();
  }

  private static CounterSnapshot counter(String name, String help, double value) {
    return counter(name, help, value, null);
  }

  private static CounterSnapshot counter(String name, String help, double value, Unit unit) {
    CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help)
        .dataPoint(CounterDataPointSnapshot.builder().value(value).build());
    return (unit == null ? b : b.unit(unit)).build();
  }

  private static CounterSnapshot byReason(String name, String help, Map<String, Long> counts) {
    CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
    counts.forEach((reason, count) -> b.dataPoint(CounterDataPointSnapshot.builder().value(count)
        .labels(Labels.of("reason", reason)).build()));
    return b.build();
  }
}

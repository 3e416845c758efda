package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.crypto.PeerKeys;
import io.pbft.crypto.Signer;
import io.pbft.proto.CommittedBatch;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Reply;
import io.pbft.proto.WalRecord;
import io.pbft.replica.verify.Rejection;
import io.pbft.replica.verify.Rejections;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.List;
import java.util.function.IntPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PBFT protocol of one replica, as a pure event-driven object: events in (verified replica
 * messages, verified client requests, execution reports, clock ticks), {@link Effects} out. No
 * threads, sockets, clocks, files or randomness, and no application: the gRPC runtime and the
 * deterministic simulator drive the same code, and execute what it hands out.
 *
 * <p>This class only dispatches. Each sub-protocol of the paper lives in its own class around one
 * shared {@link ReplicaState}: {@link Requests} (admission), {@link NormalCase} (section 4.2),
 * {@link ExecutionOrder}, {@link Checkpoints} (4.3), {@link ViewChangeProtocol} (4.4),
 * {@link CatchUp} and {@link StateTransfer} (TOCS 2002, 5.2 and 5.3), {@link WalCodec} (what the
 * durable log holds), {@link Timers}, and the {@link Outbox} that collects the effects.
 *
 * <p>Inputs carry valid signatures already (the runtime verifies them in a pool, off the event
 * loop). Everything else about them is untrusted: each handler opens with guard clauses that drop
 * and count bad input with a named {@link Rejection}, and only then changes state. After every
 * event the invariants are checked; a broken one throws {@link InvariantViolation}.
 */
public final class ReplicaCore {
  private static final Logger log = LoggerFactory.getLogger(ReplicaCore.class);
  /** Every so many events the runtime's cheap invariant check walks the whole log too. */
  private static final int FULL_CHECK_EVERY = 256;

  private final ReplicaState state;
  private final Outbox outbox;
  private final Timers timers;
  private final Requests requests;
  private final StateTransfer transfer;
  private final NormalCase normal;
  private final ExecutionOrder execution;
  private final Checkpoints checkpoints;
  private final Complaints complaints;
  private final ViewChangeProtocol viewChange;
  private final CatchUp catchUp;
  private final WalCodec wal;
  private final Invariants invariants;
  private boolean checkEverything;
  private long events;
  /**
   * Where execution stood when the view-change timer last expired while this replica was behind
   * and deferred suspecting (-1: it did not defer last time).
   */
  private long deferredAtExecuted = -1;
  /**
   * The epoch ended here (its handover checkpoint is stable and executed): this core takes no
   * further part in its epoch's agreement and only helps replicas still in it catch up to the end.
   */
  private boolean ended;
  /**
   * The last batch seen executed, the low watermark and the view seen, and since when any of them
   * last moved (the clock of the event that saw it).
   */
  private long executedSeen = -1;
  private long stableSeen = -1;
  private long viewSeen = -1;
  private boolean changingSeen;
  private long executedSinceMs;
  /** When this replica learned of the pending handover. */
  private long handoverKnownSinceMs;
  /** When this replica last answered each peer's later-epoch message with a heartbeat (null: never). */
  private long[] hintedAtMs;

  public ReplicaCore(int id, int n, int f, ProtocolSettings settings, Signer signer, IntPredicate knownClient) {
    this(id, ReplicaState.firstIds(n), f, settings, signer, knownClient, Rules.PAPER);
  }

  /**
   * Replica {@code id} of an epoch whose members have ids {@code members}, in the epoch's order
   * (after members were added or removed they need not be 0..n-1; the primary of view v is
   * {@code members[v mod n]}).
   */
  public ReplicaCore(int id, int[] members, int f, ProtocolSettings settings, Signer signer, IntPredicate knownClient) {
    this(id, members, f, settings, signer, knownClient, Rules.PAPER);
  }

  /** With other quorum rules: only tests in this package plant deliberate bugs this way. */
  ReplicaCore(int id, int n, int f, ProtocolSettings settings, Signer signer, IntPredicate knownClient, Rules rules) {
    this(id, ReplicaState.firstIds(n), f, settings, signer, knownClient, rules);
  }

  private ReplicaCore(int id, int[] members, int f, ProtocolSettings settings, Signer signer, IntPredicate knownClient,
      Rules rules) {
    this.state = new ReplicaState(id, members, f, settings);
    this.outbox = new Outbox(id, signer);
    this.timers = new Timers(state, settings.viewChangeBackoffDoublingsMax());
    this.requests = new Requests(state, outbox, knownClient, rules, timers::newViewTimeoutMs);
    this.transfer = new StateTransfer(state, outbox);
    this.normal = new NormalCase(state, outbox, rules, requests, transfer::active);
    this.execution = new ExecutionOrder(state, outbox, requests, transfer::active);
    this.checkpoints = new Checkpoints(state, outbox, transfer, normal, rules, settings.aheadCheckpointVotesMax());
    this.complaints = new Complaints(state, outbox);
    this.viewChange = new ViewChangeProtocol(state, outbox, rules, requests, timers, checkpoints, normal, complaints);
    // A replica that joined without state learns where its epoch began from f + 1 members: from
    // then on that checkpoint needs no proof in its view changes, as for the members.
    checkpoints.onJoinGenesis(this::adoptGenesis);
    this.catchUp = new CatchUp(state, outbox, settings.catchUpBatchesMax(), rules, requests::suspectedFirstHand);
    this.wal = new WalCodec(state, viewChange, checkpoints);
    this.invariants = new Invariants(state, rules, transfer);
  }

  // ------------------------------------------------------------------ configuration

  /**
   * Makes this replica durable: from now on it asks for log records (in its effects) before the
   * messages that depend on them.
   */
  public void enableDurability() {
    outbox.enableDurability();
  }

  /**
   * Authenticates COMMITs and catch-up claims with MACs under {@code keys} ({@code
   * authentication: macs}), and announces this replica's pair key in its heartbeats. Call before
   * the first event.
   */
  public void useMacs(PeerKeys keys) {
    outbox.useMacs(keys);
    viewChange.certificates().useMacs();
  }

  /**
   * Starts this core in configuration epoch {@code epoch} (docs/RECONFIGURATION.md), which began
   * when the previous epoch's handover checkpoint {@code genesis} became stable with state {@code
   * digest}: view {@code firstView} (the view the batch at the handover was proposed in, so that
   * the primary who brought the group there stays primary; no NEW-VIEW opens it, as none opens view
   * 0), low watermark {@code genesis}, executed up to there, with the client table of that state.
   * Inside the epoch the genesis needs no proof, as sequence 0 needs none in epoch 0. Call before
   * the first event.
   */
  public void startEpoch(long epoch, long genesis, ByteString digest, List<Executed.ClientResult> clientTable,
      long firstView) {
    state.epoch = epoch;
    state.view = firstView;
    state.genesis = genesis;
    outbox.epoch(epoch);
    viewChange.certificates().genesis(genesis, digest);
    execution.installed(genesis);
    transfer.retain(genesis, digest);
    checkpoints.installed(genesis, digest, List.of());
    requests.clients().replace(clientTable);
    requests.tableReplaced();
    if (!digest.isEmpty()) {
      checkpoints.genesisTaken(genesis, digest);
    }
    log.info("replica {}: epoch {} begins at checkpoint {}", state.id, epoch, genesis);
  }

  /**
   * Starts this core in configuration epoch {@code epoch} as a member that joins it without its
   * state (a replica moved to a new machine, docs/RECONFIGURATION.md): view {@code view} and the
   * checkpoint {@code genesis} the epoch began at (what the members report; wrong ones cost this
   * replica only its own progress), executed nothing, window at 0. It takes the state at the
   * genesis by state transfer once f + 1 members' CHECKPOINTs for it agree (the members send them
   * when the epoch begins and at each heartbeat until 2f + 1 prove it), or at a later checkpoint a
   * quorum proves, before it votes on anything. Call before the first event.
   */
  public void joinEpoch(long epoch, long view, long genesis) {
    state.epoch = epoch;
    state.view = view;
    state.joinAt = genesis;
    requests.holdSuspicionsUntil(Long.MAX_VALUE); // until it has the state, and a while after
    outbox.epoch(epoch);
    log.info("replica {}: joins epoch {} in view {} without state; it fetches the state at checkpoint {}, where the "
        + "epoch began, once f + 1 members vouch for it", state.id, epoch, view, genesis);
  }

  /**
   * The executed state holds a change pending with handover checkpoint {@code handoverAt} (0:
   * none, or one this epoch already began at): the high watermark stops there, and what this
   * replica logged above it (only a faulty primary proposes there) is dropped.
   */
  private void learnHandover(long handoverAt) {
    if (handoverAt <= state.genesis || state.handoverAt == handoverAt) {
      return;
    }
    state.handoverAt = handoverAt;
    handoverKnownSinceMs = state.nowMs;
    state.slots.tailMap(handoverAt, false).clear();
    log.info("replica {}: epoch {} ends at checkpoint {}", state.id, state.epoch, handoverAt);
  }

  /**
   * Since when this backup waits for the primary to order up to the handover checkpoint
   * (Long.MAX_VALUE when no handover is pending, execution reached it, or the window is full):
   * since execution or the window last moved or the view changed, or since the handover became
   * known if later. Each primary gets a whole timeout from its view's start. A primary owes the batches up to the
   * handover, empty ones if no request waits, so a primary that stops short of it is replaced as
   * one that stops ordering requests is; without this a faulty primary of an idle group could
   * hold a change pending for good.
   */
  private long handoverAwaitedSinceMs() {
    if (state.handoverAt == 0 || state.lastExecuted >= state.highWatermark()) {
      // None pending, reached, or the window is full here: the next batches wait for a checkpoint
      // to become stable, which is not the primary's to bring about.
      return Long.MAX_VALUE;
    }
    return Math.max(executedSinceMs, handoverKnownSinceMs);
  }

  /**
   * Whether this core's epoch ended: its handover checkpoint is stable and executed, and the
   * state after it is the next epoch's (start that epoch's core with {@link #startEpoch}). An
   * ended core takes no part in agreement and only helps replicas still in its epoch catch up.
   */
  public boolean epochEnded() {
    return ended;
  }

  /**
   * A verified message of a later configuration epoch came from {@code peer}: this replica is
   * behind the group's epoch. Its heartbeat goes to that peer at once (at most every quarter of a
   * heartbeat period per peer), and the peer's core of this replica's epoch, retired at the
   * handover, answers with what this replica lacks to reach it (the checkpoint proof, the batches,
   * the state), rather than at the next periodic heartbeat: a replica several epochs behind
   * crosses each of them in a few round trips.
   */
  public void peerInLaterEpoch(long nowMs, int peer) {
    clock(nowMs);
    if (state.isMember(peer) && peer != state.id && !ended) {
      if (hintedAtMs == null) {
        hintedAtMs = new long[state.idBound];
        java.util.Arrays.fill(hintedAtMs, Long.MIN_VALUE / 2);
      }
      if (state.nowMs - hintedAtMs[peer] >= state.settings.viewChangeTimeoutMs() / 4) {
        hintedAtMs[peer] = state.nowMs;
        catchUp.heartbeatTo(peer);
      }
    }
    afterEvent(false);
  }

  /**
   * The client requests this core holds and has not seen executed (queued at a primary, awaited at
   * a backup): when its epoch ends they are handed to the next epoch's core ({@link
   * #onRequest(long, VerifiedRequest, boolean)}), so that their clients do not wait for a
   * retransmission. A query: it changes nothing.
   */
  public List<VerifiedRequest> unexecutedRequests() {
    return requests.unexecuted();
  }

  /** The configuration epoch this core runs. */
  public long epoch() {
    return state.epoch;
  }

  /** The checkpoint this core's epoch began at (0 in epoch 0). */
  /** Whether this replica joined its epoch without state ({@link #joinEpoch}) and holds none yet. */
  public boolean joiningWithoutState() {
    return state.joiningWithoutState();
  }

  /**
   * A replica that joined without state learned where its epoch began ({@code s}, state {@code
   * digest}): from then on that checkpoint needs no proof in its view changes, as for the members
   * that began the epoch there.
   */
  private void adoptGenesis(long s, ByteString digest) {
    state.genesis = Math.max(state.genesis, s);
    viewChange.certificates().genesis(s, digest);
  }

  public long genesis() {
    return state.genesis;
  }

  /** The handover checkpoint of a pending change, 0 when none is known. */
  public long handoverAt() {
    return state.handoverAt;
  }

  /**
   * The configuration epoch a replica's write-ahead log was last compacted in: the epoch whose core
   * wrote it, which a restart resumes unless the application's state is further along.
   */
  public static long epochOfLog(List<WalRecord> records) {
    return WalCodec.latestEpoch(records);
  }

  /** Walk the whole log after every event, not only every so often (the simulator does). */
  public void checkEverythingAfterEachEvent() {
    checkEverything = true;
  }

  // ------------------------------------------------------------------ events

  /** A message from another replica, verified by the runtime. */
  public void onMessage(long nowMs, VerifiedMessage m) {
    clock(nowMs);
    int sender = m.sender();
    ReplicaMessage message = m.message();
    if (!state.isMember(sender) || sender == state.id) {
      outbox.reject(Rejection.UNKNOWN_SENDER, "sender %d", sender);
    } else if (message.getEpoch() != state.epoch) {
      outbox.reject(Rejection.WRONG_EPOCH, "%s of epoch %d from %d", message.getBodyCase(), message.getEpoch(), sender);
    } else if (ended && !servedAfterTheEnd(message.getBodyCase())) {
      // the epoch is over here: its agreement goes on without this core
    } else {
      switch (message.getBodyCase()) {
        case PRE_PREPARE -> normal.onPrePrepare(sender, message.getPrePrepare(), m);
        case PREPARE -> normal.onPrepare(sender, message.getPrepare(), m.signed());
        case COMMIT -> normal.onCommit(sender, message.getCommit(), m.signed());
        case CHECKPOINT -> checkpoints.onCheckpoint(sender, message.getCheckpoint(), m.signed());
        case FORWARDED_REQUEST -> {
          if (m.requests().size() == 1) {
            requests.onForwarded(sender, m.requests().get(0));
          } else {
            outbox.reject(Rejection.MALFORMED, "forwarded request from %d was not checked", sender);
          }
        }
        case VIEW_CHANGE -> viewChange.onViewChange(sender, message.getViewChange(), m.signed());
        case NEW_VIEW -> viewChange.onNewView(sender, message.getNewView(), m.signed());
        case FETCH_STATE -> transfer.onFetch(sender, message.getFetchState());
        case STATE_CHUNK -> transfer.onChunk(sender, message.getStateChunk());
        case HEARTBEAT -> {
          if (catchUp.onHeartbeat(sender, message.getHeartbeat())) {
            requests.onSuspicionsReported(sender, message.getHeartbeat().getSuspectedClientsList());
          }
        }
        case COMMITTED -> catchUp.onCommittedCertificate(sender, message.getCommitted());
        case COMPLAINT -> {
          List<io.pbft.proto.SignedMessage> evidence =
              complaints.onComplaint(sender, message.getComplaint(), m.signed());
          if (evidence != null) {
            viewChange.start(message.getComplaint().getView() + 1, evidence);
          }
        }
        default -> outbox.reject(Rejection.MALFORMED, "empty body from %d", sender);
      }
    }
    afterEvent(false);
  }

  /**
   * What an ended core still handles: what a replica behind in its epoch needs to reach the end
   * (checkpoints and their proof, batches it missed, the state at the handover).
   */
  private static boolean servedAfterTheEnd(ReplicaMessage.BodyCase kind) {
    return switch (kind) {
      case CHECKPOINT, HEARTBEAT, COMMITTED, FETCH_STATE, STATE_CHUNK -> true;
      default -> false;
    };
  }

  /**
   * A client request, verified by the runtime. The primary queues it for a batch; a backup
   * passes it on to the primary (the client sent it to everyone after a timeout) and arms its
   * view-change timer.
   */
  public void onRequest(long nowMs, VerifiedRequest r) {
    onRequest(nowMs, r, false);
  }

  /**
   * A client request; {@code sentToAll} when the client sent it to every replica at once (its
   * first send): a backup then times the primary on it without relaying it.
   */
  public void onRequest(long nowMs, VerifiedRequest r, boolean sentToAll) {
    clock(nowMs);
    if (ended) {
      return; // the next epoch's core orders it
    }
    requests.onRequest(r, sentToAll);
    normal.requestArrived();
    afterEvent(false);
  }

  /**
   * A client's session to this replica came up: the reply to its latest request may have been
   * produced before (a client may send to the primary first), so it is offered again.
   */
  public void onSessionOpened(long nowMs, int clientId) {
    clock(nowMs);
    Reply last = requests.lastReply(clientId);
    if (last != null) {
      outbox.reply(new Effects.ClientReply(clientId, last));
    }
    afterEvent(false);
  }

  /** The executor ran an {@link Effects.Execute}; reports arrive in sequence order. */
  public void onExecuted(long nowMs, Executed e) {
    clock(nowMs);
    execution.onExecuted(e);
    if (!e.tentative()) {
      learnHandover(e.handoverAt());
    }
    if (e.checkpointDigest() != null) {
      checkpoints.taken(e.sequence(), e.checkpointDigest());
    }
    afterEvent(false);
  }

  /** The executor checked (and maybe installed) a state fetched from peers. */
  public void onStateInstalled(long nowMs, StateInstalled result) {
    clock(nowMs);
    ByteString digest = transfer.targetDigest();
    var proof = transfer.targetProof();
    if (transfer.onInstalled(result)) {
      long s = result.sequence();
      execution.installed(s);
      requests.clients().replace(result.clientTable());
      requests.tableReplaced();
      checkpoints.installed(s, digest, proof);
      if (state.joinAt > 0 && requests != null) {
        // Joined without state: the clients' sessions with this machine are new; a request
        // timeout or two for their retransmissions to carry MACs for them.
        requests.holdSuspicionsUntil(state.nowMs + 2L * state.settings.viewChangeTimeoutMs());
      }
      if (result.beginsEpoch(state.epoch)) {
        // This replica joined the epoch without state and installed its genesis: the epoch
        // before ended there, not this one.
        adoptGenesis(s, digest);
      } else {
        learnHandover(result.handoverAt());
      }
      log.info("replica {}: installed the state of checkpoint {}", state.id, s);
      if (state.lastHandedOut < state.lowWatermark) {
        // A later checkpoint became stable while this one was on its way (its fetch was deferred
        // so that the moving transfer could finish): fetch that one now.
        transfer.start(state.lowWatermark, state.stableDigest, state.stableProof);
      }
    }
    afterEvent(false);
  }

  /** The executor read a chunk of a checkpoint's state that a peer asked for. */
  public void onStateChunkRead(long nowMs, StateChunkRead read) {
    clock(nowMs);
    transfer.onChunkRead(read);
    afterEvent(false);
  }

  /**
   * The clock moved to {@code nowMs} (any monotonic origin). Fires the view-change timer, state
   * transfer retries and heartbeats when due.
   */
  public void tick(long nowMs) {
    clock(nowMs);
    if (ended) {
      // No timers: nothing is ordered here any more. Heartbeats and the state transfer's retries
      // go on, so that a replica behind in this epoch learns where it ended.
      transfer.tick();
      if (timers.heartbeatDue()) {
        catchUp.heartbeat();
      }
      afterEvent(true);
      return;
    }
    long stallStartMs = timers.lastTickMs();
    long stall = timers.stall();
    if (stall > 0) {
      // This replica itself did not run for a while: that time does not count against the primary.
      log.info("replica {}: stalled for {} ms; its timers do not count it", state.id, stall);
      requests.shift(stall, stallStartMs);
      complaints.shift(stall, stallStartMs);
      // What arrives now was mostly sent during the stall, and if the whole machine stalled the
      // primary has the same backlog: give it a full viewChangeTimeoutMs before suspecting it.
      timers.postpone();
    }
    if (timers.expired()) {
      if (!state.viewChanging && catchingUpAndGettingThere()) {
        // f + 1 replicas are further along (or 2f + 1 proved a checkpoint this replica has not
        // reached): the requests it waits for are late because it is behind, not because the
        // primary stalls. Catch up first; the others suspect a bad primary if there is one.
        log.info("replica {}: view-change timer expired in view {} while catching up; not suspecting",
            state.id, state.view);
        timers.postpone();
      } else {
        String handover = handoverAwaitedSinceMs() == Long.MAX_VALUE ? ""
            : ", the handover at " + state.handoverAt + " awaited";
        List<io.pbft.proto.SignedMessage> evidence = complaints.complain(requests.longestWait() + handover + ", timer "
            + timers.timeoutMs() + " ms; " + state.nextToExecute());
        if (evidence != null) {
          viewChange.start(state.view + 1, evidence);
        }
      }
    }
    requests.relayDue(timers.timeoutMs() / 2);
    checkpoints.tick();
    transfer.tick();
    if (timers.heartbeatDue()) {
      complaints.repeat();
      viewChange.repeatOwn();
      checkpoints.repeatOwn();
      int resent = normal.retransmitWaiting();
      if (resent > 0) {
        log.debug("replica {}: sent its messages for {} waiting slots of view {} again", state.id, resent, state.view);
      }
      catchUp.heartbeat();
    }
    afterEvent(true);
  }

  /**
   * Whether this replica is behind and catching up, so that a late request is its own lag and not
   * the primary's doing, and whether catching up still gets it somewhere. A state transfer under
   * way always counts (it has its own retries). Being behind peers or behind a proven checkpoint
   * counts only while execution moved since the timer last expired here: when the batches it
   * lacks can come from nobody (in MAC mode a batch is run on f + 1 replicas' claims, and a crash
   * plus a restart can leave one replica alone holding it, and the checkpoint above it never
   * stable), deferring again would wait for good while the replicas ahead wait for this one.
   * Then it suspects the primary like any replica kept waiting, and the view change re-proposes
   * what any of them prepared (simulator seed 436, n = 4, MACs, a partial-authenticator client,
   * one crash and one restart: the group stood still for 198 s without a view change).
   */
  private boolean catchingUpAndGettingThere() {
    if (transfer.active()) {
      deferredAtExecuted = -1;
      return true;
    }
    if (!checkpoints.behind() && !catchUp.behindPeers()) {
      deferredAtExecuted = -1;
      return false;
    }
    boolean moved = deferredAtExecuted < 0 || state.lastExecuted > deferredAtExecuted;
    deferredAtExecuted = state.lastExecuted;
    if (!moved) {
      log.info("replica {}: behind its peers at {} and nothing executed since the timer last expired; "
          + "suspecting the primary of view {}", state.id, state.lastExecuted, state.view);
    }
    return moved;
  }

  /**
   * Rebuilds this replica after a restart: the executor recovered the application's checkpoint at
   * {@code appSequence} with its {@code clientTable}, and {@code records} holds what the replica
   * logged since its last compaction. The batches it executed after the checkpoint are handed out
   * again; what it still lacks, it gets from its peers (heartbeats, state transfer).
   */
  public void recover(long nowMs, long appSequence, List<Executed.ClientResult> clientTable, List<WalRecord> records) {
    recover(nowMs, appSequence, clientTable, records, 0);
  }

  /**
   * As {@link #recover(long, long, List, List)}, for an application state that holds a
   * configuration change pending with handover checkpoint {@code handoverAt} (0: none), as {@link
   * Executed#handoverAt} says. A replica restarting in a later epoch than 0 calls {@link
   * #startEpoch} first; the log's records of other epochs are skipped.
   */
  public void recover(long nowMs, long appSequence, List<Executed.ClientResult> clientTable, List<WalRecord> records,
      long handoverAt) {
    clock(nowMs);
    state.lastExecuted = appSequence;
    state.lastHandedOut = appSequence;
    requests.clients().replace(clientTable);
    WalCodec.Recovered recovered = wal.recover(appSequence, records);
    learnHandover(handoverAt);
    for (CommittedBatch c : recovered.committed().values()) {
      if (c.getSequence() > state.lowWatermark || c.getSequence() != state.lastHandedOut + 1) {
        break; // above h they have slots and go out as committed batches do; a gap is filled by peers
      }
      try {
        execution.replay(c.getSequence(), c.getView(), ViewChangeRules.requestsOf(c.getBatch()), c.getTimeMs(),
            c.getDigest(), c.getBatch().getProposedView());
      } catch (ViewChangeRules.Invalid e) {
        throw new InvariantViolation("own log holds a batch that does not parse at " + c.getSequence(), e);
      }
    }
    state.lastAssigned = Math.max(state.lastAssigned, state.lastHandedOut);
    log.info("replica {}: recovered view {}{}, stable checkpoint {}, application at {}, {} batches to replay",
        state.id, state.view, state.viewChanging ? " (changing)" : "", state.lowWatermark, appSequence,
        recovered.committed().size());
    if (state.lastHandedOut < state.lowWatermark) {
      transfer.start(state.lowWatermark, state.stableDigest, state.stableProof);
    }
    if (state.viewChanging) {
      viewChange.armNewViewTimer();
    }
    afterEvent(false);
  }


  /** The protocol settings this replica runs with. */
  public io.pbft.config.ProtocolSettings settings() {
    return state.settings;
  }

  /**
   * The wall clock read {@code wallMs} (milliseconds since the epoch) when the event clock read
   * {@code nowMs}. The event clock is monotonic from any origin, and timers run on it; the wall
   * clock is what the primary proposes as a batch's time and backups check proposals against
   * ({@code protocol.clockSkewMs}). The runtime tells it before the first event and at every tick,
   * so that corrections of the wall clock (NTP) reach the core; until it does, and in the
   * simulator, the event clock is the wall clock.
   */
  public void wallClock(long nowMs, long wallMs) {
    state.wallOffsetMs = wallMs - nowMs;
  }

  private void clock(long nowMs) {
    state.nowMs = Math.max(state.nowMs, nowMs);
  }

  /** What every event ends with: fill the pipeline, hand out what committed, the timer, checks. */
  /**
   * {@code tick}: the event was a tick. With {@link #checkEverythingAfterEachEvent} the whole log
   * is walked after every other event; a tick changes little (a timer may start a view change),
   * and what it breaks stays broken until the next message, request or execution, whose check
   * finds it, so ticks get the constant-time check: walking the log after each of them cost the
   * simulator 4 % of its time.
   */
  private void afterEvent(boolean tick) {
    if (ended) {
      return; // everything up to the handover ran; nothing above it is ordered in this epoch
    }
    normal.proposeBatches();
    if (execution.handOut()) {
      // A request this replica waited for committed: the primary served that client, so back to
      // the base timeout and no more suspicion. Other clients' progress does not count: a primary
      // that serves everyone but one client must still be suspected (each client's wait is timed
      // on its own).
      timers.progress();
      complaints.withdraw();
    }
    if (state.lastExecuted != executedSeen || state.lowWatermark != stableSeen || state.view != viewSeen
        || state.viewChanging != changingSeen) {
      executedSeen = state.lastExecuted;
      stableSeen = state.lowWatermark;
      viewSeen = state.view;
      changingSeen = state.viewChanging;
      executedSinceMs = state.nowMs;
    }
    timers.update(Math.min(requests.oldestAwaitedSinceMs(), handoverAwaitedSinceMs()), complaints.suspecting());
    if (requests.takeNewSuspicion()) {
      catchUp.heartbeat(); // the others learn at once whom this replica suspects
    }
    if ((checkEverything && !tick) || ++events % FULL_CHECK_EVERY == 0) {
      invariants.checkAll();
    } else {
      invariants.checkCheap();
    }
    if (state.handoverAt > 0 && state.lowWatermark >= state.handoverAt && state.lastExecuted >= state.handoverAt) {
      ended = true;
      log.info("replica {}: epoch {} ended at checkpoint {} (view {})", state.id, state.epoch, state.handoverAt,
          state.view);
    }
  }

  /** Hands out everything accumulated since the last call. */
  public Effects takeEffects() {
    if (outbox.takeCompactionDue()) {
      // The live state as it is after everything the event(s) did, records after the stable
      // checkpoint included; the runtime writes it after records() and drops what is older.
      outbox.effects().compactTo(wal.liveRecords());
    }
    return outbox.take();
  }

  // ------------------------------------------------------------------ queries

  public int id() {
    return state.id;
  }

  public int n() {
    return state.n;
  }

  public int f() {
    return state.f;
  }

  public long view() {
    return state.view;
  }

  public boolean viewChanging() {
    return state.viewChanging;
  }

  public int primary() {
    return state.primary();
  }

  public int primaryOf(long v) {
    return state.primaryOf(v);
  }

  public boolean isPrimary() {
    return state.isPrimary();
  }

  /**
   * The floor a read-only request waits for (TOCS 2002, section 5.1.3, without tentative
   * execution): the highest sequence number this replica has prepared or committed, at least the
   * last executed one. The executor answers a read-only request only once it has executed up to
   * here, so the answer reflects every request this replica voted to commit. A write a client
   * saw complete committed with COMMITs of f + 1 correct replicas, so among the 2f + 1 replicas
   * whose matching answers a client accepts (f + 1 of them correct) at least one correct replica
   * prepared it and answers from a state that holds it. A query, no event: it changes nothing.
   */
  public long readFloor() {
    long floor = state.lastExecuted;
    for (Slot s : state.slots.descendingMap().values()) {
      if (s.sequence <= floor) {
        break;
      }
      // The certificate survives a view change, while prepared is reset until the new view
      // prepares the slot again: a replica that prepared a write must not answer reads without it.
      if (s.prepared || s.committed || s.certificate != null) {
        return s.sequence;
      }
    }
    return floor;
  }

  /** The last batch the executor reported executed. */
  public long lastExecuted() {
    return state.lastExecuted;
  }

  public long lowWatermark() {
    return state.lowWatermark;
  }

  public long highWatermark() {
    return state.highWatermark();
  }

  public ByteString lastStableCheckpointDigest() {
    return state.stableDigest;
  }

  public long executedRequests() {
    return execution.executedRequests();
  }

  public long viewChangesStarted() {
    return viewChange.started();
  }

  /** Complaints this replica multicast about its primary. */
  public long complaintsSent() {
    return complaints.sent();
  }

  /** Time this replica did not run (paused, starved), which its timers left out. */
  /** The request timer now: adaptive, with backoff (see {@code viewChangeTimeoutMinMs}). */
  public long requestTimeoutMs() {
    return timers.timeoutMs();
  }

  /** The observed agreement latency in ms (pre-prepare to committed), or 0 before any. */
  public long agreementLatencyMs() {
    return state.agreement.known() ? Math.round(state.agreement.estimateMs()) : 0;
  }

  public long stalledMs() {
    return timers.stalledMs();
  }

  /**
   * Clients this replica suspects of sending authenticators that check for some replicas only
   * (their requests wait, at this replica as primary, for f + 1 backups to relay them).
   */
  public int suspectedClients() {
    return requests.suspectedClients();
  }

  /** Requests waiting at the primary for a batch. */
  public int pendingRequests() {
    return requests.queued();
  }

  /** Slots held in the log (bounded by the window). */
  public int logSize() {
    return state.slots.size();
  }

  public Rejections rejections() {
    return outbox.rejections();
  }

  public boolean fetchingState() {
    return transfer.active();
  }

  public long stateTransfers() {
    return transfer.transfersCompleted();
  }

  public long stateTransferBytes() {
    return transfer.bytesFetched();
  }

  /** The reply to the last request executed for {@code clientId}, or null. */
  public Reply lastReply(int clientId) {
    return requests.lastReply(clientId);
  }
}

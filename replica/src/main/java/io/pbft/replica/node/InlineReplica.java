package io.pbft.replica.node;

import io.pbft.replica.core.Effects;
import io.pbft.replica.core.Executed;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.core.StateChunkRead;
import io.pbft.replica.core.StateInstalled;
import io.pbft.replica.execution.Execution;
import io.pbft.replica.execution.ReadOnlyQueries;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * A replica in one thread, for the simulator and tests: a core, its executor and one
 * {@link EffectApplier}. After each event the effects are carried out; the executor runs what it
 * is handed at once, and its reports go back to the core as events at the same instant, until
 * nothing is left. (The runtime does the same with an execution thread in between.)
 */
public final class InlineReplica {
  private final ReplicaCore core;
  private final Execution execution;
  private final EffectApplier applier;
  private final ReadOnlyQueries reads;
  private final ArrayDeque<Consumer<Long>> reports = new ArrayDeque<>();
  /** Execution reports held back while the executor lags ({@link #executorLags}). */
  private final ArrayDeque<Consumer<Long>> held = new ArrayDeque<>();
  private boolean lagging;
  private Consumer<Effects> applicationObserver = effects -> { };

  public InlineReplica(ReplicaCore core, Execution execution, EffectApplier.Storage storage, Behaviour behaviour,
      Behaviour.Signing signing, EffectApplier.Transport transport, EffectApplier.Clients clients) {
    this.core = core;
    this.execution = execution;
    Execution.Reports queue = new Execution.Reports() {
      @Override
      public void executed(Executed e) {
        reports.add(now -> core.onExecuted(now, e));
      }

      @Override
      public void installed(StateInstalled s) {
        reports.add(now -> core.onStateInstalled(now, s));
      }

      @Override
      public void chunkRead(StateChunkRead r) {
        reports.add(now -> core.onStateChunkRead(now, r));
      }
    };
    this.reads = new ReadOnlyQueries(signing.replicaId(), behaviour::readOnlyResult);
    this.applier = new EffectApplier(storage, effects -> {
      applicationObserver.accept(effects);
      execution.apply(effects, reads.releasingAfterEachCommit(queue, execution,
          core.settings().tentativeExecution(), this::answerReads));
    }, behaviour, signing, transport, clients);
  }

  /**
   * Shows {@code observer} each burst of effects that has work for the application, just before
   * the executor carries it out (a script prints the batches executed with it).
   */
  public void observeApplication(Consumer<Effects> observer) {
    this.applicationObserver = observer;
  }

  public ReplicaCore core() {
    return core;
  }

  public Execution execution() {
    return execution;
  }

  /**
   * While {@code lag} is true, the executor's reports reach the core only once it is set false
   * again (at the next event): a replica whose execution thread falls behind on a busy machine.
   */
  public void executorLags(boolean lag) {
    this.lagging = lag;
  }

  public Behaviour behaviour() {
    return applier.behaviour();
  }

  /**
   * A verified read-only request: answered from the executor's state once it has executed up to
   * the core's read floor (now, or after the event that gets it there). It never reaches the core.
   */
  public void read(VerifiedRequest r) {
    applier.reply(reads.submit(execution, r, core.readFloor(), core.view()));
  }

  /** The read-only requests and their bookkeeping (for tests and summaries). */
  public ReadOnlyQueries reads() {
    return reads;
  }

  /**
   * Runs one event on the core at {@code nowMs} and carries out everything that follows from it.
   * If the event (or one of its reports) throws, the reports still queued are dropped with it.
   */
  public void run(long nowMs, Consumer<ReplicaCore> event) {
    try {
      event.accept(core);
      applier.apply(core.takeEffects());
      if (!lagging) {
        reports.addAll(held);
        held.clear();
      }
      Consumer<Long> report;
      while (!lagging && (report = reports.poll()) != null) {
        report.accept(nowMs);
        applier.apply(core.takeEffects());
      }
    } finally {
      if (lagging) {
        held.addAll(reports);
      }
      reports.clear();
    }
    // The executor may have reached the floor of waiting reads (even while its reports lag).
    applier.reply(reads.released(execution));
  }

  /** Answers to read-only requests, released while the executor works through a burst. */
  private void answerReads(java.util.List<Effects.ClientReply> replies) {
    applier.reply(replies);
  }
}

package io.pbft.replica.execution;

import com.google.protobuf.ByteString;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.replica.core.Effects;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Read-only requests on the executor's side (Castro and Liskov, TOCS 2002, section 5.1.3): never
 * ordered, each answered from the replica's current state through {@code StateMachine.query}.
 *
 * <p>The paper's replica answers once every request reflected in its (tentative) state has
 * committed: so does this one, which holds a read while a tentative batch is in its state
 * (protocol.tentativeExecution) until that batch commits or is rolled back. Without tentative
 * execution its state is always committed; what it must add is the other half of the rule: the answer reflects every request this replica has
 * prepared (the paper's tentative state holds them all). So a read carries a floor, the core's
 * {@code readFloor()} when the read arrived, and is answered only once the executor has executed
 * up to it; until then it waits here, after the batch that reaches it.
 *
 * <p>Bounded: a client has one read outstanding at a time, so each client keeps one waiting read
 * at most (a newer one displaces it); clients are the configured ones. One thread at a time calls
 * this class (the execution thread, or the simulator), the same one that calls {@link Execution}.
 */
public final class ReadOnlyQueries {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ReadOnlyQueries.class);
  private record Waiting(VerifiedRequest request, long floor, long view) {}

  /** What a result becomes before it leaves: itself, or a traitor's lie (Behaviour#readOnlyResult). */
  public interface Results {
    Results HONEST = (request, result) -> result;

    ByteString result(Request request, ByteString result);
  }

  private final int replicaId;
  private final Results results;
  private final Map<Integer, Waiting> waiting = new LinkedHashMap<>();
  private long answered;
  private long displaced;
  private long failed;

  public ReadOnlyQueries(int replicaId) {
    this(replicaId, Results.HONEST);
  }

  public ReadOnlyQueries(int replicaId, Results results) {
    this.replicaId = replicaId;
    this.results = results;
  }

  /**
   * A verified read-only request that reached this replica when its core stood at {@code view}
   * with {@code floor} as its read floor: its answer now if the executor has executed up to the
   * floor, else none (it waits for {@link #released}).
   */
  public List<Effects.ClientReply> submit(Execution execution, VerifiedRequest r, long floor, long view) {
    if (!r.request().getReadOnly()) {
      throw new IllegalArgumentException("not a read-only request: client " + r.clientId() + " t=" + r.timestamp());
    }
    if (execution.readable(floor)) {
      Effects.ClientReply reply = answer(execution, new Waiting(r, floor, view));
      return reply == null ? List.of() : List.of(reply);
    }
    Waiting before = waiting.get(r.clientId());
    if (before != null && before.request().timestamp() > r.timestamp()) { // signed, as the client table compares
      displaced++;
      return List.of(); // an older read arriving late: the client no longer waits for it
    }
    if (before != null) {
      displaced++;
    }
    waiting.put(r.clientId(), new Waiting(r, floor, view));
    return List.of();
  }

  /**
   * {@code reports}, answering the waiting reads a committed batch covers as soon as it ran, to
   * {@code answered}: with tentative execution a burst of effects often ends with the next
   * tentative batch, and reads released only after the burst would wait as long as load lasts.
   * Without tentative execution ({@code tentative} false) {@code reports} itself: no burst ends
   * in a tentative batch, and the reads wait for the end of the burst as they always did.
   */
  public Execution.Reports releasingAfterEachCommit(Execution.Reports reports, Execution execution,
      boolean tentative, java.util.function.Consumer<List<Effects.ClientReply>> answered) {
    if (!tentative) {
      return reports;
    }
    return new Execution.Reports() {
      @Override
      public void executed(io.pbft.replica.core.Executed e) {
        reports.executed(e);
        if (!e.tentative() && !waiting.isEmpty()) {
          List<Effects.ClientReply> out = released(execution);
          if (!out.isEmpty()) {
            answered.accept(out);
          }
        }
      }

      @Override
      public void installed(io.pbft.replica.core.StateInstalled s) {
        reports.installed(s);
      }

      @Override
      public void chunkRead(io.pbft.replica.core.StateChunkRead r) {
        reports.chunkRead(r);
      }
    };
  }

  /** After the executor ran a batch (or installed a state): the waiting reads it now covers, answered. */
  public List<Effects.ClientReply> released(Execution execution) {
    if (waiting.isEmpty()) {
      return List.of();
    }
    List<Effects.ClientReply> out = new ArrayList<>();
    for (Iterator<Waiting> it = waiting.values().iterator(); it.hasNext(); ) {
      Waiting w = it.next();
      if (execution.readable(w.floor())) {
        it.remove();
        Effects.ClientReply reply = answer(execution, w);
        if (reply != null) {
          out.add(reply);
        }
      }
    }
    return out;
  }

  /**
   * The answer to a waiting read, or null if the application's query failed on it: a read is a
   * client's input, and what a client sends must not stop a replica. Unanswered, the read falls
   * back to the ordered path at the client, where {@code execute} must cope with any operation.
   */
  private Effects.ClientReply answer(Execution execution, Waiting w) {
    byte[] queried;
    try {
      queried = execution.query(w.request().request().getOperation().toByteArray());
    } catch (RuntimeException e) {
      failed++;
      log.warn("replica {}: the application's query failed on client {}'s read t={} (left unanswered): {}",
          replicaId, w.request().clientId(), w.request().timestamp(), e.toString());
      return null;
    }
    answered++;
    ByteString result = results.result(w.request().request(), ByteString.copyFrom(queried));
    Reply reply = Reply.newBuilder()
        .setView(w.view())
        .setTimestamp(w.request().timestamp())
        .setClientId(w.request().clientId())
        .setReplicaId(replicaId)
        .setResult(result)
        .setReadOnly(true)
        .build();
    return new Effects.ClientReply(w.request().clientId(), reply);
  }

  /** Reads waiting for the executor to reach their floor. */
  public int waiting() {
    return waiting.size();
  }

  /** Reads answered since this replica started. */
  public long answered() {
    return answered;
  }

  /** Reads left unanswered because the application's query threw. */
  public long failed() {
    return failed;
  }

  /** Waiting reads dropped because their client sent a newer one. */
  public long displaced() {
    return displaced;
  }
}

package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.function.Consumer;

/**
 * What every correct replica's application executed, checked as it happens (so a violation is reported
 * with the trace that led to it):
 *
 * <ul>
 *   <li>agreement: at each sequence number every replica executes the same operations (the digest
 *       of the (client, timestamp, operation) list the core handed to the application: equal
 *       batches give equal lists at equal states);
 *   <li>exactly once: no replica executes the same (client, timestamp) twice;
 *   <li>integrity: what executes under (client, timestamp) is what that client signed.
 * </ul>
 */
final class ExecutionLog {
  private record Key(int client, long timestamp) {}

  private record First(int replica, long view, ByteString digest, String summary) {}

  private final Map<Long, First> bySequence = new HashMap<>();
  private final List<Set<Key>> executed = new ArrayList<>();
  private final Map<Key, ByteString> issued = new HashMap<>();
  private final long[] operations;
  private final Set<Integer> traitors;
  private long crossView;
  private final Consumer<String> violation;
  private final MessageDigest sha256;

  ExecutionLog(int replicas, Set<Integer> traitors, Consumer<String> violation) {
    this.traitors = Set.copyOf(traitors);
    for (int i = 0; i < replicas; i++) {
      executed.add(new HashSet<>());
    }
    this.operations = new long[replicas];
    this.violation = violation;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A client signed {@code operation} under (client, timestamp). */
  void issued(int client, long timestamp, byte[] operation) {
    issued.put(new Key(client, timestamp), ByteString.copyFrom(operation));
  }

  long operationsExecuted(int replica) {
    return operations[replica];
  }

  /**
   * How often a replica executed a sequence number in another view than the first replica that
   * executed it: the batch was carried across a view change (and must be the same batch).
   */
  long crossViewExecutions() {
    return crossView;
  }

  /** Sequence numbers at which some replica executed a non-empty batch. */
  int sequencesExecuted() {
    return bySequence.size();
  }

  void onExecute(int replica, ExecutionContext context, List<Operation> ops) {
    if (traitors.contains(replica)) {
      operations[replica] += ops.size();
      return; // what a traitor executes proves nothing either way
    }
    long s = context.sequence();
    StringJoiner summary = new StringJoiner(" ", "[", "]");
    sha256.reset();
    for (Operation op : ops) {
      Key key = new Key(op.clientId(), op.timestamp());
      summary.add("c" + op.clientId() + ":t" + op.timestamp());
      sha256.update(ByteBuffer.allocate(12).putInt(op.clientId()).putLong(op.timestamp()).array());
      sha256.update(op.payload());
      if (!executed.get(replica).add(key)) {
        violation.accept("exactly-once: replica " + replica + " executed client " + op.clientId() + " timestamp "
            + op.timestamp() + " a second time, at n=" + s);
      }
      ByteString signed = issued.get(key);
      if (signed == null || !signed.equals(ByteString.copyFrom(op.payload()))) {
        violation.accept("integrity: replica " + replica + " executed at n=" + s + " an operation client "
            + op.clientId() + " never issued with timestamp " + op.timestamp());
      }
    }
    operations[replica] += ops.size();
    ByteString digest = ByteString.copyFrom(sha256.digest());
    First first = bySequence.putIfAbsent(s, new First(replica, context.view(), digest, summary.toString()));
    if (first != null && first.view() != context.view()) {
      crossView++;
    }
    if (first != null && !first.digest().equals(digest)) {
      violation.accept("agreement: at n=" + s + " replica " + first.replica() + " executed " + first.summary()
          + " but replica " + replica + " executed " + summary + " (view " + context.view() + ")");
    }
  }
}

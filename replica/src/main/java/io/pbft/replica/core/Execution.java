package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.pbft.crypto.Digests;
import io.pbft.proto.Batch;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Runs committed batches against the application, strictly in sequence order, with
 * exactly-once bookkeeping per client (section 4.1): the timestamp of the last request executed
 * for each client and its result. A request with an older or equal timestamp is not executed
 * again; a retransmission of the last one gets its result again.
 *
 * <p>The client table is part of the replicated state: it is covered by the state digest and
 * travels with the application snapshot in state transfer.
 */
final class Execution {
  /** One request that ran. */
  record Executed(int clientId, long timestamp) {}

  private record Last(long timestamp, ByteString result) {}

  private final int replicaId;
  private final StateMachine app;
  private final TreeMap<Integer, Last> clients = new TreeMap<>();
  private long lastExecuted;
  private long executedRequests;

  Execution(int replicaId, StateMachine app) {
    this.replicaId = replicaId;
    this.app = app;
  }

  long lastExecuted() {
    return lastExecuted;
  }

  long executedRequests() {
    return executedRequests;
  }

  long lastTimestamp(int clientId) {
    Last l = clients.get(clientId);
    return l == null ? Long.MIN_VALUE : l.timestamp();
  }

  Reply lastReply(int clientId, long view) {
    Last l = clients.get(clientId);
    if (l == null) {
      return null;
    }
    return Reply.newBuilder().setView(view).setTimestamp(l.timestamp()).setClientId(clientId)
        .setReplicaId(replicaId).setResult(l.result()).build();
  }

  /** Executes the batch at {@code sequence}; replies go to {@code effects}. */
  List<Executed> execute(long sequence, long view, Batch batch, Effects effects) {
    if (sequence != lastExecuted + 1) {
      throw new IllegalStateException("executing " + sequence + " after " + lastExecuted);
    }
    List<Operation> ops = new ArrayList<>();
    List<Request> requests = new ArrayList<>();
    java.util.Map<Integer, Long> inBatch = new java.util.HashMap<>();
    for (SignedRequest r : batch.getRequestsList()) {
      Request request = ReplicaCore.parseRequest(r);
      int c = request.getClientId();
      long t = request.getTimestamp();
      long last = Math.max(lastTimestamp(c), inBatch.getOrDefault(c, Long.MIN_VALUE));
      if (t <= last) {
        // Ordered twice (a retransmission) or older than what ran: at most once per timestamp.
        if (t == lastTimestamp(c)) {
          effects.replies().add(new Effects.ClientReply(c, lastReply(c, view)));
        }
        continue;
      }
      inBatch.put(c, t);
      ops.add(new Operation(c, t, request.getOperation().toByteArray()));
      requests.add(request);
    }
    lastExecuted = sequence;
    List<Executed> done = new ArrayList<>();
    if (ops.isEmpty()) {
      return done;
    }
    List<byte[]> results = app.execute(new ExecutionContext(sequence, view), ops);
    if (results.size() != ops.size()) {
      throw new IllegalStateException("application returned " + results.size() + " results for " + ops.size() + " operations");
    }
    for (int i = 0; i < requests.size(); i++) {
      Request request = requests.get(i);
      ByteString result = ByteString.copyFrom(results.get(i));
      clients.put(request.getClientId(), new Last(request.getTimestamp(), result));
      effects.replies().add(new Effects.ClientReply(request.getClientId(), Reply.newBuilder().setView(view)
          .setTimestamp(request.getTimestamp()).setClientId(request.getClientId()).setReplicaId(replicaId)
          .setResult(result).build()));
      done.add(new Executed(request.getClientId(), request.getTimestamp()));
    }
    executedRequests += ops.size();
    return done;
  }

  /** SHA-256 over the application's digest and the client table (id, timestamp, result). */
  ByteString stateDigest() {
    MessageDigest md = sha256();
    md.update(app.stateDigest());
    for (Map.Entry<Integer, Last> e : clients.entrySet()) {
      md.update(longBytes(e.getKey()));
      md.update(longBytes(e.getValue().timestamp()));
      md.update(Digests.sha256(e.getValue().result().toByteArray()));
    }
    return ByteString.copyFrom(md.digest());
  }

  /** The replicated state as bytes: client table, then the application snapshot. */
  byte[] snapshot() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      writeClients(out, clients);
      out.writeByteArrayNoTag(app.snapshot());
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException("writing to memory failed", e);
    }
  }

  /**
   * The replicated state as it is now, serialized (in {@link #snapshot()}'s format) only when a
   * peer asks for it: the client table is copied (it is small), the application freezes itself.
   */
  StateMachine.Frozen freeze() {
    TreeMap<Integer, Last> table = new TreeMap<>(clients);
    StateMachine.Frozen app = this.app.freeze();
    return new StateMachine.Frozen() {
      private byte[] bytes;

      @Override
      public synchronized byte[] bytes() {
        if (bytes == null) {
          try {
            byte[] appBytes = app.bytes();
            ByteArrayOutputStream out = new ByteArrayOutputStream(appBytes.length + 64 * table.size() + 16);
            CodedOutputStream coded = CodedOutputStream.newInstance(out);
            writeClients(coded, table);
            coded.writeByteArrayNoTag(appBytes);
            coded.flush();
            bytes = out.toByteArray();
          } catch (IOException e) {
            throw new IllegalStateException("writing to memory failed", e);
          }
        }
        return bytes;
      }

      @Override
      public synchronized void release() {
        bytes = null;
        app.release();
      }
    };
  }

  /** The client table alone, as durable checkpoints keep it beside the application's state. */
  byte[] clientTableBytes() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      writeClients(out, clients);
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException("writing to memory failed", e);
    }
  }

  /**
   * After a restart: the application recovered its checkpoint at {@code sequence} by itself;
   * this restores the client table saved with it.
   *
   * @throws IllegalArgumentException if the table does not parse
   */
  void recoverAt(long sequence, byte[] clientTable) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(clientTable);
      TreeMap<Integer, Last> table = readClients(in);
      if (!in.isAtEnd()) {
        throw new IllegalArgumentException("trailing bytes after the client table");
      }
      clients.clear();
      clients.putAll(table);
      lastExecuted = sequence;
    } catch (IOException e) {
      throw new IllegalArgumentException("client table does not parse: " + e.getMessage(), e);
    }
  }

  private static void writeClients(CodedOutputStream out, TreeMap<Integer, Last> table) throws IOException {
    out.writeUInt32NoTag(table.size());
    for (Map.Entry<Integer, Last> e : table.entrySet()) {
      out.writeUInt32NoTag(e.getKey());
      out.writeInt64NoTag(e.getValue().timestamp());
      out.writeBytesNoTag(e.getValue().result());
    }
  }

  private static TreeMap<Integer, Last> readClients(CodedInputStream in) throws IOException {
    TreeMap<Integer, Last> table = new TreeMap<>();
    int count = in.readUInt32();
    for (int i = 0; i < count; i++) {
      int client = in.readUInt32();
      long timestamp = in.readInt64();
      table.put(client, new Last(timestamp, in.readBytes()));
    }
    return table;
  }

  /**
   * Replaces the state with a snapshot taken at {@code sequence} by some replica, if its digest
   * is {@code expected}; otherwise leaves everything as it was and returns false.
   */
  boolean restore(long sequence, byte[] snapshot, ByteString expected) {
    TreeMap<Integer, Last> table;
    byte[] appSnapshot;
    try {
      CodedInputStream in = CodedInputStream.newInstance(snapshot);
      in.setSizeLimit(Integer.MAX_VALUE);
      table = readClients(in);
      appSnapshot = in.readByteArray();
      if (!in.isAtEnd()) {
        return false;
      }
    } catch (IOException | RuntimeException e) {
      return false;
    }
    byte[] before = app.snapshot();
    TreeMap<Integer, Last> clientsBefore = new TreeMap<>(clients);
    try {
      app.restore(appSnapshot);
    } catch (RuntimeException e) {
      return false;
    }
    clients.clear();
    clients.putAll(table);
    if (!stateDigest().equals(expected)) {
      app.restore(before);
      clients.clear();
      clients.putAll(clientsBefore);
      return false;
    }
    lastExecuted = sequence;
    return true;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] longBytes(long v) {
    byte[] b = new byte[8];
    for (int i = 7; i >= 0; i--) {
      b[i] = (byte) v;
      v >>>= 8;
    }
    return b;
  }
}

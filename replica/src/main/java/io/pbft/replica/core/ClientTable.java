package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.proto.Reply;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The core's copy of the client table (section 4.1): for each client, the timestamp of the last
 * request executed for it and that request's result. The executor keeps the authoritative table
 * (it is part of the replicated state and its digest); the core learns it from execution reports
 * and uses it to drop old requests and to answer retransmissions without ordering them again.
 */
final class ClientTable {
  private record Last(long timestamp, ByteString result) {}

  private final int replicaId;
  private final Map<Integer, Last> clients = new HashMap<>();

  ClientTable(int replicaId) {
    this.replicaId = replicaId;
  }

  long lastTimestamp(int clientId) {
    Last l = clients.get(clientId);
    return l == null ? Long.MIN_VALUE : l.timestamp();
  }

  /** The reply to the last request executed for {@code clientId}, or null. */
  Reply lastReply(int clientId, long view) {
    Last l = clients.get(clientId);
    if (l == null) {
      return null;
    }
    return Reply.newBuilder().setView(view).setTimestamp(l.timestamp()).setClientId(clientId)
        .setReplicaId(replicaId).setResult(l.result()).build();
  }

  void executed(Executed.ClientResult r) {
    Last l = clients.get(r.clientId());
    if (l == null || l.timestamp() < r.timestamp()) {
      clients.put(r.clientId(), new Last(r.timestamp(), r.result()));
    }
  }

  /** Replaces the whole table (after a state transfer or a restart). */
  void replace(List<Executed.ClientResult> table) {
    clients.clear();
    for (Executed.ClientResult r : table) {
      clients.put(r.clientId(), new Last(r.timestamp(), r.result()));
    }
  }
}

package io.pbft.chaos.traitor;

import io.pbft.crypto.Digests;
import io.pbft.proto.Batch;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A primary that equivocates: for every PRE-PREPARE it multicasts, backups with an even id get
 * the real one and backups with an odd id get a different batch (the requests in reverse order,
 * or the null request for a single one) for the same view and sequence number, both validly
 * signed. PBFT must neither let the two prepare at once nor stall for good.
 *
 * <p>Allies (other traitors, such as a {@link ColludingVotes}) get the real one, so that they can
 * tell both versions apart.
 */
public final class EquivocatingPrimary implements Behaviour {
  private final int n;
  private final java.util.Set<Integer> allies;

  public EquivocatingPrimary(int n) {
    this(n, java.util.Set.of());
  }

  public EquivocatingPrimary(int n, java.util.Set<Integer> allies) {
    this.n = n;
    this.allies = java.util.Set.copyOf(allies);
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>();
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = Messages.parse(o.message());
      if (!o.broadcast() || m == null || !m.hasPrePrepare()) {
        out.add(o);
        continue;
      }
      Effects.Outgoing variant = new Effects.Outgoing(Effects.Outgoing.ALL, signing.sign(
          ReplicaMessage.newBuilder().setPrePrepare(conflicting(m.getPrePrepare())).build()));
      for (int to = 0; to < n; to++) {
        if (to != signing.replicaId()) {
          out.add(new Effects.Outgoing(to, (to % 2 == 0 || allies.contains(to) ? o : variant).message()));
        }
      }
    }
    return out;
  }

  static PrePrepare conflicting(PrePrepare pp) {
    List<SignedRequest> requests = new ArrayList<>(pp.getBatch().getRequestsList());
    if (requests.size() > 1) {
      Collections.reverse(requests);
    } else {
      requests.clear();
    }
    Batch batch = Batch.newBuilder().addAllRequests(requests).build();
    return pp.toBuilder().setBatch(batch)
        .setDigest(com.google.protobuf.ByteString.copyFrom(Digests.batchDigest(requests, pp.getTimeMs()))).build();
  }

  @Override
  public String name() {
    return "equivocating-primary";
  }
}

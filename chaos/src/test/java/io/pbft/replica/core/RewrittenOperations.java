package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.proto.Batch;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.node.Behaviour;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A traitor for {@link PlantedBugsTest}: as primary, in about half of its pre-prepares, it puts
 * another operation (one it ordered before, so it parses) under the client id and timestamp of
 * one request of the batch, and keeps that request's authenticator. With MACs no replica's entry
 * checks any more, so a correct backup cannot authenticate it, and the client's own copy of the
 * request (which it sends every replica when it retransmits) has the same id and timestamp but
 * other bytes. (The catalogue's forged-requests changes the timestamp too.)
 */
final class RewrittenOperations implements Behaviour {
  private static final int REMEMBERED_MAX = 64;

  private final Random random;
  private final List<ByteString> operations = new ArrayList<>();

  RewrittenOperations(Random random) {
    this.random = random;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted.size());
    // The same rewrite for every backup: one pre-prepare per sequence number, not equivocation.
    PrePrepare rewrittenFrom = null;
    PrePrepare rewritten = null;
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = ViewChangeLie.parse(o.message());
      if (m == null || o.message().getSender() != signing.replicaId() || !m.hasPrePrepare()) {
        out.add(o);
        continue;
      }
      PrePrepare pp = m.getPrePrepare();
      if (!pp.equals(rewrittenFrom)) {
        rewrittenFrom = pp;
        rewritten = random.nextBoolean() ? rewrite(pp) : null;
        remember(pp);
      }
      out.add(rewritten == null ? o
          : new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder().setPrePrepare(rewritten).build())));
    }
    return out;
  }

  /** {@code pp} with one request's operation replaced, or null if it has none to replace. */
  private PrePrepare rewrite(PrePrepare pp) {
    List<SignedRequest> requests = new ArrayList<>(pp.getBatch().getRequestsList());
    if (requests.isEmpty() || operations.isEmpty()) {
      return null;
    }
    int i = random.nextInt(requests.size());
    Request r = parse(requests.get(i));
    ByteString other = operations.get(random.nextInt(operations.size()));
    if (r == null || r.getOperation().equals(other)) {
      return null;
    }
    requests.set(i, requests.get(i).toBuilder().setRequest(r.toBuilder().setOperation(other).build().toByteString())
        .build());
    return pp.toBuilder().setBatch(Batch.newBuilder().addAllRequests(requests))
        .setDigest(ByteString.copyFrom(Digests.batchDigest(requests, pp.getTimeMs()))).build();
  }

  private void remember(PrePrepare pp) {
    for (SignedRequest s : pp.getBatch().getRequestsList()) {
      Request r = parse(s);
      if (r == null) {
        continue;
      }
      if (operations.size() == REMEMBERED_MAX) {
        operations.remove(random.nextInt(REMEMBERED_MAX));
      }
      operations.add(r.getOperation());
    }
  }

  private static Request parse(SignedRequest s) {
    try {
      return Request.parseFrom(s.getRequest());
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  @Override
  public String name() {
    return "rewritten-operations";
  }
}

package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.proto.ForwardedRequest;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A replica that slips in requests the clients never sent. It cannot forge a client's signature,
 * so it tries what it can: an old request, validly signed, replayed (in its own pre-prepares
 * when it is primary, and forwarded to everyone); a request whose contents it changed under the
 * client's old signature; and a request from a client that does not exist. The inbound verifier
 * refuses the last two (and every pre-prepare carrying one); exactly-once execution makes the
 * replay a no-op.
 */
public final class ForgedRequests implements Behaviour {
  private static final int REMEMBERED_MAX = 64;

  private final Random random;
  private final List<SignedRequest> seen = new ArrayList<>();

  public ForgedRequests(Random random) {
    this.random = random;
  }

  @Override
  public boolean admitMessage(int sender, ReplicaMessage message) {
    if (message.hasPrePrepare()) {
      message.getPrePrepare().getBatch().getRequestsList().forEach(this::remember);
    } else if (message.hasForwardedRequest()) {
      remember(message.getForwardedRequest().getRequest());
    }
    return true;
  }

  private void remember(SignedRequest r) {
    if (seen.size() == REMEMBERED_MAX) {
      seen.remove(random.nextInt(REMEMBERED_MAX));
    }
    seen.add(r);
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>();
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = Messages.parse(o.message());
      boolean mine = m != null && m.hasPrePrepare() && o.message().getSender() == signing.replicaId();
      if (mine && !seen.isEmpty() && random.nextBoolean()) {
        PrePrepare pp = m.getPrePrepare();
        List<SignedRequest> requests = new ArrayList<>(pp.getBatch().getRequestsList());
        requests.add(forgery());
        out.add(new Effects.Outgoing(o.to(), signing.sign(
            ReplicaMessage.newBuilder().setPrePrepare(Messages.withBatch(pp, requests)).build())));
      } else {
        out.add(o);
      }
      if (mine) {
        m.getPrePrepare().getBatch().getRequestsList().forEach(this::remember); // old news soon
      }
    }
    if (!seen.isEmpty() && random.nextInt(4) == 0) {
      out.add(Messages.toAll(signing.sign(ReplicaMessage.newBuilder()
          .setForwardedRequest(ForwardedRequest.newBuilder().setRequest(forgery())).build())));
    }
    return out;
  }

  /** A replayed request (most often), a tampered one, or one from a client nobody knows. */
  private SignedRequest forgery() {
    SignedRequest old = seen.get(random.nextInt(seen.size()));
    int roll = random.nextInt(10);
    if (roll < 6) {
      return old;
    }
    Request r = Messages.parse(old);
    if (r == null) {
      return old;
    }
    Request.Builder forged = r.toBuilder();
    if (roll < 9) {
      forged.setTimestamp(r.getTimestamp() + 1 + random.nextInt(1000))
          .setOperation(ByteString.copyFromUtf8("forged by a traitor"));
    } else {
      forged.setClientId(1_000_000 + random.nextInt(1000));
    }
    return SignedRequest.newBuilder().setRequest(forged.build().toByteString()).setSignature(old.getSignature())
        .build();
  }

  @Override
  public String name() {
    return "forged-requests";
  }
}

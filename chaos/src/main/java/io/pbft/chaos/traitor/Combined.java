package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import io.pbft.replica.verify.VerifiedMessage;
import java.util.List;

/** Several behaviours applied in order: each sees what the previous one let through. */
final class Combined implements Behaviour {
  private final String name;
  private final List<Behaviour> parts;

  Combined(String name, List<Behaviour> parts) {
    this.name = name;
    this.parts = parts;
  }

  /** The parts, in the order they apply. */
  List<Behaviour> parts() {
    return parts;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = wanted;
    for (Behaviour b : parts) {
      out = b.outgoing(out, signing);
    }
    return out;
  }

  @Override
  public long delayMs(Effects.Outgoing message) {
    long delay = 0;
    for (Behaviour b : parts) {
      delay += b.delayMs(message);
    }
    return delay;
  }

  @Override
  public List<Effects.ClientReply> replies(List<Effects.ClientReply> wanted, Signing signing) {
    List<Effects.ClientReply> out = wanted;
    for (Behaviour b : parts) {
      out = b.replies(out, signing);
    }
    return out;
  }

  @Override
  public ByteString readOnlyResult(Request request, ByteString result) {
    ByteString out = result;
    for (Behaviour b : parts) {
      out = b.readOnlyResult(request, out);
    }
    return out;
  }

  @Override
  public boolean admitRequest(Request request) {
    boolean admit = true;
    for (Behaviour b : parts) {
      admit &= b.admitRequest(request); // every part sees it: some only watch what arrives
    }
    return admit;
  }

  @Override
  public boolean admit(VerifiedMessage m) {
    boolean admit = true;
    for (Behaviour b : parts) {
      admit &= b.admit(m);
    }
    return admit;
  }

  @Override
  public String name() {
    return name;
  }
}

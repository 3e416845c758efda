package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.StateChunk;
import io.pbft.replica.core.Effects;
import java.util.List;
import java.util.Random;

/**
 * A replica that serves a wrong state to whoever fetches one from it: chunks with bytes flipped,
 * cut short, or claiming another total size. A replica that fetches state checks it against the
 * digest 2f + 1 CHECKPOINTs certified, keeps it only if it matches, and asks someone else.
 */
public final class CorruptStateTransfer extends OwnMessageRewriter {
  private final Random random;

  public CorruptStateTransfer(Random random) {
    this.random = random;
  }

  @Override
  boolean rewrites(ReplicaMessage m) {
    return m.hasStateChunk();
  }

  @Override
  void rewrite(Effects.Outgoing o, ReplicaMessage m, Signing signing, List<Effects.Outgoing> out) {
    StateChunk chunk = m.getStateChunk();
    StateChunk.Builder lie = chunk.toBuilder();
    byte[] data = chunk.getData().toByteArray();
    switch (random.nextInt(3)) {
      case 0 -> {
        if (data.length > 0) {
          data[random.nextInt(data.length)] ^= (byte) (1 + random.nextInt(255));
        }
        lie.setData(ByteString.copyFrom(data));
      }
      case 1 -> lie.setData(ByteString.copyFrom(data, 0, data.length / 2));
      default -> lie.setTotalBytes(chunk.getTotalBytes() + 1 + random.nextInt(1 << 20));
    }
    out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder().setStateChunk(lie).build())));
  }

  @Override
  public String name() {
    return "corrupt-state";
  }
}

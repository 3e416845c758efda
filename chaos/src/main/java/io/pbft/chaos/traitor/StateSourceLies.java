package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.StateChunk;
import io.pbft.replica.core.Effects;
import java.util.List;
import java.util.Random;

/**
 * A state source that neither serves a wrong state nor refuses one, but stalls the transfer: as
 * {@code trickling-state} it sends each chunk just short of the fetcher's timeout, or cut to a
 * few bytes (a transfer kept alive forever at a byte per round trip); as {@code oversized-state}
 * it claims a total far beyond any real state (a fetcher that believed it would reserve the
 * memory, or wait for bytes that never come). A fetching replica refuses short chunks and sizes
 * above {@code stateBytesMax}, and moves on to another source when one goes quiet.
 */
public final class StateSourceLies extends OwnMessageRewriter {
  /** What kind of stalling. */
  public enum Kind {
    TRICKLING("trickling-state"),
    OVERSIZED("oversized-state");

    private final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  private final Kind kind;
  private final long timeoutMs;
  private final Random random;

  public StateSourceLies(Kind kind, long viewChangeTimeoutMs, Random random) {
    this.kind = kind;
    this.timeoutMs = viewChangeTimeoutMs;
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
    if (kind == Kind.OVERSIZED) {
      lie.setTotalBytes(random.nextBoolean() ? Long.MAX_VALUE : chunk.getTotalBytes() + (1L << 40));
    } else if (random.nextBoolean() && chunk.getData().size() > 1) {
      lie.setData(ByteString.copyFrom(chunk.getData().toByteArray(), 0, 1 + random.nextInt(3)));
    } else {
      out.add(o); // a whole chunk, sent late (delayMs)
      return;
    }
    out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder().setStateChunk(lie).build())));
  }

  @Override
  public long delayMs(Effects.Outgoing message) {
    if (kind != Kind.TRICKLING) {
      return 0;
    }
    ReplicaMessage m = Messages.parse(message.message());
    return m != null && m.hasStateChunk() ? timeoutMs * (80 + random.nextInt(15)) / 100 : 0;
  }

  @Override
  public String name() {
    return kind.label;
  }
}

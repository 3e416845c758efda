package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A replica that claims to be someone else. Alongside its own messages it sends copies that name
 * another replica as sender (and in the body), signed with its own key since it has no other;
 * copies whose payload it changed after signing; copies with a random signature; and copies from
 * a sender id outside the group. The inbound verifier refuses all of them (bad signature, unknown
 * sender) before any core sees them.
 */
public final class ForgedIdentity implements Behaviour {
  private final int n;
  private final Random random;

  public ForgedIdentity(int n, Random random) {
    this.n = n;
    this.random = random;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted);
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = Messages.parse(o.message());
      if (m == null || random.nextBoolean()) {
        continue;
      }
      int victim = Messages.otherReplica(random, n, signing.replicaId());
      SignedMessage forged = switch (random.nextInt(4)) {
        case 0 -> {
          // Another replica's name, our signature.
          SignedMessage mine = signing.sign(claim(m, victim));
          yield mine.toBuilder().setSender(victim).build();
        }
        case 1 -> {
          byte[] payload = o.message().getPayload().toByteArray();
          if (payload.length > 0) {
            payload[random.nextInt(payload.length)] ^= (byte) (1 + random.nextInt(255));
          }
          yield o.message().toBuilder().setPayload(ByteString.copyFrom(payload)).build();
        }
        case 2 -> o.message().toBuilder().setSender(victim).setPayload(claim(m, victim).toByteString())
            .setSignature(Messages.randomBytes(random, 64)).build();
        default -> o.message().toBuilder().setSender(random.nextBoolean() ? n + random.nextInt(100) : -1).build();
      };
      out.add(random.nextBoolean() ? Messages.toAll(forged)
          : Messages.to(Messages.otherReplica(random, n, signing.replicaId()), forged));
    }
    return out;
  }

  /** {@code m} as replica {@code victim} would have said it. */
  static ReplicaMessage claim(ReplicaMessage m, int victim) {
    ReplicaMessage.Builder b = m.toBuilder();
    switch (m.getBodyCase()) {
      case PREPARE -> b.getPrepareBuilder().setReplicaId(victim);
      case COMMIT -> b.getCommitBuilder().setReplicaId(victim);
      case CHECKPOINT -> b.getCheckpointBuilder().setReplicaId(victim);
      case VIEW_CHANGE -> b.getViewChangeBuilder().setReplicaId(victim);
      case HEARTBEAT -> b.getHeartbeatBuilder().setReplicaId(victim);
      case FETCH_STATE -> b.getFetchStateBuilder().setReplicaId(victim);
      case STATE_CHUNK -> b.getStateChunkBuilder().setReplicaId(victim);
      default -> { }
    }
    return b.build();
  }

  @Override
  public String name() {
    return "forged-identity";
  }
}

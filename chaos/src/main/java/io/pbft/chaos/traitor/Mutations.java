package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.pbft.proto.ReplicaMessage;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Small-scope message mutations, as ByzzFuzz (Winter et al., OOPSLA 2023) found bugs with: of
 * the protocol messages this replica sends under its own name, about one in three has one field
 * of its body changed a little (a number moved by one or set to zero, one byte of a digest or
 * other bytes flipped, a flag inverted, the last element of a list dropped), re-signed with the
 * traitor's own key, and goes to some recipients mutated and to the others as the core meant it.
 * The field and the change are drawn from the behaviour's generator, so a seed names every lie.
 * Unlike the hand-written liars, it knows nothing of what the fields mean, which is the point:
 * it tries the corners nobody thought of.
 */
public final class Mutations extends OwnMessageRewriter {
  private final int n;
  private final Random random;

  public Mutations(int n, Random random) {
    this.n = n;
    this.random = random;
  }

  @Override
  boolean rewrites(ReplicaMessage m) {
    return switch (m.getBodyCase()) {
      case PRE_PREPARE, PREPARE, COMMIT, CHECKPOINT, VIEW_CHANGE, NEW_VIEW -> random.nextInt(3) == 0;
      default -> false;
    };
  }

  @Override
  void rewrite(Effects.Outgoing o, ReplicaMessage m, Signing signing, List<Effects.Outgoing> out) {
    ReplicaMessage mutated = mutate(m, random);
    if (mutated == null) {
      out.add(o);
      return;
    }
    var signed = signing.sign(mutated);
    for (int to : Messages.recipients(o, n, signing.replicaId())) {
      out.add(Messages.to(to, random.nextBoolean() ? signed : o.message()));
    }
  }

  /** {@code m} with one field of its body changed, or null if the body has no field to change. */
  static ReplicaMessage mutate(ReplicaMessage m, Random random) {
    FieldDescriptor bodyField = ReplicaMessage.getDescriptor().findFieldByNumber(m.getBodyCase().getNumber());
    if (bodyField == null || !(m.getField(bodyField) instanceof Message body)) {
      return null;
    }
    List<FieldDescriptor> candidates = new ArrayList<>();
    for (FieldDescriptor f : body.getDescriptorForType().getFields()) {
      boolean mutable = f.isRepeated() ? body.getRepeatedFieldCount(f) > 0
          : f.getJavaType() != FieldDescriptor.JavaType.MESSAGE && f.getJavaType() != FieldDescriptor.JavaType.ENUM
              && f.getJavaType() != FieldDescriptor.JavaType.STRING;
      if (mutable) {
        candidates.add(f);
      }
    }
    if (candidates.isEmpty()) {
      return null;
    }
    FieldDescriptor f = candidates.get(random.nextInt(candidates.size()));
    Message.Builder b = body.toBuilder();
    if (f.isRepeated()) {
      List<Object> kept = new ArrayList<>();
      for (int i = 0; i < body.getRepeatedFieldCount(f) - 1; i++) {
        kept.add(body.getRepeatedField(f, i));
      }
      b.clearField(f);
      kept.forEach(v -> b.addRepeatedField(f, v));
    } else {
      Object value = body.getField(f);
      b.setField(f, switch (f.getJavaType()) {
        case INT -> random.nextBoolean() ? (Integer) value + (random.nextBoolean() ? 1 : -1) : 0;
        case LONG -> random.nextBoolean() ? (Long) value + (random.nextBoolean() ? 1 : -1) : 0L;
        case BOOLEAN -> !(Boolean) value;
        case BYTE_STRING -> flipOneByte((ByteString) value, random);
        default -> value;
      });
    }
    return ReplicaMessage.newBuilder().setField(bodyField, b.build()).build();
  }

  private static ByteString flipOneByte(ByteString value, Random random) {
    if (value.isEmpty()) {
      return ByteString.copyFrom(new byte[] {(byte) (1 + random.nextInt(255))});
    }
    byte[] bytes = value.toByteArray();
    bytes[random.nextInt(bytes.length)] ^= (byte) (1 + random.nextInt(255));
    return ByteString.copyFrom(bytes);
  }

  @Override
  public String name() {
    return "mutations";
  }
}

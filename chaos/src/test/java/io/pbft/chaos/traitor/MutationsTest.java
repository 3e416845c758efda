package io.pbft.chaos.traitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MutationsTest {
  @Test
  void aMutationChangesExactlyOneFieldOfTheBodyAndKeepsItsKind() {
    ReplicaMessage prepare = ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(2).setSequence(5)
        .setDigest(ByteString.copyFrom(new byte[32])).setReplicaId(1)).build();
    Random random = new Random(1);
    Set<String> changed = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      ReplicaMessage mutated = Mutations.mutate(prepare, random);
      assertNotNull(mutated);
      assertEquals(ReplicaMessage.BodyCase.PREPARE, mutated.getBodyCase());
      int differences = 0;
      for (FieldDescriptor f : Prepare.getDescriptor().getFields()) {
        if (!prepare.getPrepare().getField(f).equals(mutated.getPrepare().getField(f))) {
          differences++;
          changed.add(f.getName());
        }
      }
      // setting a field to zero that was zero changes nothing: at most one field differs
      assertEquals(true, differences <= 1, mutated.toString());
    }
    assertEquals(Set.of("view", "sequence", "digest", "replica_id"), changed, "every field gets its turn");
    assertNotEquals(prepare, Mutations.mutate(prepare, new Random(3)));
  }
}

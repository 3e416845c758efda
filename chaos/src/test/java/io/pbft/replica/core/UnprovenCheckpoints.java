package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.proto.Checkpoint;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;

/**
 * A traitor for {@link PlantedBugsTest}: every VIEW-CHANGE it sends claims a stable checkpoint
 * {@link #AHEAD} sequence numbers above its real one, with a made-up state digest, "proved" by its
 * own CHECKPOINT for it three times over, and reports nothing prepared. The signature is valid, so
 * the inbound verifier passes it; only the check of the proof (2f + 1 distinct signers) keeps the
 * new view from starting at a state no correct replica has. The catalogue's lying-view-change
 * moves its stable sequence number without a proof in one VIEW-CHANGE in ten.
 */
final class UnprovenCheckpoints extends ViewChangeLie {
  static final int AHEAD = 40;

  @Override
  ViewChange lie(ViewChange vc, Signing signing) {
    long sequence = vc.getStableSequence() + AHEAD;
    byte[] digest = new byte[32];
    for (int i = 0; i < digest.length; i++) {
      digest[i] = (byte) (sequence * 31 + i);
    }
    ByteString made = ByteString.copyFrom(digest);
    SignedMessage own = signing.sign(ReplicaMessage.newBuilder().setCheckpoint(Checkpoint.newBuilder()
        .setSequence(sequence).setStateDigest(made).setReplicaId(signing.replicaId())).build());
    return vc.toBuilder().clearPrepared().setStableSequence(sequence).setStableDigest(made)
        .clearCheckpointProof().addCheckpointProof(own).addCheckpointProof(own).addCheckpointProof(own).build();
  }

  @Override
  public String name() {
    return "unproven-checkpoints";
  }
}

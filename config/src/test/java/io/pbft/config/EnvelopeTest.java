package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.proto.Batch;
import io.pbft.proto.Commit;
import io.pbft.proto.CommittedCertificate;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.StateChunk;
import org.junit.jupiter.api.Test;

/**
 * The room the rules between settings leave for what surrounds a batch or a state chunk on the
 * wire, measured on the largest messages the protocol builds: every integer field at its widest
 * encoding, 32-byte digests, 64-byte signatures.
 */
class EnvelopeTest {
  private static final long WIDEST = -1L; // uint64 max: the longest varint
  private static final int WIDEST_ID = -1; // uint32 max

  private static ByteString bytes(int n) {
    return ByteString.copyFrom(new byte[n]);
  }

  private static SignedMessage signed(ReplicaMessage m) {
    return SignedMessage.newBuilder().setSender(WIDEST_ID).setPayload(m.toByteString()).setSignature(bytes(64)).build();
  }

  private static SignedRequest request(int operationBytes) {
    Request r = Request.newBuilder().setClientId(WIDEST_ID).setTimestamp(WIDEST).setOperation(bytes(operationBytes)).build();
    return SignedRequest.newBuilder().setRequest(r.toByteString()).setSignature(bytes(64)).build();
  }

  @Test
  void aBatchOfOneLargestRequestFitsInTheOperationPlusTheRequestEnvelope() {
    for (int op : new int[] {1, 1000, 1 << 20, 1 << 22}) {
      Batch batch = Batch.newBuilder().addRequests(request(op)).build();
      assertTrue(batch.getSerializedSize() <= op + ProtocolSettings.REQUEST_ENVELOPE_BYTES,
          op + "-byte operation: batch of " + batch.getSerializedSize() + " bytes");
    }
  }

  @Test
  void aCommittedCertificateOfAFullBatchFitsInTheBatchPlusTheEnvelope() {
    Batch batch = Batch.newBuilder().addRequests(request(100_000)).addRequests(request(5)).build();
    for (int n : new int[] {1, 4, 7, 100}) {
      int f = (n - 1) / 3;
      PrePrepare pp = PrePrepare.newBuilder().setView(WIDEST).setSequence(WIDEST).setDigest(bytes(32)).setBatch(batch).build();
      CommittedCertificate.Builder cert = CommittedCertificate.newBuilder()
          .setPrePrepare(signed(ReplicaMessage.newBuilder().setPrePrepare(pp).build()));
      for (int i = 0; i < 2 * f + 1; i++) {
        Commit c = Commit.newBuilder().setView(WIDEST).setSequence(WIDEST).setDigest(bytes(32)).setReplicaId(WIDEST_ID).build();
        cert.addCommits(signed(ReplicaMessage.newBuilder().setCommit(c).build()));
      }
      SignedMessage wire = signed(ReplicaMessage.newBuilder().setCommitted(cert).build());
      assertTrue(wire.getSerializedSize() <= batch.getSerializedSize() + ClusterConfig.envelopeBytes(n),
          "n = " + n + ": certificate of " + wire.getSerializedSize() + " bytes for a batch of " + batch.getSerializedSize());
    }
  }

  @Test
  void aStateChunkFitsInItsDataPlusTheEnvelope() {
    int chunk = 1 << 20;
    StateChunk c = StateChunk.newBuilder().setSequence(WIDEST).setStateDigest(bytes(32)).setOffset(WIDEST)
        .setTotalBytes(WIDEST).setData(bytes(chunk)).setReplicaId(WIDEST_ID).build();
    SignedMessage wire = signed(ReplicaMessage.newBuilder().setStateChunk(c).build());
    assertTrue(wire.getSerializedSize() <= chunk + ClusterConfig.envelopeBytes(1),
        "state chunk message of " + wire.getSerializedSize() + " bytes");
  }
}

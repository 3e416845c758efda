package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.pbft.config.ProtocolSettings;
import io.pbft.proto.Batch;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Rejection;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Messages with protobuf fields this version does not know are refused by the verifier, wherever
 * the fields hide: in the signed envelope, in the signed payload, deep inside it, in a request.
 */
class UnknownFieldsVerifierTest {
  private final CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());
  private final InboundVerifier verifier = new InboundVerifier(fx.config);
  private final ReplicaMessage prepare = prepare(0, 1, digest(List.of(fx.request(0, 1, "a"))), 2);

  static UnknownFieldSet unknown(int bytes) {
    return UnknownFieldSet.newBuilder()
        .addField(77, UnknownFieldSet.Field.newBuilder().addLengthDelimited(ByteString.copyFrom(new byte[bytes])).build())
        .build();
  }

  @Test
  void unknownFieldsInTheEnvelopeAreRefused() {
    SignedMessage m = fx.signed(2, prepare).toBuilder().setUnknownFields(unknown(10)).build();
    assertEquals(Rejection.UNKNOWN_FIELDS, verifier.verify(m).reason());
  }

  @Test
  void unknownFieldsInTheSignedPayloadAreRefused() {
    ReplicaMessage withUnknown = prepare.toBuilder()
        .setPrepare(prepare.getPrepare().toBuilder().setUnknownFields(unknown(10))).build();
    assertEquals(Rejection.UNKNOWN_FIELDS, verifier.verify(fx.signed(2, withUnknown)).reason());
    ReplicaMessage topLevel = prepare.toBuilder().setUnknownFields(unknown(10)).build();
    assertEquals(Rejection.UNKNOWN_FIELDS, verifier.verify(fx.signed(2, topLevel)).reason());
  }

  @Test
  void unknownFieldsDeepInsideAPrePrepareAreRefused() {
    ReplicaMessage pp = prePrepare(0, 1, List.of(fx.request(0, 1, "x")));
    Batch batch = pp.getPrePrepare().getBatch();
    SignedRequest r = batch.getRequests(0).toBuilder().setUnknownFields(unknown(10)).build();
    ReplicaMessage deep = pp.toBuilder().setPrePrepare(pp.getPrePrepare().toBuilder()
        .setBatch(batch.toBuilder().setRequests(0, r))).build();
    assertEquals(Rejection.UNKNOWN_FIELDS, verifier.verify(fx.signed(0, deep)).reason());
    assertTrue(verifier.verify(fx.signed(0, pp)).isOk());
  }

  @Test
  void unknownFieldsInASignedRequestAreRefused() {
    Request request = Request.newBuilder().setClientId(0).setTimestamp(5)
        .setOperation(ByteString.copyFromUtf8("op")).setUnknownFields(unknown(10)).build();
    SignedRequest signed = SignedRequest.newBuilder().setRequest(request.toByteString())
        .setSignature(ByteString.copyFrom(fx.clientKeys.get(0).sign(request.toByteArray()))).build();
    assertEquals(Rejection.UNKNOWN_FIELDS, verifier.verify(signed, 0).reason());
  }

  @Test
  void knownFieldsOnlyPass() {
    assertTrue(verifier.verify(fx.signed(2, prepare)).isOk());
    assertTrue(!InboundVerifier.hasUnknownFields(prepare));
  }
}

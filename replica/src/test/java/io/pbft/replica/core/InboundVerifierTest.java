package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.prePrepare;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.TransportSettings;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Verdict;
import java.util.List;
import io.pbft.replica.verify.Rejection;
import org.junit.jupiter.api.Test;

/** Signature, identity, size and parse checks that run before anything reaches the core. */
class InboundVerifierTest {
  private final CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());
  private final InboundVerifier verifier = new InboundVerifier(fx.config);
  private final ReplicaMessage prepare = prepare(0, 1, digest(List.of(fx.request(0, 1, "a"))), 2);

  @Test
  void validSignedMessageIsAccepted() {
    Verdict<?> v = verifier.verify(fx.signed(2, prepare));
    assertTrue(v.isOk(), String.valueOf(v.reason()));
  }

  @Test
  void messageWithForgedSignatureIsRejected() {
    // Replica 3 signs but claims to be replica 2.
    SignedMessage forged = fx.signedBy(2, prepare, fx.replicaKeys.get(3));
    assertEquals(Rejection.BAD_SIGNATURE, verifier.verify(forged).reason());
  }

  @Test
  void messageWithTamperedPayloadIsRejected() {
    SignedMessage ok = fx.signed(2, prepare);
    byte[] payload = ok.getPayload().toByteArray();
    payload[payload.length - 1] ^= 1;
    SignedMessage tampered = ok.toBuilder().setPayload(ByteString.copyFrom(payload)).build();
    assertEquals(Rejection.BAD_SIGNATURE, verifier.verify(tampered).reason());
  }

  @Test
  void messageFromUnknownSenderIsRejected() {
    SignedMessage m = fx.signed(2, prepare).toBuilder().setSender(17).build();
    assertEquals(Rejection.UNKNOWN_SENDER, verifier.verify(m).reason());
  }

  @Test
  void malformedPayloadIsRejected() {
    byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01};
    SignedMessage m = SignedMessage.newBuilder().setSender(2).setPayload(ByteString.copyFrom(garbage))
        .setSignature(ByteString.copyFrom(fx.replicaKeys.get(2).sign(garbage))).build();
    assertEquals(Rejection.MALFORMED, verifier.verify(m).reason());
  }

  @Test
  void emptySignedBodyIsRejected() {
    assertEquals(Rejection.MALFORMED, verifier.verify(fx.signed(2, ReplicaMessage.getDefaultInstance())).reason());
  }

  @Test
  void oversizedMessageIsRejectedBeforeItsSignatureIsChecked() {
    // The smallest message bound the rules allow with batches and state chunks of 2 KiB.
    ProtocolSettings small = fx.config.protocol().toBuilder().batchBytesMax(2048).operationBytesMax(1024)
        .stateChunkBytesMax(2048).build();
    TransportSettings tight = TransportSettings.newBuilder().messageBytesMax(2048 + ClusterConfig.envelopeBytes(4))
        .verifyThreads(1).build();
    InboundVerifier strict = new InboundVerifier(fx.config.withSettings(small, tight));
    ReplicaMessage big = prePrepare(0, 1, List.of(fx.request(0, 1, "x".repeat(5000))));
    assertEquals(Rejection.OVERSIZED_MESSAGE, strict.verify(fx.signed(0, big)).reason());
  }

  @Test
  void prePrepareCarryingAForgedClientRequestIsRejected() {
    // A faulty primary invents a request "from" client 1, signed with client 0's key.
    SignedRequest forged = fx.requestSignedBy(1, 1, "steal", fx.clientKeys.get(0));
    ReplicaMessage pp = prePrepare(0, 1, List.of(fx.request(0, 1, "a"), forged));
    Verdict<?> v = verifier.verify(fx.signed(0, pp));
    assertEquals(Rejection.EMBEDDED_INVALID_REQUEST, v.reason());
    assertTrue(v.describe().contains(Rejection.BAD_CLIENT_SIGNATURE.label()), v.describe());
  }

  @Test
  void clientRequestWithBadSignatureIsRejected() {
    SignedRequest forged = fx.requestSignedBy(1, 1, "a", fx.clientKeys.get(0));
    assertEquals(Rejection.BAD_CLIENT_SIGNATURE, verifier.verify(forged, 1).reason());
  }

  @Test
  void clientRequestFromUnknownClientIsRejected() {
    SignedRequest r = fx.requestSignedBy(55, 1, "a", fx.clientKeys.get(0));
    assertEquals(Rejection.UNKNOWN_CLIENT, verifier.verify(r, -1).reason());
  }

  @Test
  void clientRequestOnAnotherClientsSessionIsRejected() {
    assertEquals(Rejection.WRONG_CLIENT, verifier.verify(fx.request(0, 1, "a"), 1).reason());
  }

  @Test
  void malformedClientRequestIsRejected() {
    SignedRequest r = SignedRequest.newBuilder().setRequest(ByteString.copyFrom(new byte[] {(byte) 0xff, 0x7f}))
        .setSignature(ByteString.copyFrom(new byte[64])).build();
    assertEquals(Rejection.MALFORMED, verifier.verify(r, -1).reason());
  }

  /**
   * A reconfiguration is ordered and executed by the group itself: one marked read-only, or with
   * an application operation beside it, is refused however well signed, and so is a pre-prepare
   * carrying one.
   */
  @Test
  void aReconfigurationReadOnlyOrBesideAnOperationIsRejected() {
    io.pbft.proto.Reconfiguration change = io.pbft.proto.Reconfiguration.newBuilder().setEpoch(1).setReason("x").build();
    io.pbft.proto.Request alone = io.pbft.proto.Request.newBuilder().setClientId(0).setTimestamp(1)
        .setReconfiguration(change).build();
    java.util.function.Function<io.pbft.proto.Request, SignedRequest> sign = r -> SignedRequest.newBuilder()
        .setRequest(r.toByteString()).setSignature(ByteString.copyFrom(fx.clientKeys.get(0).sign(r.toByteArray())))
        .build();
    assertTrue(verifier.verify(sign.apply(alone), -1).isOk(), "a command alone is ordered like any request");
    SignedRequest readOnly = sign.apply(alone.toBuilder().setReadOnly(true).build());
    assertEquals(Rejection.MALFORMED, verifier.verify(readOnly, -1).reason());
    SignedRequest withOperation = sign.apply(alone.toBuilder().setOperation(ByteString.copyFromUtf8("put")).build());
    assertEquals(Rejection.MALFORMED, verifier.verify(withOperation, -1).reason());
    assertEquals(Rejection.EMBEDDED_INVALID_REQUEST,
        verifier.verify(fx.signed(0, prePrepare(0, 1, List.of(withOperation)))).reason());
  }

  // Bounds come before the embedded signatures: each case below also carries a forged client
  // request or unsigned embedded messages, and the reason shows the bounds were judged first.

  private static Rejection reason(InboundVerifier v, SignedMessage m) {
    return v.verify(m).reason();
  }

  @Test
  void prePrepareWithMoreRequestsThanABatchHoldsIsRejected() {
    InboundVerifier small = new InboundVerifier(fx.config.withProtocol(ProtocolSettings.defaults().withBatchSizeMax(2)));
    SignedRequest forged = fx.requestSignedBy(1, 1, "steal", fx.clientKeys.get(0));
    ReplicaMessage three = prePrepare(0, 1, List.of(fx.request(0, 1, "a"), fx.request(2, 1, "b"), forged));
    assertEquals(Rejection.TOO_MANY_ENTRIES, reason(small, fx.signed(0, three)));
    ReplicaMessage two = prePrepare(0, 1, List.of(fx.request(0, 1, "a"), fx.request(2, 1, "b")));
    assertTrue(small.verify(fx.signed(0, two)).isOk());
  }

  @Test
  void viewChangeWithLongerListsThanACorrectReplicaMakesIsRejected() {
    InboundVerifier window4 = new InboundVerifier(fx.config.withProtocol(
        ProtocolSettings.newBuilder().windowSize(4).checkpointInterval(2).build()));
    SignedMessage junk = SignedMessage.newBuilder().setSender(3).setPayload(ByteString.copyFromUtf8("junk"))
        .setSignature(ByteString.copyFrom(new byte[64])).build();
    io.pbft.proto.PreparedCertificate cert = io.pbft.proto.PreparedCertificate.newBuilder().setPrePrepare(junk).build();
    io.pbft.proto.ViewChange.Builder five = io.pbft.proto.ViewChange.newBuilder().setNewView(1).setReplicaId(2);
    for (int i = 0; i < 5; i++) {
      five.addPrepared(cert);
    }
    io.pbft.proto.ViewChange.Builder proofs = io.pbft.proto.ViewChange.newBuilder().setNewView(1).setReplicaId(2);
    for (int i = 0; i < 5; i++) {
      proofs.addCheckpointProof(junk);
    }
    io.pbft.proto.ViewChange.Builder prepares = io.pbft.proto.ViewChange.newBuilder().setNewView(1).setReplicaId(2)
        .addPrepared(cert.toBuilder().addAllPrepares(java.util.Collections.nCopies(5, junk)));
    for (io.pbft.proto.ViewChange.Builder vc : List.of(five, proofs, prepares)) {
      assertEquals(Rejection.TOO_MANY_ENTRIES,
          reason(window4, fx.signed(2, ReplicaMessage.newBuilder().setViewChange(vc).build())));
    }
    // four certificates with unsigned contents: within the bounds, so the signatures are checked
    io.pbft.proto.ViewChange.Builder four = io.pbft.proto.ViewChange.newBuilder().setNewView(1).setReplicaId(2)
        .addAllPrepared(java.util.Collections.nCopies(4, cert));
    assertEquals(Rejection.EMBEDDED_BAD_SIGNATURE,
        reason(window4, fx.signed(2, ReplicaMessage.newBuilder().setViewChange(four).build())));
  }

  @Test
  void newViewWithMoreViewChangesThanReplicasIsRejected() {
    SignedMessage junk = SignedMessage.newBuilder().setSender(3).setPayload(ByteString.copyFromUtf8("junk"))
        .setSignature(ByteString.copyFrom(new byte[64])).build();
    ReplicaMessage five = ReplicaMessage.newBuilder().setNewView(io.pbft.proto.NewView.newBuilder().setView(1)
        .addAllViewChanges(java.util.Collections.nCopies(5, junk))).build();
    assertEquals(Rejection.TOO_MANY_ENTRIES, reason(verifier, fx.signed(1, five)));
    ReplicaMessage four = ReplicaMessage.newBuilder().setNewView(io.pbft.proto.NewView.newBuilder().setView(1)
        .addAllViewChanges(java.util.Collections.nCopies(4, junk))).build();
    assertEquals(Rejection.EMBEDDED_BAD_SIGNATURE, reason(verifier, fx.signed(1, four)));
  }

  @Test
  void committedCertificateWithMoreCommitsThanReplicasIsRejected() {
    SignedMessage junk = SignedMessage.newBuilder().setSender(3).setPayload(ByteString.copyFromUtf8("junk"))
        .setSignature(ByteString.copyFrom(new byte[64])).build();
    ReplicaMessage five = ReplicaMessage.newBuilder().setCommitted(io.pbft.proto.CommittedCertificate.newBuilder()
        .setPrePrepare(junk).addAllCommits(java.util.Collections.nCopies(5, junk))).build();
    assertEquals(Rejection.TOO_MANY_ENTRIES, reason(verifier, fx.signed(2, five)));
  }

  @Test
  void prePrepareCarryingARequestFromAnUnknownClientIsRejected() {
    SignedRequest stranger = fx.requestSignedBy(99, 1, "a", fx.clientKeys.get(0));
    Verdict<?> v = verifier.verify(fx.signed(0, prePrepare(0, 1, List.of(stranger))));
    assertEquals(Rejection.EMBEDDED_INVALID_REQUEST, v.reason());
    assertTrue(v.describe().contains(Rejection.UNKNOWN_CLIENT.label()), v.describe());
  }

  @Test
  void acceptedPrePrepareCarriesItsRequestsParsedOnce() {
    List<SignedRequest> batch = List.of(fx.request(0, 1, "a"), fx.request(2, 5, "b"));
    Verdict<io.pbft.replica.verify.VerifiedMessage> v = verifier.verify(fx.signed(0, prePrepare(0, 1, batch)));
    assertTrue(v.isOk(), v.describe());
    assertEquals(List.of(0, 2), v.value().requests().stream().map(r -> r.clientId()).toList());
    assertEquals(List.of(1L, 5L), v.value().requests().stream().map(r -> r.timestamp()).toList());
    assertEquals(batch, v.value().requests().stream().map(r -> r.signed()).toList());
  }

  // Work a faulty replica can force: messages that cannot matter at the receiver's position are
  // dropped before their embedded signatures are verified (each case carries forged embedded
  // signatures, so a verdict other than STALE_UNCHECKED would show they were checked).

  private static final io.pbft.replica.verify.Position IN_VIEW_5 =
      new io.pbft.replica.verify.Position(5, false, 0, 0, 1024);

  private SignedMessage viewChangeWithJunk(int sender, long newView) {
    SignedMessage junk = SignedMessage.newBuilder().setSender(3).setPayload(ByteString.copyFromUtf8("junk"))
        .setSignature(ByteString.copyFrom(new byte[64])).build();
    io.pbft.proto.ViewChange vc = io.pbft.proto.ViewChange.newBuilder().setNewView(newView).setReplicaId(sender)
        .addAllComplaints(java.util.Collections.nCopies(4, junk)).build();
    return fx.signed(sender, ReplicaMessage.newBuilder().setViewChange(vc).build());
  }

  @Test
  void staleViewChangeIsDroppedBeforeItsCarriedSignaturesAreChecked() {
    assertEquals(Rejection.STALE_UNCHECKED, verifier.verify(viewChangeWithJunk(2, 3), IN_VIEW_5).reason());
    assertEquals(Rejection.STALE_UNCHECKED, verifier.verify(viewChangeWithJunk(2, 5), IN_VIEW_5).reason(),
        "view 5 is open there");
    assertEquals(Rejection.EMBEDDED_BAD_SIGNATURE, verifier.verify(viewChangeWithJunk(2, 6), IN_VIEW_5).reason(),
        "a view-change for the next view is checked in full");
  }

  @Test
  void prePrepareForAFarViewIsDroppedBeforeItsRequestsAreChecked() {
    SignedRequest forged = fx.requestSignedBy(1, 1, "steal", fx.clientKeys.get(0));
    assertEquals(Rejection.STALE_UNCHECKED,
        verifier.verify(fx.signed(1, prePrepare(9, 1, List.of(forged))), IN_VIEW_5).reason(), "view 9 is far ahead");
    assertEquals(Rejection.STALE_UNCHECKED,
        verifier.verify(fx.signed(1, prePrepare(4, 1, List.of(forged))), IN_VIEW_5).reason(), "view 4 is gone");
    assertEquals(Rejection.EMBEDDED_INVALID_REQUEST,
        verifier.verify(fx.signed(1, prePrepare(5, 1, List.of(forged))), IN_VIEW_5).reason());
  }

  @Test
  void eachSignatureIsVerifiedOnce() {
    SignedMessage m = fx.signed(2, prepare);
    long before = verifier.signaturesReused();
    assertTrue(verifier.verify(m).isOk());
    assertTrue(verifier.verify(m).isOk());
    assertEquals(before + 1, verifier.signaturesReused());
    SignedMessage tampered = m.toBuilder().setPayload(ByteString.copyFromUtf8("other")).build();
    assertEquals(Rejection.BAD_SIGNATURE, verifier.verify(tampered).reason(), "the same signature on other bytes");
  }
}

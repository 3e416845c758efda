package io.pbft.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import io.pbft.proto.AdministrationSignature;
import io.pbft.proto.Reconfiguration;
import io.pbft.proto.ReconfigurationAdministration;
import io.pbft.proto.ReconfigurationMember;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class ReconfigurationSigningTest {
  private static Ed25519Keys keys(int index) {
    byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
    Arrays.fill(secret, (byte) (index + 1));
    return Ed25519Keys.fromSecretKey(secret);
  }

  private static ByteString key(int index) {
    return ByteString.copyFrom(keys(index).publicKey());
  }

  private static ReconfigurationMember member(int id, String address, int keyIndex) {
    return ReconfigurationMember.newBuilder().setId(id).setAddress(address).setPublicKey(key(keyIndex)).build();
  }

  /** Epoch 1 of four replicas, one administration key (index 10). */
  private static Reconfiguration command() {
    return Reconfiguration.newBuilder()
        .setEpoch(1)
        .addMembers(member(0, "a:7000", 0))
        .addMembers(member(1, "b:7000", 1))
        .addMembers(member(2, "c:7000", 2))
        .addMembers(member(3, "d:7000", 3))
        .setF(1)
        .setAdministration(ReconfigurationAdministration.newBuilder().addKeys(key(10)).setThreshold(1))
        .setReason("replace replica 3 (disk failed)")
        .setPreviousMembershipDigest(ByteString.copyFrom(new byte[32]))
        .build();
  }

  @Test
  void bytesAreTheDocumentedLayout() {
    Reconfiguration c = Reconfiguration.newBuilder()
        .setEpoch(0x0102030405060708L)
        .addMembers(ReconfigurationMember.newBuilder().setId(7).setAddress("h:1")
            .setPublicKey(ByteString.copyFrom(new byte[] {9, 9})).setTlsCertificate(ByteString.copyFrom(new byte[] {5})))
        .setF(2)
        .setAdministration(ReconfigurationAdministration.newBuilder().addKeys(ByteString.copyFrom(new byte[] {4}))
            .setThreshold(1))
        .setReason("r")
        .setPreviousMembershipDigest(ByteString.copyFrom(new byte[] {6, 6, 6}))
        .build();
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.writeBytes("pbft-reconfiguration-v1\0".getBytes(StandardCharsets.US_ASCII));
    expected.writeBytes(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}); // epoch
    expected.writeBytes(new byte[] {0, 0, 0, 1}); // one member
    expected.writeBytes(new byte[] {0, 0, 0, 7}); // id
    expected.writeBytes(new byte[] {0, 0, 0, 3, 'h', ':', '1'}); // address
    expected.writeBytes(new byte[] {0, 0, 0, 2, 9, 9}); // public key
    expected.writeBytes(new byte[] {0, 0, 0, 1, 5}); // TLS certificate
    expected.writeBytes(new byte[] {0, 0, 0, 2}); // f
    expected.writeBytes(new byte[] {0, 0, 0, 1, 0, 0, 0, 1, 4}); // one administration key
    expected.writeBytes(new byte[] {0, 0, 0, 1}); // threshold
    expected.writeBytes(new byte[] {0, 0, 0, 1, 'r'}); // reason
    expected.writeBytes(new byte[] {0, 0, 0, 3, 6, 6, 6}); // previous membership digest
    assertArrayEquals(expected.toByteArray(), ReconfigurationSigning.signingBytes(c));
  }

  @Test
  void membershipBytesAreTheDocumentedLayout() {
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.writeBytes("pbft-membership-v1\0".getBytes(StandardCharsets.US_ASCII));
    expected.writeBytes(new byte[] {0, 0, 0, 0, 0, 0, 0, 3}); // epoch
    expected.writeBytes(new byte[] {0, 0, 0, 1}); // one member
    expected.writeBytes(new byte[] {0, 0, 0, 7}); // id
    expected.writeBytes(new byte[] {0, 0, 0, 3, 'h', ':', '1'}); // address
    expected.writeBytes(new byte[] {0, 0, 0, 2, 9, 9}); // public key
    expected.writeBytes(new byte[] {0, 0, 0, 0}); // no TLS certificate
    expected.writeBytes(new byte[] {0, 0, 0, 0}); // f
    expected.writeBytes(new byte[] {0, 0, 0, 1, 0, 0, 0, 1, 4}); // one administration key
    expected.writeBytes(new byte[] {0, 0, 0, 1}); // threshold
    byte[] bytes = ReconfigurationSigning.membershipBytes(3,
        List.of(ReconfigurationMember.newBuilder().setId(7).setAddress("h:1")
            .setPublicKey(ByteString.copyFrom(new byte[] {9, 9})).build()),
        0, ReconfigurationAdministration.newBuilder().addKeys(ByteString.copyFrom(new byte[] {4})).setThreshold(1)
            .build());
    assertArrayEquals(expected.toByteArray(), bytes);
    assertThrows(InvalidProtocolBufferException.class, () -> Request.parseFrom(bytes));
  }

  @Test
  void theNextMembershipDigestIsTheDigestOfTheMembershipTheCommandNames() {
    Reconfiguration c = command();
    byte[] digest = ReconfigurationSigning.nextMembershipDigest(c);
    assertEquals(Digests.SIZE_BYTES, digest.length);
    assertArrayEquals(Digests.sha256(ReconfigurationSigning.membershipBytes(c.getEpoch(), c.getMembersList(),
        c.getF(), c.getAdministration())), digest);
    // the reason, the signatures and the previous digest are not part of the membership
    Reconfiguration other = ReconfigurationSigning.signed(c, keys(10)).toBuilder().setReason("another")
        .setPreviousMembershipDigest(ByteString.copyFrom(new byte[] {1})).build();
    assertArrayEquals(digest, ReconfigurationSigning.nextMembershipDigest(other));
    assertFalse(Arrays.equals(digest, ReconfigurationSigning.nextMembershipDigest(c.toBuilder().setF(0).build())));
    assertFalse(Arrays.equals(digest, ReconfigurationSigning.nextMembershipDigest(c.toBuilder().setEpoch(2).build())));
  }

  @Test
  void signaturesAreNotPartOfTheSignedBytes() {
    Reconfiguration signed = ReconfigurationSigning.signed(command(), keys(10));
    assertEquals(1, signed.getSignaturesCount());
    assertArrayEquals(ReconfigurationSigning.signingBytes(command()), ReconfigurationSigning.signingBytes(signed));
  }

  @Test
  void everyFieldButTheSignaturesIsSigned() {
    byte[] base = ReconfigurationSigning.signingBytes(command());
    List<UnaryOperator<Reconfiguration.Builder>> changes = List.of(
        b -> b.setEpoch(2),
        b -> b.setF(0),
        b -> b.setReason("another reason"),
        b -> b.setMembers(0, b.getMembers(0).toBuilder().setId(9)),
        b -> b.setMembers(0, b.getMembers(0).toBuilder().setAddress("a:7001")),
        b -> b.setMembers(0, b.getMembers(0).toBuilder().setPublicKey(key(5))),
        b -> b.setMembers(0, b.getMembers(0).toBuilder().setTlsCertificate(ByteString.copyFromUtf8("cert"))),
        b -> b.removeMembers(3),
        b -> b.setMembers(0, b.getMembers(1)).setMembers(1, b.getMembers(0)), // order: who is primary
        b -> b.setAdministration(b.getAdministration().toBuilder().setThreshold(2)),
        b -> b.setAdministration(b.getAdministration().toBuilder().addKeys(key(11))),
        b -> b.setAdministration(b.getAdministration().toBuilder().setKeys(0, key(11))),
        b -> b.setPreviousMembershipDigest(ByteString.copyFrom(new byte[31])));
    for (int i = 0; i < changes.size(); i++) {
      byte[] changed = ReconfigurationSigning.signingBytes(changes.get(i).apply(command().toBuilder()).build());
      assertFalse(Arrays.equals(base, changed), "change " + i + " left the signed bytes as they were");
    }
  }

  @Test
  void lengthPrefixesKeepFieldBoundariesApart() {
    // The same concatenated text, split differently between the address and the reason.
    Reconfiguration one = command().toBuilder().setMembers(0, member(0, "a:70", 0)).setReason("00x").build();
    Reconfiguration two = command().toBuilder().setMembers(0, member(0, "a:7000", 0)).setReason("x").build();
    assertFalse(Arrays.equals(ReconfigurationSigning.signingBytes(one), ReconfigurationSigning.signingBytes(two)));
  }

  @Test
  void bytesDependOnTheValuesNotOnHowTheMessageWasEncoded() throws Exception {
    // Fields written in reverse order, plus a field this version does not know: the same value.
    Reconfiguration c = command();
    ByteArrayOutputStream reversed = new ByteArrayOutputStream();
    List<Map.Entry<Descriptors.FieldDescriptor, Object>> fields = new ArrayList<>(c.getAllFields().entrySet());
    Collections.reverse(fields);
    for (Map.Entry<Descriptors.FieldDescriptor, Object> field : fields) {
      Reconfiguration.newBuilder().setField(field.getKey(), field.getValue()).build().writeTo(reversed);
    }
    UnknownFieldSet unknown = UnknownFieldSet.newBuilder()
        .addField(99, UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build();
    unknown.writeTo(reversed);
    Reconfiguration decoded = Reconfiguration.parseFrom(reversed.toByteArray());
    assertFalse(Arrays.equals(c.toByteArray(), reversed.toByteArray()), "the test needs a different encoding");
    assertArrayEquals(ReconfigurationSigning.signingBytes(c), ReconfigurationSigning.signingBytes(decoded));
  }

  @Test
  void signedBytesNeverParseAsAProtobufMessage() {
    byte[] bytes = ReconfigurationSigning.signingBytes(command());
    assertThrows(InvalidProtocolBufferException.class, () -> Request.parseFrom(bytes));
    assertThrows(InvalidProtocolBufferException.class, () -> SignedMessage.parseFrom(bytes));
    assertThrows(InvalidProtocolBufferException.class, () -> Reconfiguration.parseFrom(bytes));
  }

  @Test
  void signatureVerifiesAndNamesItsKey() {
    AdministrationSignature s = ReconfigurationSigning.sign(command(), keys(10));
    assertEquals(key(10), s.getPublicKey());
    assertEquals(Ed25519Keys.SIGNATURE_BYTES, s.getSignature().size());
    assertTrue(ReconfigurationSigning.verifies(command(), s));
    assertTrue(keys(10).verifier().verify(ReconfigurationSigning.signingBytes(command()), s.getSignature().toByteArray()));
  }

  @Test
  void signatureOverAnotherCommandDoesNotVerify() {
    AdministrationSignature s = ReconfigurationSigning.sign(command(), keys(10));
    assertFalse(ReconfigurationSigning.verifies(command().toBuilder().setEpoch(2).build(), s));
    assertFalse(ReconfigurationSigning.verifies(command().toBuilder().setReason("add replica 4").build(), s));
  }

  @Test
  void signatureClaimingAnotherKeyDoesNotVerify() {
    AdministrationSignature forged = ReconfigurationSigning.sign(command(), keys(11)).toBuilder()
        .setPublicKey(key(10)).build();
    assertFalse(ReconfigurationSigning.verifies(command(), forged));
  }

  @Test
  void malformedKeysAndSignaturesAreFalseNotExceptions() {
    AdministrationSignature good = ReconfigurationSigning.sign(command(), keys(10));
    assertFalse(ReconfigurationSigning.verifies(command(), good.toBuilder().setPublicKey(ByteString.EMPTY).build()));
    assertFalse(ReconfigurationSigning.verifies(command(),
        good.toBuilder().setPublicKey(ByteString.copyFrom(new byte[31])).build()));
    assertFalse(ReconfigurationSigning.verifies(command(), good.toBuilder().setSignature(ByteString.EMPTY).build()));
    byte[] flipped = good.getSignature().toByteArray();
    flipped[5] ^= 1;
    assertFalse(ReconfigurationSigning.verifies(command(),
        good.toBuilder().setSignature(ByteString.copyFrom(flipped)).build()));
    assertFalse(ReconfigurationSigning.verifies(command(), AdministrationSignature.getDefaultInstance()));
  }
}

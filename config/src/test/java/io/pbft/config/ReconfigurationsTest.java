package io.pbft.config;

import static io.pbft.config.MembershipTest.admins;
import static io.pbft.config.MembershipTest.keys;
import static io.pbft.config.MembershipTest.member;
import static io.pbft.config.MembershipTest.members;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.crypto.tls.CertificateAuthority;
import io.pbft.proto.Reconfiguration;
import io.pbft.proto.ReconfigurationMember;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Validation of a reconfiguration command against the current epoch. */
class ReconfigurationsTest {
  /** Epoch 3: members 0..3, f = 1, administration keys 100, 101, 102 with threshold 2. */
  private static final Membership CURRENT = new Membership(3, members(4), 1, admins(2, 3));

  private static Ed25519Keys admin(int k) {
    return keys(100 + k);
  }

  /** Epoch 4 with replica 4 added, unsigned. */
  private static Reconfiguration addFive() {
    return Reconfigurations.command(CURRENT, CURRENT.nextAdding(member(4)), "add replica 4");
  }

  private static Reconfiguration signedBy(Reconfiguration command, Ed25519Keys... signers) {
    for (Ed25519Keys k : signers) {
      command = ReconfigurationSigning.signed(command, k);
    }
    return command;
  }

  /** The command edited, then signed by administration keys 0 and 1 of epoch 3 (enough). */
  private static Reconfiguration edited(UnaryOperator<Reconfiguration.Builder> edit) {
    return signedBy(edit.apply(addFive().toBuilder()).build(), admin(0), admin(1));
  }

  private static String refusal(Reconfiguration command) {
    ReconfigurationVerdict v = Reconfigurations.validate(CURRENT, command);
    assertFalse(v.isAccepted(), "expected a refusal, got " + v);
    assertNull(v.next());
    return v.refusal();
  }

  private static void assertContains(String message, String... parts) {
    for (String part : parts) {
      assertTrue(message.contains(part), "message '" + message + "' lacks '" + part + "'");
    }
  }

  // ---------------------------------------------------------------- accepted

  @Test
  void aCommandSignedByTheThresholdIsAcceptedWithTheEpochItNames() {
    ReconfigurationVerdict v = Reconfigurations.validate(CURRENT, signedBy(addFive(), admin(0), admin(2)));
    assertTrue(v.isAccepted(), v.toString());
    assertNull(v.refusal());
    assertEquals(CURRENT.nextAdding(member(4)), v.next());
    assertEquals(4, v.next().epoch());
  }

  @Test
  void theVerdictSurvivesTheWireAndIsTheSameEveryTime() throws Exception {
    Reconfiguration command = Reconfiguration.parseFrom(signedBy(addFive(), admin(1), admin(2)).toByteArray());
    ReconfigurationVerdict first = Reconfigurations.validate(CURRENT, command);
    assertTrue(first.isAccepted(), first.toString());
    assertEquals(first, Reconfigurations.validate(CURRENT, command));
  }

  @Test
  void signaturesBeyondTheThresholdAndByStrangersDoNoHarm() {
    Reconfiguration command = signedBy(addFive(), keys(77), admin(0), admin(1), admin(2), admin(0));
    assertTrue(Reconfigurations.validate(CURRENT, command).isAccepted());
  }

  @Test
  void everyKindOfChangeMadeByTheHelpersIsAccepted() {
    CertificateAuthority ca = CertificateAuthority.generate("test CA", Duration.ofDays(1), new SecureRandom());
    byte[] certificate = MembershipTest.der(ca.issue("replica-2", List.of("spare"),
        CertificateAuthority.Usage.SERVER_AND_CLIENT, Duration.ofDays(1)).certificate());
    List<Membership> nexts = List.of(
        CURRENT.nextAdding(member(4)),
        CURRENT.nextReplacing(2, "spare", 7100, keys(50).publicKey(), certificate),
        CURRENT.nextRotatingKey(1, keys(51).publicKey(), null),
        CURRENT.change().remove(0).faults(0).build(),
        CURRENT.nextWithAdministration(admins(1, 1)));
    for (Membership next : nexts) {
      ReconfigurationVerdict v = Reconfigurations.validate(CURRENT,
          signedBy(Reconfigurations.command(CURRENT, next, "test"), admin(0), admin(1)));
      assertTrue(v.isAccepted(), v.toString());
      assertEquals(next, v.next());
    }
  }

  // ---------------------------------------------------------------- signatures

  @Test
  void aForgedSignatureIsARefusalNotAnException() {
    // admin 1's key claimed on a signature made by someone else
    var forged = ReconfigurationSigning.sign(addFive(), keys(77)).toBuilder()
        .setPublicKey(ByteString.copyFrom(admin(1).publicKey())).build();
    Reconfiguration command = signedBy(addFive(), admin(0)).toBuilder().addSignatures(forged).build();
    assertContains(refusal(command), "signatures[1], by administration key 1 of epoch 3", "does not verify");
  }

  @Test
  void aCommandChangedAfterSigningIsRefused() {
    Reconfiguration signed = signedBy(addFive(), admin(0), admin(1));
    Reconfiguration tampered = signed.toBuilder()
        .setMembers(4, signed.getMembers(4).toBuilder().setAddress("attacker:7000")).build();
    assertContains(refusal(tampered), "does not verify", "changed after it was signed");
    assertContains(refusal(signed.toBuilder().setReason("something else").build()), "does not verify");
  }

  @Test
  void garbageInASignatureIsARefusalNotAnException() {
    Reconfiguration signed = signedBy(addFive(), admin(0), admin(1));
    Reconfiguration shortSignature = signed.toBuilder()
        .setSignatures(0, signed.getSignatures(0).toBuilder().setSignature(ByteString.copyFrom(new byte[3]))).build();
    assertContains(refusal(shortSignature), "signatures[0]", "does not verify");
    Reconfiguration badKey = signed.toBuilder()
        .setSignatures(0, signed.getSignatures(0).toBuilder().setPublicKey(ByteString.copyFrom(new byte[5]))).build();
    assertContains(refusal(badKey), "signed by 1 distinct administration key of epoch 3, but 2 must sign",
        "1 by keys that are not administration keys of epoch 3");
  }

  @Test
  void theThresholdMustBeMet() {
    assertContains(refusal(signedBy(addFive(), admin(2))),
        "signed by 1 distinct administration key of epoch 3, but 2 must sign");
    assertContains(refusal(addFive()), "signed by 0 distinct administration keys of epoch 3, but 2 must sign");
  }

  @Test
  void aSignerCountsOnceHoweverOftenItSigns() {
    assertContains(refusal(signedBy(addFive(), admin(0), admin(0), admin(0))),
        "signed by 1 distinct administration key", "not counted: 2 repeated");
  }

  @Test
  void signaturesByUnknownKeysDoNotCount() {
    assertContains(refusal(signedBy(addFive(), admin(0), keys(77), keys(78))),
        "signed by 1 distinct", "not counted: 2 by keys that are not administration keys of epoch 3");
  }

  @Test
  void aKeyRemovedFromTheAdministrationNoLongerSigns() {
    // Epoch 4 keeps only administration key 2 (threshold 1); keys 0 and 1 signed the change to it.
    ReconfigurationVerdict toFour = Reconfigurations.validate(CURRENT, signedBy(
        Reconfigurations.command(CURRENT, CURRENT.nextWithAdministration(
            new Administration(List.of(new AdministrationKey(admin(2).publicKey())), 1)), "retire keys 0 and 1"),
        admin(0), admin(1)));
    assertTrue(toFour.isAccepted(), toFour.toString());
    Membership four = toFour.next();
    Reconfiguration toFive = Reconfigurations.command(four, four.nextAdding(member(4)), "add replica 4");
    ReconfigurationVerdict byOldKeys = Reconfigurations.validate(four, signedBy(toFive, admin(0), admin(1)));
    assertFalse(byOldKeys.isAccepted());
    assertContains(byOldKeys.refusal(), "signed by 0 distinct administration keys of epoch 4, but 1 must sign",
        "2 by keys that are not administration keys of epoch 4");
    assertTrue(Reconfigurations.validate(four, signedBy(toFive, admin(2))).isAccepted());
  }

  @Test
  void aGroupWithoutAdministrationKeysRefusesEveryCommand() {
    Membership none = new Membership(0, members(4), 1, Administration.NONE);
    Reconfiguration command = Reconfigurations.command(none,
        new Membership(1, List.of(member(0), member(1), member(2), member(3), member(4)), 1, admins(1, 1)), "add");
    ReconfigurationVerdict v = Reconfigurations.validate(none, signedBy(command, admin(0)));
    assertFalse(v.isAccepted());
    assertContains(v.refusal(), "epoch 0 has no administration keys");
  }

  @Test
  void tooManySignaturesAreRefusedBeforeAnyIsChecked() {
    Reconfiguration.Builder b = addFive().toBuilder();
    var one = ReconfigurationSigning.sign(addFive(), keys(77));
    for (int i = 0; i <= Reconfigurations.SIGNATURES_MAX; i++) {
      b.addSignatures(one);
    }
    assertContains(refusal(b.build()), "carries " + (Reconfigurations.SIGNATURES_MAX + 1) + " signatures");
  }

  // ---------------------------------------------------------------- the epoch

  @Test
  void theCommandMustNameTheNextEpoch() {
    for (long epoch : new long[] {3, 2, 0, 5, -1}) {
      assertContains(refusal(edited(b -> b.setEpoch(epoch))), "names epoch " + Long.toUnsignedString(epoch),
          "the group is in epoch 3 and the next one is 4");
    }
  }

  // ---------------------------------------------------------------- the membership it changes

  @Test
  void aCommandSignedForOneGroupIsRefusedByAnotherThatSharesItsAdministrationKeys() {
    // Two groups at epoch 3 with the same administration keys (100, 101, 102; threshold 2).
    List<Member> others = List.of(new Member(0, "b0", 7000, keys(20).publicKey()),
        new Member(1, "b1", 7000, keys(21).publicKey()), new Member(2, "b2", 7000, keys(22).publicKey()),
        new Member(3, "b3", 7000, keys(23).publicKey()));
    Membership other = new Membership(3, others, 1, admins(2, 3));
    Reconfiguration forCurrent = signedBy(addFive(), admin(0), admin(1));
    assertTrue(Reconfigurations.validate(CURRENT, forCurrent).isAccepted());
    ReconfigurationVerdict v = Reconfigurations.validate(other, forCurrent);
    assertFalse(v.isAccepted(), v.toString());
    assertContains(v.refusal(), "the command was built for another membership",
        "epoch 3 of this group has digest " + Reconfigurations.shortHex(other.digest()));

    Reconfiguration forOther = signedBy(Reconfigurations.command(other, other.nextAdding(member(4)), "add"),
        admin(0), admin(1));
    assertTrue(Reconfigurations.validate(other, forOther).isAccepted());
    assertContains(refusal(forOther), "built for another membership");
  }

  @Test
  void aCommandForOtherMembersAtTheSameEpochIsRefused() {
    // The same group had its epoch 3 differ in f or in the administration threshold: another membership.
    Membership otherThreshold = new Membership(3, members(4), 1, admins(1, 3));
    Reconfiguration built = signedBy(Reconfigurations.command(otherThreshold, otherThreshold.nextAdding(member(4)),
        "add replica 4"), admin(0), admin(1));
    assertContains(refusal(built), "built for another membership");
  }

  @Test
  void aCommandWithoutThePreviousDigestIsRefused() {
    assertContains(refusal(edited(Reconfiguration.Builder::clearPreviousMembershipDigest)),
        "names no previous membership");
  }

  @Test
  void theDigestIsSignedWithTheRest() {
    Reconfiguration signed = signedBy(addFive(), admin(0), admin(1));
    Reconfiguration rebound = signed.toBuilder().setPreviousMembershipDigest(ByteString.copyFrom(
        new Membership(3, members(4), 0, admins(2, 3)).digest())).build();
    assertFalse(Reconfigurations.validate(CURRENT, rebound).isAccepted());
    assertFalse(ReconfigurationSigning.verifies(rebound, rebound.getSignatures(0)));
  }

  @Test
  void eachCommandNamesTheMembershipItsPredecessorMade() {
    Reconfiguration toFour = signedBy(addFive(), admin(0), admin(1));
    Membership four = Reconfigurations.validate(CURRENT, toFour).next();
    assertArrayEquals(ReconfigurationSigning.nextMembershipDigest(toFour), four.digest());
    Reconfiguration toFive = signedBy(Reconfigurations.command(four, four.nextRemoving(0), "remove replica 0"),
        admin(1), admin(2));
    assertArrayEquals(four.digest(), toFive.getPreviousMembershipDigest().toByteArray());
    assertTrue(Reconfigurations.validate(four, toFive).isAccepted());
    // A command built for epoch 4 can never be ordered again once epoch 5 exists, nor earlier.
    assertContains(refusal(toFive), "names epoch 5");
  }

  @Test
  void aCommandIsMadeOnlyForTheNextEpoch() {
    Membership five = new Membership(5, members(5), 1, admins(2, 3));
    assertThrows(ConfigException.class, () -> Reconfigurations.command(CURRENT, five, "skip an epoch"));
  }

  @Test
  void anUnsignedCommandIsCheckedWithoutItsSignatures() {
    ReconfigurationVerdict v = Reconfigurations.validateUnsigned(CURRENT, addFive());
    assertTrue(v.isAccepted(), v.toString());
    assertEquals(CURRENT.nextAdding(member(4)), v.next());
    Membership other = new Membership(3, members(4), 0, admins(2, 3));
    assertContains(Reconfigurations.validateUnsigned(other, addFive()).refusal(), "built for another membership");
    assertContains(Reconfigurations.validateUnsigned(CURRENT, addFive().toBuilder().setF(2).build()).refusal(),
        "n >= 3f + 1 = 7");
  }

  // ---------------------------------------------------------------- the next membership

  @Test
  void fewerThan3fPlus1MembersIsRefused() {
    assertContains(refusal(edited(b -> b.setF(2))), "epoch 4 would be invalid",
        "tolerating f = 2 faults needs n >= 3f + 1 = 7 members, but there are 5");
    assertContains(refusal(edited(b -> b.clearMembers().addMembers(addFive().getMembers(0)))), "n >= 3f + 1 = 4");
    assertContains(refusal(edited(Reconfiguration.Builder::clearMembers)), "lists no members");
  }

  @Test
  void duplicateIdsAddressesAndKeysAreRefused() {
    assertContains(refusal(edited(b -> b.setMembers(4, b.getMembers(4).toBuilder().setId(1)))),
        "members[4] (replica 1): id 1 is listed twice (also members[1])");
    assertContains(refusal(edited(b -> b.setMembers(4, b.getMembers(4).toBuilder().setAddress("Replica0:7000")))),
        "members[4] (replica 4): address Replica0:7000 is also replica 0's");
    assertContains(refusal(edited(b -> b.setMembers(4, b.getMembers(4).toBuilder().setPublicKey(
        ByteString.copyFrom(keys(3).publicKey()))))), "members[4] (replica 4): publicKey is also replica 3's");
  }

  @Test
  void malformedAddressesAreRefused() {
    for (String bad : new String[] {"replica4", "replica4:", ":7000", "replica4:http", "replica4:99999",
        "replica4:0", "replica 4:7000", ""}) {
      assertContains(refusal(edited(b -> b.setMembers(4, b.getMembers(4).toBuilder().setAddress(bad)))),
          "epoch 4 would be invalid: members[4] (replica 4): ");
    }
  }

  @Test
  void malformedKeysAndCertificatesAreRefused() {
    assertContains(refusal(edited(b -> b.setMembers(4, b.getMembers(4).toBuilder().setPublicKey(ByteString.EMPTY)))),
        "members[4] (replica 4): publicKey is not a valid Ed25519 public key");
    assertContains(refusal(edited(b -> b.setMembers(4, b.getMembers(4).toBuilder()
        .setTlsCertificate(ByteString.copyFromUtf8("-----BEGIN CERTIFICATE-----"))))),
        "members[4] (replica 4): tlsCertificate is not an X.509 certificate");
  }

  @Test
  void theNextAdministrationMustBeValid() {
    assertContains(refusal(edited(b -> b.setAdministration(b.getAdministration().toBuilder().clearKeys()))),
        "epoch 4 would name no administration keys");
    assertContains(refusal(edited(b -> b.setAdministration(b.getAdministration().toBuilder().setThreshold(4)))),
        "administration.threshold must be between 1 and 3 (the number of keys), got 4");
    assertContains(refusal(edited(b -> b.setAdministration(b.getAdministration().toBuilder().setThreshold(0)))),
        "administration.threshold must be between 1 and 3");
    assertContains(refusal(edited(b -> b.setAdministration(b.getAdministration().toBuilder()
        .addKeys(b.getAdministration().getKeys(0))))), "administration.keys[3]: publicKey is listed twice");
    assertContains(refusal(edited(b -> b.setAdministration(b.getAdministration().toBuilder()
        .addKeys(ByteString.copyFrom(keys(2).publicKey()))))), "publicKey is replica 2's key");
  }

  @Test
  void aCommandThatChangesNothingIsRefused() {
    Reconfiguration same = Reconfigurations.command(CURRENT,
        new Membership(4, CURRENT.members(), CURRENT.f(), CURRENT.administration()), "nothing");
    assertContains(refusal(signedBy(same, admin(0), admin(1))), "the command changes nothing");
  }

  // ---------------------------------------------------------------- bounds and unknown fields

  @Test
  void fieldsThisVersionDoesNotKnowAreRefused() {
    UnknownFieldSet unknown = UnknownFieldSet.newBuilder()
        .addField(42, UnknownFieldSet.Field.newBuilder().addVarint(7).build()).build();
    Reconfiguration signed = signedBy(addFive(), admin(0), admin(1));
    assertContains(refusal(signed.toBuilder().setUnknownFields(unknown).build()), "field 42",
        "fields this version does not know");
    ReconfigurationMember m = signed.getMembers(2).toBuilder().setUnknownFields(unknown).build();
    assertContains(refusal(signed.toBuilder().setMembers(2, m).build()), "members[2].field 42");
  }

  @Test
  void aLongReasonIsRefusedAndCannotBeMade() {
    String longReason = "x".repeat(Reconfigurations.REASON_BYTES_MAX + 1);
    assertContains(refusal(edited(b -> b.setReason(longReason))), "the reason is 1025 bytes long");
    assertThrows(ConfigException.class, () -> Reconfigurations.command(CURRENT, CURRENT.nextAdding(member(4)), longReason));
  }

  @Test
  void theCommandCarriesTheWholeNextMembership() {
    Membership next = CURRENT.nextAdding(member(4));
    Reconfiguration c = Reconfigurations.command(CURRENT, next, "add replica 4");
    assertEquals(4, c.getEpoch());
    assertEquals(ByteString.copyFrom(CURRENT.digest()), c.getPreviousMembershipDigest());
    assertEquals(1, c.getF());
    assertEquals("add replica 4", c.getReason());
    assertEquals(5, c.getMembersCount());
    assertEquals("replica4:7000", c.getMembers(4).getAddress());
    assertEquals(ByteString.copyFrom(keys(4).publicKey()), c.getMembers(4).getPublicKey());
    assertEquals(3, c.getAdministration().getKeysCount());
    assertEquals(2, c.getAdministration().getThreshold());
    assertEquals(0, c.getSignaturesCount());
  }
}

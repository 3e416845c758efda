package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.tls.CertificateAuthority;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configuration epochs: their rules, epoch 0 from cluster.yaml, and the next epoch from an intent. */
class MembershipTest {
  @TempDir
  Path dir;

  static Ed25519Keys keys(int index) {
    byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
    Arrays.fill(secret, (byte) (index + 1));
    return Ed25519Keys.fromSecretKey(secret);
  }

  static Member member(int id) {
    return new Member(id, "replica" + id, 7000, keys(id).publicKey());
  }

  static List<Member> members(int n) {
    List<Member> list = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      list.add(member(i));
    }
    return list;
  }

  /** Administration keys 100, 101, ... with the threshold given. */
  static Administration admins(int threshold, int count) {
    List<AdministrationKey> list = new ArrayList<>();
    for (int k = 0; k < count; k++) {
      list.add(new AdministrationKey(keys(100 + k).publicKey()));
    }
    return new Administration(list, threshold);
  }

  /** Epoch 3: four members 0..3, f = 1, administration keys 100 and 101 with threshold 1. */
  static Membership epoch3() {
    return new Membership(3, members(4), 1, admins(1, 2));
  }

  private static String refused(Runnable r) {
    return assertThrows(ConfigException.class, r::run).getMessage();
  }

  private static void assertContains(String message, String... parts) {
    for (String part : parts) {
      assertTrue(message.contains(part), "message '" + message + "' lacks '" + part + "'");
    }
  }

  // ---------------------------------------------------------------- the rules

  @Test
  void idsNeedNotBeConsecutiveOnlyDistinct() {
    Membership m = new Membership(1, List.of(member(5), member(0), member(9), member(2)), 1, admins(1, 1));
    assertEquals(List.of(5, 0, 9, 2), m.ids());
    assertEquals(2, m.indexOf(9));
    assertArrayEquals(keys(9).publicKey(), m.member(9).publicKey());
  }

  @Test
  void nMustBeAtLeast3fPlus1AndFZeroIsAllowedAsInClusterYaml() {
    assertNull(Membership.problem(0, members(4), 1, Administration.NONE));
    assertNull(Membership.problem(0, members(1), 0, Administration.NONE));
    assertContains(Membership.problem(0, members(3), 1, Administration.NONE),
        "tolerating f = 1 faults needs n >= 3f + 1 = 4 members, but there are 3");
    assertContains(Membership.problem(0, members(6), 2, Administration.NONE), "n >= 3f + 1 = 7");
    assertContains(Membership.problem(0, members(4), -1, Administration.NONE), "f must not be negative");
    assertContains(Membership.problem(0, List.of(), 0, Administration.NONE), "lists no members");
    assertContains(Membership.problem(-1, members(4), 1, Administration.NONE), "epoch number", "out of range");
  }

  @Test
  void aDuplicateIdIsRefusedNamingBothPositions() {
    List<Member> m = members(4);
    m.add(new Member(2, "other", 7000, keys(50).publicKey()));
    assertContains(Membership.problem(0, m, 1, Administration.NONE),
        "members[4] (replica 2): id 2 is listed twice (also members[2])");
  }

  @Test
  void aNegativeIdIsRefused() {
    List<Member> m = members(4);
    m.set(0, new Member(-1, "x", 1, keys(50).publicKey()));
    assertContains(Membership.problem(0, m, 1, Administration.NONE), "members[0]: id 4294967295 is out of range");
  }

  @Test
  void aDuplicateAddressIsRefusedWhateverTheCaseOfTheHost() {
    List<Member> m = members(4);
    m.set(3, new Member(3, "REPLICA1", 7000, keys(3).publicKey()));
    assertContains(Membership.problem(0, m, 1, Administration.NONE),
        "members[3] (replica 3): address REPLICA1:7000 is also replica 1's");
    m.set(3, new Member(3, "replica1", 7001, keys(3).publicKey()));
    assertNull(Membership.problem(0, m, 1, Administration.NONE), "another port on the same host is fine");
  }

  @Test
  void aDuplicatePublicKeyIsRefused() {
    List<Member> m = members(4);
    m.set(3, new Member(3, "replica3", 7000, keys(0).publicKey()));
    assertContains(Membership.problem(0, m, 1, Administration.NONE),
        "members[3] (replica 3): publicKey is also replica 0's");
  }

  @Test
  void anInvalidPublicKeyIsRefused() {
    List<Member> m = members(4);
    m.set(1, new Member(1, "replica1", 7000, new byte[31]));
    assertContains(Membership.problem(0, m, 1, Administration.NONE),
        "members[1] (replica 1): publicKey is not a valid Ed25519 public key");
  }

  @Test
  void aMalformedAddressIsRefused() {
    List<Member> m = members(4);
    m.set(1, new Member(1, "", 7000, keys(1).publicKey()));
    assertContains(Membership.problem(0, m, 1, Administration.NONE), "members[1] (replica 1): address: the host");
    m.set(1, new Member(1, "my host", 7000, keys(1).publicKey()));
    assertContains(Membership.problem(0, m, 1, Administration.NONE), "whitespace");
    m.set(1, new Member(1, "h", 70000, keys(1).publicKey()));
    assertContains(Membership.problem(0, m, 1, Administration.NONE), "port 70000 is out of range");
  }

  @Test
  void hostPortIsReadStrictly() {
    assertEquals(new HostPort("replica-1.example", 7000), HostPort.parse("replica-1.example:7000"));
    assertEquals(new HostPort("[::1]", 7000), HostPort.parse("[::1]:7000"));
    assertEquals("replica:7", HostPort.parse("Replica:7").normalized());
    for (String bad : new String[] {"replica", "replica:", ":7000", "replica:http", "replica:+7000", "replica:07000",
        "replica:0", "replica:65536", "replica:123456", "re plica:7000", "replica:-1"}) {
      assertTrue(HostPort.problem(bad) != null, bad);
      assertThrows(ConfigException.class, () -> HostPort.parse(bad), bad);
    }
    assertNull(HostPort.problem("replica:65535"));
  }

  @Test
  void theAdministrationMustBeValidAndHoldNoMembersKey() {
    assertContains(Membership.problem(0, members(4), 1, admins(3, 2)),
        "administration.threshold must be between 1 and 2");
    Administration withMemberKey = new Administration(List.of(new AdministrationKey(keys(100).publicKey()),
        new AdministrationKey(keys(2).publicKey())), 1);
    assertContains(Membership.problem(0, members(4), 1, withMemberKey),
        "administration.keys[1]: publicKey is replica 2's key");
    assertNull(Membership.problem(0, members(4), 1, Administration.NONE), "epoch 0 may have none");
  }

  @Test
  void theConstructorRefusesWhatProblemFinds() {
    assertContains(refused(() -> new Membership(2, members(3), 1, Administration.NONE)), "epoch 2: ", "n >= 3f + 1");
  }

  @Test
  void aTlsCertificateMustBeDerAndNameTheReplica() {
    CertificateAuthority ca = CertificateAuthority.generate("test CA", Duration.ofDays(1), new SecureRandom());
    byte[] replica1 = der(ca.issue("replica-1", List.of("replica1"), CertificateAuthority.Usage.SERVER_AND_CLIENT,
        Duration.ofDays(1)).certificate());
    List<Member> m = members(4);
    m.set(1, new Member(1, "replica1", 7000, keys(1).publicKey(), replica1));
    assertNull(Membership.problem(0, m, 1, Administration.NONE));

    m.set(2, new Member(2, "replica2", 7000, keys(2).publicKey(), replica1));
    assertContains(Membership.problem(0, m, 1, Administration.NONE),
        "members[2] (replica 2): tlsCertificate names CN=replica-1", "not CN=replica-2");
    m.set(2, new Member(2, "replica2", 7000, keys(2).publicKey(), "not a certificate".getBytes(StandardCharsets.UTF_8)));
    assertContains(Membership.problem(0, m, 1, Administration.NONE), "tlsCertificate is not an X.509 certificate");
    byte[] trailing = Arrays.copyOf(replica1, replica1.length + 1);
    m.set(2, new Member(2, "replica2", 7000, keys(2).publicKey(), trailing));
    assertContains(Membership.problem(0, m, 1, Administration.NONE), "not exactly one DER-encoded");
  }

  static byte[] der(java.security.cert.X509Certificate certificate) {
    try {
      return certificate.getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void membersAreValuesAndHideTheirArrays() {
    byte[] key = keys(1).publicKey();
    Member m = new Member(1, "h", 1, key);
    key[0] ^= 1;
    assertArrayEquals(keys(1).publicKey(), m.publicKey(), "the member copied the key");
    m.publicKey()[0] ^= 1;
    assertArrayEquals(keys(1).publicKey(), m.publicKey(), "the accessor hands out a copy");
    assertEquals(new Member(1, "h", 1, keys(1).publicKey()), m);
    assertEquals(new Member(1, "h", 1, keys(1).publicKey()).hashCode(), m.hashCode());
    assertFalse(m.hasTlsCertificate());
  }

  // ---------------------------------------------------------------- epoch 0

  @Test
  void epochZeroIsClusterYamlWithoutItsLocalFiles() {
    ClusterConfig config = ClusterSetup.generateWithoutTls(dir, 4, 1, "127.0.0.1", 7000, -1, new SecureRandom())
        .withAdministration(new Administration(List.of(new AdministrationKey(keys(100).publicKey(), "keys/admin-0.key")),
            1));
    Membership zero = Membership.initial(config);
    assertEquals(0, zero.epoch());
    assertEquals(1, zero.f());
    assertEquals(List.of(0, 1, 2, 3), zero.ids());
    assertEquals("127.0.0.1:7002", zero.member(2).address());
    assertArrayEquals(config.replica(3).publicKey(), zero.member(3).publicKey());
    assertNull(zero.administration().keys().get(0).keyFile(), "where a private key lies is no business of the group");
    assertArrayEquals(keys(100).publicKey(), zero.administration().keys().get(0).publicKey());
    assertTrue(Membership.initial(config.withAdministration(Administration.NONE)).administration().isNone());
  }

  // ---------------------------------------------------------------- the next epoch from an intent

  @Test
  void addingAMemberAppendsItAndBumpsTheEpoch() {
    Membership next = epoch3().nextAdding(member(4));
    assertEquals(4, next.epoch());
    assertEquals(List.of(0, 1, 2, 3, 4), next.ids());
    assertEquals(1, next.f());
    assertEquals(epoch3().administration(), next.administration());
  }

  @Test
  void addingAnIdOrAddressOrKeyThatIsTakenIsRefused() {
    assertContains(refused(() -> epoch3().nextAdding(new Member(2, "new", 7000, keys(50).publicKey()))),
        "replica 2 is already a member", "the next free one is 4");
    assertContains(refused(() -> epoch3().nextAdding(new Member(4, "replica2", 7000, keys(50).publicKey()))),
        "address replica2:7000 is also replica 2's");
    assertContains(refused(() -> epoch3().nextAdding(new Member(4, "new", 7000, keys(1).publicKey()))),
        "publicKey is also replica 1's");
    assertContains(refused(() -> epoch3().nextAdding(new Member(4, "new", 7000, keys(100).publicKey()))),
        "administration.keys[0]: publicKey is replica 4's key");
  }

  @Test
  void removingAMemberBelow3fPlus1IsRefusedUnlessFIsLoweredToo() {
    assertContains(refused(() -> epoch3().nextRemoving(3)),
        "epoch 4 would have 3 members after removing replica 3, fewer than 3f + 1 = 4 for f = 1",
        "lower f in the same change");
    Membership next = epoch3().change().remove(3).faults(0).build();
    assertEquals(List.of(0, 1, 2), next.ids());
    assertEquals(0, next.f());
    Membership five = epoch3().nextAdding(member(4));
    assertEquals(List.of(0, 2, 3, 4), five.nextRemoving(1).ids(), "ids may have gaps");
  }

  @Test
  void removingOrChangingAnUnknownIdIsRefused() {
    assertContains(refused(() -> epoch3().nextRemoving(7)),
        "cannot remove replica 7: it is not a member (members: [0, 1, 2, 3])");
    assertContains(refused(() -> epoch3().nextReplacing(7, "h", 1, keys(50).publicKey(), null)), "cannot replace");
    assertContains(refused(() -> epoch3().nextRotatingKey(7, keys(50).publicKey(), null)), "cannot rotate the key");
  }

  @Test
  void replacingKeepsTheIdAndPositionWithANewAddressAndKey() {
    Membership next = epoch3().nextReplacing(2, "spare", 7100, keys(50).publicKey(), null);
    assertEquals(List.of(0, 1, 2, 3), next.ids());
    assertEquals("spare:7100", next.member(2).address());
    assertArrayEquals(keys(50).publicKey(), next.member(2).publicKey());
    assertEquals(epoch3().member(1), next.member(1));
    assertContains(refused(() -> epoch3().nextReplacing(2, "spare", 7100, keys(2).publicKey(), null)),
        "replacing replica 2 needs a new key");
  }

  @Test
  void rotatingAKeyKeepsTheAddress() {
    Membership next = epoch3().nextRotatingKey(1, keys(51).publicKey(), null);
    assertEquals(epoch3().member(1).address(), next.member(1).address());
    assertArrayEquals(keys(51).publicKey(), next.member(1).publicKey());
    assertContains(refused(() -> epoch3().nextRotatingKey(1, keys(1).publicKey(), null)), "needs a new key");
    assertContains(refused(() -> epoch3().nextRotatingKey(1, keys(0).publicKey(), null)),
        "publicKey is also replica 0's");
  }

  @Test
  void raisingFNeedsTheMembersFirstOrInTheSameChange() {
    assertContains(refused(() -> epoch3().nextWithFaults(2)),
        "epoch 4 would have 4 members after setting f to 2, fewer than 3f + 1 = 7", "add members first");
    MembershipChange change = epoch3().change();
    for (int id = 4; id < 7; id++) {
      change.add(member(id));
    }
    Membership seven = change.faults(2).build();
    assertEquals(7, seven.n());
    assertEquals(2, seven.f());
    assertEquals(4, seven.epoch());
    assertEquals(1, seven.nextWithFaults(1).f());
    assertContains(refused(() -> epoch3().nextWithFaults(-1)), "f must not be negative");
  }

  @Test
  void theAdministrationCanChangeButNotToNone() {
    Membership next = epoch3().nextWithAdministration(admins(2, 3));
    assertEquals(admins(2, 3), next.administration());
    assertContains(refused(() -> epoch3().nextWithAdministration(Administration.NONE)),
        "the next epoch needs administration keys");
    assertContains(refused(() -> epoch3().nextWithAdministration(admins(4, 3))), "administration.threshold");
  }

  @Test
  void aChangeThatChangesNothingIsRefused() {
    assertContains(refused(() -> epoch3().nextWithFaults(1)), "the change leaves epoch 3 as it is");
  }

  @Test
  void aGroupWithoutAdministrationKeysCannotBeChanged() {
    Membership none = new Membership(0, members(4), 1, Administration.NONE);
    assertContains(refused(() -> none.nextAdding(member(4))), "epoch 0 has no administration keys");
  }

  @Test
  void nextFreeIdIsAboveEveryIdOfBothEpochs() {
    MembershipChange change = epoch3().change();
    assertEquals(4, change.nextFreeId());
    change.add(member(9));
    assertEquals(10, change.nextFreeId());
    change.remove(9).remove(3);
    assertEquals(4, change.nextFreeId(), "ids of the current epoch stay taken");
  }

  @Test
  void theDigestIsTheCanonicalBytesOfTheWholeMembership() {
    Membership m = epoch3();
    byte[] digest = m.digest();
    assertEquals(io.pbft.crypto.Digests.SIZE_BYTES, digest.length);
    assertArrayEquals(io.pbft.crypto.Digests.sha256(io.pbft.crypto.ReconfigurationSigning.membershipBytes(3,
        m.protoMembers(), 1, m.protoAdministration())), digest);
    assertArrayEquals(digest, new Membership(3, members(4), 1, admins(1, 2)).digest(), "a value: equal, equal digest");
    Administration withKeyFiles = new Administration(List.of(new AdministrationKey(keys(100).publicKey(), "keys/a.key"),
        new AdministrationKey(keys(101).publicKey(), "elsewhere/b.key")), 1);
    assertArrayEquals(digest, new Membership(3, members(4), 1, withKeyFiles).digest(), "key files are local");
    List<Membership> others = List.of(
        new Membership(4, members(4), 1, admins(1, 2)),
        new Membership(3, members(5), 1, admins(1, 2)),
        new Membership(3, members(4), 0, admins(1, 2)),
        new Membership(3, members(4), 1, admins(2, 2)),
        new Membership(3, members(4), 1, admins(1, 3)),
        new Membership(3, members(4), 1, Administration.NONE),
        m.nextRotatingKey(2, keys(9).publicKey(), null),
        new Membership(3, List.of(member(1), member(0), member(2), member(3)), 1, admins(1, 2)),
        new Membership(3, List.of(member(0), member(1), member(2), member(3).withAddress("replica3", 7001)), 1,
            admins(1, 2)));
    for (Membership other : others) {
      assertFalse(Arrays.equals(digest, other.digest()), "same digest as " + other);
    }
  }
}

package io.pbft.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.Administration;
import io.pbft.config.AdministrationKey;
import io.pbft.config.Member;
import io.pbft.config.Membership;
import io.pbft.config.Reconfigurations;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.proto.Reconfiguration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A client follows the group's changes from the chain a replica reports, checking every link
 * against the membership before it, so that no replica can make up a change.
 */
class MembershipFollowerTest {
  private static Ed25519Keys keys(int index) {
    byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
    Arrays.fill(secret, (byte) (index + 1));
    return Ed25519Keys.fromSecretKey(secret);
  }

  /** Replicas 0..3, f = 1, administration key 100. */
  private static Membership epoch0() {
    List<Member> members = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      members.add(new Member(i, "127.0.0.1", 7000 + i, keys(i).publicKey()));
    }
    return new Membership(0, members, 1, new Administration(List.of(new AdministrationKey(keys(100).publicKey())), 1));
  }

  /** Rotates {@code id}'s key to key {@code newKey}, signed by {@code admin}. */
  private static Reconfiguration rotation(Membership current, int id, int newKey, Ed25519Keys admin) {
    Reconfiguration unsigned = Reconfigurations.command(current,
        current.nextRotatingKey(id, keys(newKey).publicKey(), null), "rotate " + id);
    return ReconfigurationSigning.signed(unsigned, admin);
  }

  private static Membership next(Membership m, Reconfiguration c) {
    return Reconfigurations.validate(m, c).next();
  }

  /** The first change every test starts from: replica 2's key rotated to key 202 (epoch 0 to 1). */
  private static final Reconfiguration C1 = rotation(epoch0(), 2, 202, keys(100));
  private static final Membership E1 = next(epoch0(), C1);

  @Test
  void followsAChainOfChangesFromClusterYaml() {
    Reconfiguration c1 = C1;
    Reconfiguration c2 = rotation(E1, 0, 210, keys(100));
    MembershipFollower f = new MembershipFollower(epoch0());

    MembershipFollower.Followed got = f.follow(List.of(c1.toByteString(), c2.toByteString()));
    assertTrue(got.moved());
    assertNull(got.refusal());
    assertEquals(2, f.current().epoch());
    assertArrayEquals(keys(202).publicKey(), f.current().member(2).publicKey());
    assertArrayEquals(keys(210).publicKey(), f.current().member(0).publicKey());

    // a replica still in epoch 1 moves nothing back; the same chain again moves nothing
    assertFalse(f.follow(List.of(c1.toByteString())).moved());
    assertFalse(f.follow(List.of(c1.toByteString(), c2.toByteString())).moved());
    assertEquals(2, f.current().epoch());
  }

  @Test
  void aLinkThatDoesNotCheckStopsTheChainThereAndKeepsWhatChecked() {
    Reconfiguration c1 = C1;
    // signed by a key that administers nothing: a faulty replica's invention
    Reconfiguration forged = rotation(E1, 1, 666, keys(99));
    Reconfiguration c3Anyway = rotation(next(E1, rotation(E1, 1, 211, keys(100))), 3, 223, keys(100));
    MembershipFollower f = new MembershipFollower(epoch0());

    MembershipFollower.Followed got = f.follow(List.of(c1.toByteString(), forged.toByteString(),
        c3Anyway.toByteString()));
    assertEquals(1, got.membership().epoch(), "up to the link that checked");
    assertTrue(got.refusal().startsWith("the change to epoch 2 does not check"), got.refusal());
    assertArrayEquals(keys(1).publicKey(), f.current().member(1).publicKey(), "the forged key is not taken");

    MembershipFollower.Followed garbage = f.follow(List.of(c1.toByteString(), ByteString.copyFromUtf8("junk")));
    assertEquals("the command that began epoch 2 does not parse", garbage.refusal());
    assertEquals(1, f.current().epoch());
  }

  @Test
  void aChainThatSkipsAnEpochIsRefused() {
    Membership e0 = epoch0();
    Reconfiguration c2 = rotation(E1, 0, 210, keys(100));
    MembershipFollower f = new MembershipFollower(e0);
    MembershipFollower.Followed got = f.follow(List.of(c2.toByteString()));
    assertFalse(got.moved());
    assertSame(e0, f.current());
    assertEquals("entry 1 names epoch 2, not 1", got.refusal());
  }
}

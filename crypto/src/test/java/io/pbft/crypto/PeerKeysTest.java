package io.pbft.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.proto.PeerMac;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

class PeerKeysTest {
  private static final ByteString PAYLOAD = ByteString.copyFromUtf8("a commit for (view 0, n 7)");
  private final SecureRandom random = new SecureRandom();

  private PeerKeys keys(int id, long incarnation) {
    return PeerKeys.generate(id, 4, random, incarnation);
  }

  /**
   * Each learns the other's announcement and then the key ids the other holds, as their signed
   * heartbeats carry them.
   */
  private static void introduce(PeerKeys a, PeerKeys b) {
    assertTrue(a.learn(b.self(), b.publicKey(), b.incarnation()));
    assertTrue(b.learn(a.self(), a.publicKey(), a.incarnation()));
    assertTrue(a.confirm(b.self(), b.heldKeyIds().get(a.self())));
    assertTrue(b.confirm(a.self(), a.heldKeyIds().get(b.self())));
  }

  @Test
  void twoReplicasThatExchangedAnnouncementsCheckEachOthersMacsBothWays() {
    PeerKeys a = keys(0, 1);
    PeerKeys b = keys(1, 1);
    introduce(a, b);

    List<PeerMac> fromA = a.authenticator(PAYLOAD, new int[] {1});
    assertEquals(1, fromA.size());
    assertEquals(1, fromA.get(0).getReplicaId());
    assertEquals(PeerKeys.KEY_ID_BYTES, fromA.get(0).getKeyId().size());
    assertTrue(b.check(0, fromA, PAYLOAD));
    assertTrue(a.check(1, b.authenticator(PAYLOAD, new int[] {0}), PAYLOAD));
    // The two directions use different keys: a's MAC to b is no MAC from b to a.
    assertFalse(a.check(1, fromA.stream().map(e -> e.toBuilder().setReplicaId(0).build()).toList(), PAYLOAD));
  }

  @Test
  void aMacChecksOnlyForItsPayloadItsSenderAndItsReceiver() {
    PeerKeys a = keys(0, 1);
    PeerKeys b = keys(1, 1);
    PeerKeys c = keys(2, 1);
    introduce(a, b);
    introduce(a, c);
    introduce(b, c);

    List<PeerMac> toAll = a.authenticator(PAYLOAD, null);
    assertEquals(2, toAll.size(), "entries for the peers whose keys a holds, none for itself");
    assertTrue(b.check(0, toAll, PAYLOAD));
    assertTrue(c.check(0, toAll, PAYLOAD));
    assertFalse(b.check(0, toAll, PAYLOAD.concat(ByteString.copyFromUtf8("!"))), "another payload");
    assertFalse(b.check(2, toAll, PAYLOAD), "the same bytes claimed by another sender");
    // c holds a MAC key with b too, but not the one a shares with b: it cannot speak for a to b.
    List<PeerMac> forged = c.authenticator(PAYLOAD, new int[] {1});
    assertFalse(b.check(0, forged, PAYLOAD));
    List<PeerMac> flipped = List.of(toAll.get(0).toBuilder()
        .setMac(toAll.get(0).getMac().substring(1).concat(ByteString.copyFrom(new byte[] {1}))).build());
    assertFalse(b.check(0, flipped, PAYLOAD));
    assertFalse(b.check(0, List.of(), PAYLOAD), "no entry for b");
  }

  @Test
  void bothEndsDeriveTheSameKeyIdsAndNobodyElseMatchesThem() {
    PeerKeys a = keys(0, 1);
    PeerKeys b = keys(1, 1);
    introduce(a, b);
    PeerMac ab = a.authenticator(PAYLOAD, new int[] {1}).get(0);
    PeerMac ba = b.authenticator(PAYLOAD, new int[] {0}).get(0);
    assertNotEquals(ab.getKeyId(), ba.getKeyId());
    assertNotEquals(ab.getMac(), ba.getMac());
  }

  @Test
  void withoutAnAnnouncementThereIsNoKeyAndNothingChecks() {
    PeerKeys a = keys(0, 1);
    PeerKeys b = keys(1, 1);
    assertFalse(a.knows(1));
    assertTrue(a.authenticator(PAYLOAD, null).isEmpty());
    assertTrue(b.learn(0, a.publicKey(), a.incarnation()));
    // b holds the pair keys now, a does not yet: b's MACs cannot be checked by a.
    assertFalse(a.check(1, b.authenticator(PAYLOAD, new int[] {0}), PAYLOAD));
  }

  @Test
  void aRestartWithANewerIncarnationReplacesTheKeysAndReplaysOfOlderOnesChangeNothing() {
    PeerKeys a = keys(0, 100);
    PeerKeys b = keys(1, 100);
    introduce(a, b);
    ByteString oldKey = a.publicKey();
    long oldIncarnation = a.incarnation();

    PeerKeys restarted = keys(0, 200);
    ByteString heldByOldProcess = a.heldKeyIds().get(1);
    assertTrue(b.learn(0, restarted.publicKey(), restarted.incarnation()));
    assertFalse(b.confirmed(0), "a new key of the peer: not confirmed until it names ours");
    assertFalse(b.confirm(0, heldByOldProcess), "the old process's id names a key the new one does not hold");
    assertTrue(b.authenticator(PAYLOAD, new int[] {0}).isEmpty());
    assertTrue(restarted.learn(1, b.publicKey(), b.incarnation()));
    assertTrue(restarted.confirm(1, b.heldKeyIds().get(0)));
    assertTrue(b.confirm(0, restarted.heldKeyIds().get(1)));
    assertTrue(b.check(0, restarted.authenticator(PAYLOAD, new int[] {1}), PAYLOAD));
    assertFalse(b.check(0, a.authenticator(PAYLOAD, new int[] {1}), PAYLOAD), "the old process's keys are gone");

    assertFalse(b.learn(0, oldKey, oldIncarnation), "an older announcement, replayed");
    assertFalse(b.learn(0, a.publicKey(), restarted.incarnation()), "another key in the same incarnation");
    assertFalse(b.learn(0, restarted.publicKey(), restarted.incarnation()), "a repeat");
    assertTrue(b.check(0, restarted.authenticator(PAYLOAD, new int[] {1}), PAYLOAD));
  }

  @Test
  void renewingDerivesEveryPairKeyAgainFromTheKnownAnnouncements() {
    PeerKeys a = keys(0, 1);
    PeerKeys b = keys(1, 1);
    introduce(a, b);
    byte[] fresh = new byte[32];
    random.nextBytes(fresh);
    a.renew(fresh, 2);
    assertEquals(2, a.incarnation());
    assertFalse(a.confirmed(1), "b holds a's old key: a renewed key needs a new confirmation");
    assertTrue(a.authenticator(PAYLOAD, new int[] {1}).isEmpty());
    assertTrue(b.learn(0, a.publicKey(), a.incarnation()));
    assertTrue(a.confirm(1, b.heldKeyIds().get(0)));
    assertTrue(b.check(0, a.authenticator(PAYLOAD, new int[] {1}), PAYLOAD));
    assertThrows(IllegalArgumentException.class, () -> a.renew(fresh, 2));
  }

  @Test
  void malformedAnnouncementsAreIgnored() {
    PeerKeys a = keys(0, 1);
    assertFalse(a.learn(1, ByteString.copyFrom(new byte[31]), 1), "too short");
    assertFalse(a.learn(1, ByteString.copyFrom(new byte[32]), 1), "the all-zero (low-order) point");
    assertFalse(a.learn(0, keys(1, 1).publicKey(), 1), "itself");
    assertFalse(a.learn(4, keys(1, 1).publicKey(), 1), "no such replica");
    assertFalse(a.learn(-1, keys(1, 1).publicKey(), 1), "no such replica");
    assertFalse(a.knows(1));
  }

  @Test
  void aPeerIsMacedToOnlyOnceItNamedTheKeyThisReplicaMacsWith() {
    PeerKeys a = keys(0, 1);
    PeerKeys b = keys(1, 1);
    assertTrue(a.learn(1, b.publicKey(), b.incarnation()));
    assertTrue(a.knows(1));
    // b has not learned a's key yet (a's heartbeat is still on the way): a would MAC in vain
    assertFalse(a.confirmed(1));
    assertTrue(a.authenticator(PAYLOAD, null).isEmpty(), "no entry before b confirmed");
    assertEquals(ByteString.EMPTY, b.heldKeyIds().get(0), "b holds nothing for a");
    assertFalse(a.confirm(1, b.heldKeyIds().get(0)), "an empty id confirms nothing");
    assertEquals(ByteString.EMPTY, b.heldKeyIds().get(1), "nothing for itself");

    assertTrue(b.learn(0, a.publicKey(), a.incarnation()));
    assertFalse(a.confirm(1, ByteString.copyFrom(new byte[PeerKeys.KEY_ID_BYTES])), "another id");
    assertTrue(a.confirm(1, b.heldKeyIds().get(0)));
    assertFalse(a.confirm(1, b.heldKeyIds().get(0)), "already confirmed");
    List<PeerMac> fromA = a.authenticator(PAYLOAD, null);
    assertEquals(1, fromA.size());
    assertTrue(b.check(0, fromA, PAYLOAD), "what a MACs once confirmed checks at b");
    // a heartbeat b sent before it learned a's key, delivered late, does not undo the confirmation
    assertFalse(a.confirm(1, ByteString.EMPTY));
    assertTrue(a.confirmed(1));
    // b checks a's MACs already; a checks b's only once a names the key too
    assertFalse(b.confirmed(0));
    assertTrue(b.confirm(0, a.heldKeyIds().get(1)));
    assertTrue(a.check(1, b.authenticator(PAYLOAD, new int[] {0}), PAYLOAD));
  }
}

package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.commit;
import static io.pbft.replica.core.CoreFixture.digest;
import static io.pbft.replica.core.CoreFixture.prepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.ProtocolSettings;
import io.pbft.crypto.PeerKeys;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Rejection;
import io.pbft.replica.verify.RequestKeys;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedMessage;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Replica messages authenticated by MACs under pair keys ({@code authentication: macs}): which
 * kinds may come that way, and that an entry checks only under the key its sender and this
 * replica share.
 */
class PeerMacVerifierTest {
  private final CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());
  private final SecureRandom random = new SecureRandom();
  private final PeerKeys[] keys = new PeerKeys[4];
  private final ByteString d = digest(List.of(fx.request(0, 1, "a")));

  PeerMacVerifierTest() {
    for (int i = 0; i < 4; i++) {
      keys[i] = PeerKeys.generate(i, 4, random, 1);
    }
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 4; j++) {
        if (i != j) {
          keys[i].learn(j, keys[j].publicKey(), keys[j].incarnation());
        }
      }
    }
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 4; j++) {
        if (i != j) {
          keys[i].confirm(j, keys[j].heldKeyIds().get(i));
        }
      }
    }
  }

  private InboundVerifier verifierOf(int replica) {
    return new InboundVerifier(fx.config, replica, RequestKeys.NONE, keys[replica]);
  }

  private SignedMessage maced(int sender, ReplicaMessage m) {
    return SignedMessage.newBuilder().setSender(sender).setPayload(m.toByteString())
        .addAllAuthenticator(keys[sender].authenticator(m.toByteString(), null)).build();
  }

  @Test
  void aMacAuthenticatedCommitIsAcceptedByEveryReceiverAsItsSenders() {
    SignedMessage c = maced(2, commit(0, 1, d, 2));
    for (int r : new int[] {0, 1, 3}) {
      Verdict<VerifiedMessage> v = verifierOf(r).verify(c);
      assertTrue(v.isOk(), () -> "at " + r + ": " + v.describe());
      assertEquals(2, v.value().sender());
      assertTrue(v.value().message().hasCommit());
    }
  }

  @Test
  void aSignedCommitIsStillAccepted() {
    assertTrue(verifierOf(0).verify(fx.signed(2, commit(0, 1, d, 2))).isOk());
  }

  @Test
  void aMacOnAMessageThatMayTravelAsProofIsRefused() {
    // A CHECKPOINT goes into stable proofs, which VIEW-CHANGEs and state transfer show to third parties.
    ReplicaMessage checkpoint = ReplicaMessage.newBuilder().setCheckpoint(io.pbft.proto.Checkpoint.newBuilder()
        .setSequence(128).setStateDigest(d).setReplicaId(2)).build();
    Verdict<VerifiedMessage> v = verifierOf(0).verify(maced(2, checkpoint));
    assertEquals(Rejection.MAC_NOT_ALLOWED, v.reason());
  }

  @Test
  void aMacAuthenticatedPrepareIsAccepted() {
    // The MAC view change needs no signed PREPAREs: a replica's claim of what prepared replaces them.
    Verdict<VerifiedMessage> v = verifierOf(0).verify(maced(2, prepare(0, 1, d, 2)));
    assertTrue(v.isOk(), v::describe);
    assertTrue(v.value().message().hasPrepare());
  }

  @Test
  void aReplicaCannotMacInAnothersName() {
    // Replica 3 shares keys with 0, but not the one 2 and 0 share.
    ReplicaMessage m = commit(0, 1, d, 2);
    SignedMessage forged = SignedMessage.newBuilder().setSender(2).setPayload(m.toByteString())
        .addAllAuthenticator(keys[3].authenticator(m.toByteString(), null)).build();
    assertEquals(Rejection.BAD_PEER_MAC, verifierOf(0).verify(forged).reason());
  }

  @Test
  void aTamperedPayloadOrAMissingEntryIsRefused() {
    SignedMessage c = maced(2, commit(0, 1, d, 2));
    SignedMessage tampered = c.toBuilder().setPayload(commit(0, 2, d, 2).toByteString()).build();
    assertEquals(Rejection.BAD_PEER_MAC, verifierOf(0).verify(tampered).reason());
    ReplicaMessage m = commit(0, 1, d, 2);
    SignedMessage onlyFor1 = SignedMessage.newBuilder().setSender(2).setPayload(m.toByteString())
        .addAllAuthenticator(keys[2].authenticator(m.toByteString(), new int[] {1})).build();
    assertTrue(verifierOf(1).verify(onlyFor1).isOk());
    assertEquals(Rejection.BAD_PEER_MAC, verifierOf(0).verify(onlyFor1).reason());
  }

  @Test
  void aSignatureAndAnAuthenticatorTogetherAreMalformed() {
    SignedMessage both = maced(2, commit(0, 1, d, 2)).toBuilder()
        .setSignature(fx.signed(2, commit(0, 1, d, 2)).getSignature()).build();
    assertEquals(Rejection.MALFORMED, verifierOf(0).verify(both).reason());
  }

  @Test
  void moreEntriesThanReplicasAreRefusedBeforeAnyMacIsComputed() {
    SignedMessage c = maced(2, commit(0, 1, d, 2));
    SignedMessage stuffed = c.toBuilder().addAllAuthenticator(c.getAuthenticatorList())
        .addAllAuthenticator(c.getAuthenticatorList()).build();
    assertEquals(Rejection.TOO_MANY_ENTRIES, verifierOf(0).verify(stuffed).reason());
  }

  @Test
  void aVerifierWithoutPairKeysAcceptsNoMacs() {
    // authentication: signatures
    assertEquals(Rejection.BAD_PEER_MAC, new InboundVerifier(fx.config).verify(maced(2, commit(0, 1, d, 2))).reason());
  }

  @Test
  void onlyPreparesCommitsAndCatchUpClaimsMayComeWithMacs() {
    for (ReplicaMessage.BodyCase kind : ReplicaMessage.BodyCase.values()) {
      boolean allowed = kind == ReplicaMessage.BodyCase.PREPARE || kind == ReplicaMessage.BodyCase.COMMIT
          || kind == ReplicaMessage.BodyCase.COMMITTED;
      assertEquals(allowed, InboundVerifier.macAllowed(kind), kind.name());
    }
    assertFalse(InboundVerifier.macAllowed(ReplicaMessage.BodyCase.HEARTBEAT), "heartbeats carry the keys");
  }
}

package io.pbft.replica.core;

import static io.pbft.replica.core.CoreFixture.prePrepare;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.config.Authentication;
import io.pbft.config.ProtocolSettings;
import io.pbft.crypto.RequestMacs;
import io.pbft.crypto.SessionHandshake.SessionKey;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.RequestMac;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.verify.InboundVerifier;
import io.pbft.replica.verify.Rejection;
import io.pbft.replica.verify.Verdict;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Requests authenticated by MACs ({@code authentication: macs}): each replica checks its own entry. */
class InboundVerifierMacTest {
  private final CoreFixture fx = new CoreFixture(4, ProtocolSettings.defaults());
  private static final int SELF = 2;

  private static SessionKey key(int client, int replica) {
    byte[] k = new byte[32];
    k[0] = (byte) client;
    k[1] = (byte) replica;
    byte[] id = new byte[RequestMacs.KEY_ID_BYTES];
    id[0] = (byte) (client * 16 + replica);
    return new SessionKey(ByteString.copyFrom(id), k);
  }

  /** Replica SELF's verifier, knowing the keys of clients 0 and 1. */
  private final InboundVerifier verifier = new InboundVerifier(fx.config.withAuthentication(Authentication.MACS),
      SELF, (client, keyId) -> client <= 1 && key(client, SELF).keyId().equals(keyId) ? key(client, SELF).key() : null);

  /** A request of {@code client} with an authenticator entry for every replica. */
  private SignedRequest authenticated(int client, long t, String op) {
    ByteString bytes = fx.request(client, t, op).getRequest();
    SignedRequest.Builder b = SignedRequest.newBuilder().setRequest(bytes);
    for (int r = 0; r < 4; r++) {
      b.addAuthenticator(RequestMacs.entry(r, key(client, r), bytes));
    }
    return b.build();
  }

  private static SignedRequest spoil(SignedRequest r, int replica) {
    SignedRequest.Builder b = r.toBuilder().clearAuthenticator();
    for (RequestMac e : r.getAuthenticatorList()) {
      if (e.getReplicaId() == replica) {
        byte[] mac = e.getMac().toByteArray();
        mac[5] ^= 0x40;
        e = e.toBuilder().setMac(ByteString.copyFrom(mac)).build();
      }
      b.addAuthenticator(e);
    }
    return b.build();
  }

  @Test
  void requestWithAValidEntryForThisReplicaIsAuthenticated() {
    Verdict<VerifiedRequest> v = verifier.verify(authenticated(0, 1, "a"), 0);
    assertTrue(v.isOk(), v::describe);
    assertTrue(v.value().authenticated());
  }

  @Test
  void requestWhoseEntryForThisReplicaIsWrongIsRefused() {
    assertEquals(Rejection.BAD_CLIENT_MAC, verifier.verify(spoil(authenticated(0, 1, "a"), SELF), 0).reason());
  }

  @Test
  void aWrongEntryForAnotherReplicaIsNotThisReplicasConcern() {
    Verdict<VerifiedRequest> v = verifier.verify(spoil(authenticated(0, 1, "a"), 1), 0);
    assertTrue(v.isOk() && v.value().authenticated(), v::describe);
  }

  @Test
  void requestWithoutAnEntryOrWithAnUnknownKeyIsRefused() {
    SignedRequest none = fx.request(0, 1, "a"); // signed, but this cluster runs MACs
    assertEquals(Rejection.BAD_CLIENT_MAC, verifier.verify(none, 0).reason());
    SignedRequest other = authenticated(0, 1, "a");
    SignedRequest.Builder b = other.toBuilder().clearAuthenticator();
    for (RequestMac e : other.getAuthenticatorList()) {
      b.addAuthenticator(e.toBuilder().setKeyId(ByteString.copyFrom(new byte[RequestMacs.KEY_ID_BYTES])));
    }
    assertEquals(Rejection.BAD_CLIENT_MAC, verifier.verify(b.build(), 0).reason());
  }

  @Test
  void anotherClientsKeyDoesNotAuthenticate() {
    // Client 1 makes a request claiming to be client 0, with its own keys.
    ByteString bytes = fx.request(0, 1, "steal").getRequest();
    SignedRequest forged = SignedRequest.newBuilder().setRequest(bytes)
        .addAuthenticator(RequestMacs.entry(SELF, key(1, SELF), bytes)).build();
    assertEquals(Rejection.BAD_CLIENT_MAC, verifier.verify(forged, -1).reason());
  }

  /**
   * A replayer (client 1) re-sends a request of client 0 as captured, authenticator and all, on
   * its own session: the entries are valid under client 0's keys, which the replica finds by the
   * request's client id, so only the session check keeps the replay out. It does, before any MAC
   * is looked at: the replay never reaches the core and cannot pass for client 0's own send.
   */
  @Test
  void anotherClientsAuthenticRequestReplayedOnOnesOwnSessionIsRefused() {
    SignedRequest captured = authenticated(0, 1, "a");
    assertTrue(verifier.verify(captured, 0).isOk(), "valid on client 0's own session");
    Verdict<VerifiedRequest> replayed = verifier.verify(captured, 1);
    assertEquals(Rejection.WRONG_CLIENT, replayed.reason(), replayed::describe);
  }

  @Test
  void moreEntriesThanReplicasAreRefused() {
    SignedRequest r = authenticated(0, 1, "a");
    SignedRequest padded = r.toBuilder().addAllAuthenticator(r.getAuthenticatorList()).build();
    assertEquals(Rejection.TOO_MANY_ENTRIES, verifier.verify(padded, 0).reason());
  }

  @Test
  void insideAPrePrepareARequestThisReplicaCannotCheckIsCarriedUnauthenticated() {
    SignedRequest good = authenticated(0, 1, "a");
    SignedRequest bad = spoil(authenticated(1, 1, "b"), SELF);
    ReplicaMessage pp = prePrepare(0, 1, List.of(good, bad));
    Verdict<VerifiedMessage> v = verifier.verify(fx.signed(0, pp));
    assertTrue(v.isOk(), v::describe);
    assertTrue(v.value().requests().get(0).authenticated());
    assertFalse(v.value().requests().get(1).authenticated(),
        "the client may have lied to this replica alone: the core waits for f + 1 vouchers instead");
  }

  @Test
  void aForwardedRequestWhoseEntryForThisReplicaFailsPassesUnauthenticated() {
    ReplicaMessage fwd = ReplicaMessage.newBuilder().setForwardedRequest(
        io.pbft.proto.ForwardedRequest.newBuilder().setRequest(spoil(authenticated(0, 1, "a"), SELF))).build();
    Verdict<VerifiedMessage> v = verifier.verify(fx.signed(1, fwd));
    assertTrue(v.isOk(), v::describe);
    assertFalse(v.value().requests().get(0).authenticated(),
        "the client may have lied to this replica alone: the core orders it once f + 1 backups relayed it");
  }

  @Test
  void aForwardedRequestWithAValidEntryForThisReplicaIsAuthenticated() {
    ReplicaMessage fwd = ReplicaMessage.newBuilder().setForwardedRequest(
        io.pbft.proto.ForwardedRequest.newBuilder().setRequest(authenticated(0, 1, "a"))).build();
    Verdict<VerifiedMessage> v = verifier.verify(fx.signed(1, fwd));
    assertTrue(v.isOk(), v::describe);
    assertTrue(v.value().requests().get(0).authenticated());
  }
}

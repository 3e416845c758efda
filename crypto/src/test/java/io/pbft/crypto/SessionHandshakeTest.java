package io.pbft.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.proto.SessionAccept;
import io.pbft.proto.SessionOpen;
import io.pbft.proto.SignedSessionAccept;
import io.pbft.proto.SignedSessionOpen;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

class SessionHandshakeTest {
  private static final int CLIENT = 7;
  private static final int REPLICA = 2;

  private final SecureRandom rnd = new SecureRandom();
  private final Ed25519Keys clientKeys = Ed25519Keys.generate(rnd);
  private final Ed25519Keys replicaKeys = Ed25519Keys.generate(rnd);
  private final IntFunction<PublicKeyVerifier> knownClients =
      id -> id == CLIENT ? clientKeys.verifier() : null;

  @Test
  void bothSidesDeriveTheSameKey() throws HandshakeException {
    SessionHandshake.Client client = SessionHandshake.start(CLIENT, REPLICA, clientKeys, rnd);
    SessionHandshake.Accepted accepted =
        SessionHandshake.accept(client.open(), REPLICA, replicaKeys, knownClients, rnd);
    byte[] clientKey = client.finish(accepted.accept(), replicaKeys.verifier());

    assertEquals(CLIENT, accepted.clientId());
    assertEquals(32, clientKey.length);
    assertArrayEquals(accepted.macKey(), clientKey);
    // The key really works as a shared MAC key.
    byte[] reply = "reply".getBytes();
    assertTrue(new Mac(clientKey).verify(reply, new Mac(accepted.macKey()).compute(reply)));
  }

  @Test
  void everyHandshakeGivesAFreshKey() throws HandshakeException {
    SessionHandshake.Client first = SessionHandshake.start(CLIENT, REPLICA, clientKeys, rnd);
    byte[] k1 = first.finish(
        SessionHandshake.accept(first.open(), REPLICA, replicaKeys, knownClients, rnd).accept(),
        replicaKeys.verifier());
    // Replaying the very same open still gives a new key: the replica's ephemeral key is fresh.
    SessionHandshake.Accepted replayed =
        SessionHandshake.accept(first.open(), REPLICA, replicaKeys, knownClients, rnd);
    assertFalse(Arrays.equals(k1, replayed.macKey()));
  }

  @Test
  void openSignedByAnotherKeyIsRejected() {
    Ed25519Keys mallory = Ed25519Keys.generate(rnd);
    SignedSessionOpen forged = SessionHandshake.start(CLIENT, REPLICA, mallory, rnd).open();
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> SessionHandshake.accept(forged, REPLICA, replicaKeys, knownClients, rnd));
    assertTrue(e.getMessage().contains("invalid signature"), e.getMessage());
  }

  @Test
  void openWithTamperedBytesIsRejected() {
    SignedSessionOpen open = SessionHandshake.start(CLIENT, REPLICA, clientKeys, rnd).open();
    byte[] bytes = open.getOpen().toByteArray();
    bytes[bytes.length - 1] ^= 1; // inside the nonce: still parses, no longer signed
    SignedSessionOpen tampered = open.toBuilder().setOpen(ByteString.copyFrom(bytes)).build();
    assertThrows(HandshakeException.class,
        () -> SessionHandshake.accept(tampered, REPLICA, replicaKeys, knownClients, rnd));
  }

  @Test
  void openForAnotherReplicaIsRejected() {
    SignedSessionOpen open = SessionHandshake.start(CLIENT, REPLICA + 1, clientKeys, rnd).open();
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> SessionHandshake.accept(open, REPLICA, replicaKeys, knownClients, rnd));
    assertTrue(e.getMessage().contains("meant for replica 3"), e.getMessage());
  }

  @Test
  void openFromUnknownClientIsRejected() {
    Ed25519Keys stranger = Ed25519Keys.generate(rnd);
    SignedSessionOpen open = SessionHandshake.start(99, REPLICA, stranger, rnd).open();
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> SessionHandshake.accept(open, REPLICA, replicaKeys, knownClients, rnd));
    assertTrue(e.getMessage().contains("unknown client 99"), e.getMessage());
  }

  @Test
  void malformedOpenIsRejected() {
    SignedSessionOpen garbage = SignedSessionOpen.newBuilder()
        .setOpen(ByteString.copyFrom(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}))
        .setSignature(ByteString.copyFrom(new byte[64]))
        .build();
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> SessionHandshake.accept(garbage, REPLICA, replicaKeys, knownClients, rnd));
    assertTrue(e.getMessage().contains("not a valid SessionOpen"), e.getMessage());
  }

  @Test
  void signedOpenWithShortEphemeralKeyIsRejected() {
    byte[] open = SessionOpen.newBuilder()
        .setClientId(CLIENT)
        .setReplicaId(REPLICA)
        .setEphemeralKey(ByteString.copyFrom(new byte[31]))
        .setNonce(ByteString.copyFrom(new byte[SessionHandshake.NONCE_BYTES]))
        .build().toByteArray();
    SignedSessionOpen signed = SignedSessionOpen.newBuilder()
        .setOpen(ByteString.copyFrom(open))
        .setSignature(ByteString.copyFrom(clientKeys.sign(open)))
        .build();
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> SessionHandshake.accept(signed, REPLICA, replicaKeys, knownClients, rnd));
    assertTrue(e.getMessage().contains("ephemeral key must be 32 bytes"), e.getMessage());
  }

  @Test
  void tamperedAcceptIsRejected() throws HandshakeException {
    SessionHandshake.Client client = SessionHandshake.start(CLIENT, REPLICA, clientKeys, rnd);
    SignedSessionAccept accept =
        SessionHandshake.accept(client.open(), REPLICA, replicaKeys, knownClients, rnd).accept();
    byte[] bytes = accept.getAccept().toByteArray();
    bytes[bytes.length - 1] ^= 1;
    SignedSessionAccept tampered = accept.toBuilder().setAccept(ByteString.copyFrom(bytes)).build();
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> client.finish(tampered, replicaKeys.verifier()));
    assertTrue(e.getMessage().contains("invalid signature"), e.getMessage());
  }

  @Test
  void acceptSignedByAnotherReplicaIsRejected() throws HandshakeException {
    SessionHandshake.Client client = SessionHandshake.start(CLIENT, REPLICA, clientKeys, rnd);
    Ed25519Keys impostor = Ed25519Keys.generate(rnd);
    SignedSessionAccept accept =
        SessionHandshake.accept(client.open(), REPLICA, impostor, knownClients, rnd).accept();
    assertThrows(HandshakeException.class, () -> client.finish(accept, replicaKeys.verifier()));
  }

  @Test
  void acceptForADifferentOpenIsRejected() throws HandshakeException {
    SessionHandshake.Client first = SessionHandshake.start(CLIENT, REPLICA, clientKeys, rnd);
    SessionHandshake.Client second = SessionHandshake.start(CLIENT, REPLICA, clientKeys, rnd);
    SignedSessionAccept acceptOfFirst =
        SessionHandshake.accept(first.open(), REPLICA, replicaKeys, knownClients, rnd).accept();
    HandshakeException e = assertThrows(HandshakeException.class,
        () -> second.finish(acceptOfFirst, replicaKeys.verifier()));
    assertTrue(e.getMessage().contains("different session open"), e.getMessage());
  }

  @Test
  void acceptNamingAnotherReplicaOrClientIsRejected() throws HandshakeException {
    SessionHandshake.Client client = SessionHandshake.start(CLIENT, REPLICA, clientKeys, rnd);
    byte[] digest = Digests.sha256(client.open().getOpen().toByteArray());
    byte[] ephemeral = new SessionKeys(rnd).publicKey();

    SignedSessionAccept wrongReplica = signedAccept(SessionAccept.newBuilder()
        .setReplicaId(REPLICA + 1).setClientId(CLIENT)
        .setEphemeralKey(ByteString.copyFrom(ephemeral)).setOpenDigest(ByteString.copyFrom(digest)).build());
    HandshakeException e1 = assertThrows(HandshakeException.class,
        () -> client.finish(wrongReplica, replicaKeys.verifier()));
    assertTrue(e1.getMessage().contains("names replica 3"), e1.getMessage());

    SignedSessionAccept wrongClient = signedAccept(SessionAccept.newBuilder()
        .setReplicaId(REPLICA).setClientId(CLIENT + 1)
        .setEphemeralKey(ByteString.copyFrom(ephemeral)).setOpenDigest(ByteString.copyFrom(digest)).build());
    HandshakeException e2 = assertThrows(HandshakeException.class,
        () -> client.finish(wrongClient, replicaKeys.verifier()));
    assertTrue(e2.getMessage().contains("for client 8"), e2.getMessage());

    SignedSessionAccept lowOrderKey = signedAccept(SessionAccept.newBuilder()
        .setReplicaId(REPLICA).setClientId(CLIENT)
        .setEphemeralKey(ByteString.copyFrom(new byte[32])).setOpenDigest(ByteString.copyFrom(digest)).build());
    HandshakeException e3 = assertThrows(HandshakeException.class,
        () -> client.finish(lowOrderKey, replicaKeys.verifier()));
    assertTrue(e3.getMessage().contains("unusable"), e3.getMessage());
  }

  private SignedSessionAccept signedAccept(SessionAccept accept) {
    byte[] bytes = accept.toByteArray();
    return SignedSessionAccept.newBuilder()
        .setAccept(ByteString.copyFrom(bytes))
        .setSignature(ByteString.copyFrom(replicaKeys.sign(bytes)))
        .build();
  }
}

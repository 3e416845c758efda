package io.pbft.crypto;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.SessionAccept;
import io.pbft.proto.SessionOpen;
import io.pbft.proto.SignedSessionAccept;
import io.pbft.proto.SignedSessionOpen;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.function.IntFunction;

/**
 * The signed ephemeral X25519 handshake that gives one client and one replica a shared key for
 * authenticating replies (HMAC-SHA256, see {@link Mac}).
 *
 * <pre>
 *   client  -> replica: SignedSessionOpen   {client_id, replica_id, eph_c, nonce}  signed by the client
 *   replica -> client:  SignedSessionAccept {replica_id, client_id, eph_r, SHA-256(open)} signed by the replica
 *   transcript  = SHA-256(open bytes || accept bytes)
 *   reply key   = HKDF(X25519(eph, eph_peer), salt = transcript, "pbft reply mac v1")
 *   request key = HKDF(X25519(eph, eph_peer), salt = transcript, "pbft request mac v1")
 *   key id      = the first 8 bytes of transcript
 * </pre>
 *
 * The reply key authenticates the replica's replies to the client; the request key, named by
 * the key id, authenticates the client's requests to this replica (one entry of a request's
 * authenticator, see {@link RequestMacs}).
 *
 * Both long-term signatures cover the ephemeral keys, so nobody else can sit in the middle; the
 * replica id inside the open stops a captured open from being replayed to another replica; the
 * digest inside the accept binds the answer to this open and no other; fresh ephemeral keys on
 * both sides make every session key new even if an open is replayed to the same replica.
 */
public final class SessionHandshake {
  public static final int NONCE_BYTES = 16;

  private SessionHandshake() {}

  /** Replica side result: who the client is, what to send back, and the session MAC key. */
  public record Accepted(int clientId, SignedSessionAccept accept, byte[] macKey, SessionKey requestKey) {}

  /** A session's request key and the id that names it in an authenticator entry. */
  public record SessionKey(ByteString keyId, byte[] key) {}

  /** Client side: builds and signs a fresh open for {@code replicaId}. */
  public static Client start(int clientId, int replicaId, Ed25519Keys clientKeys, SecureRandom rnd) {
    SessionKeys ephemeral = new SessionKeys(rnd);
    byte[] nonce = new byte[NONCE_BYTES];
    rnd.nextBytes(nonce);
    byte[] open = SessionOpen.newBuilder()
        .setClientId(clientId)
        .setReplicaId(replicaId)
        .setEphemeralKey(ByteString.copyFrom(ephemeral.publicKey()))
        .setNonce(ByteString.copyFrom(nonce))
        .build()
        .toByteArray();
    SignedSessionOpen signed = SignedSessionOpen.newBuilder()
        .setOpen(ByteString.copyFrom(open))
        .setSignature(ByteString.copyFrom(clientKeys.sign(open)))
        .build();
    return new Client(clientId, replicaId, ephemeral, signed);
  }

  /**
   * Replica side: checks a client's open and answers it.
   *
   * @param clientVerifierOrNull the verifier of a client id, or null if the client is unknown
   * @throws HandshakeException if the open is malformed, meant for another replica, from an
   *     unknown client, badly signed, or carries an unusable ephemeral key
   */
  public static Accepted accept(SignedSessionOpen open, int replicaId, Ed25519Keys replicaKeys,
      IntFunction<? extends SignatureCheck> clientVerifierOrNull, SecureRandom rnd) throws HandshakeException {
    byte[] openBytes = open.getOpen().toByteArray();
    SessionOpen body;
    try {
      body = SessionOpen.parseFrom(openBytes);
    } catch (InvalidProtocolBufferException e) {
      throw new HandshakeException("session open is not a valid SessionOpen message: " + e.getMessage(), e);
    }
    int clientId = body.getClientId();
    if (body.getReplicaId() != replicaId) {
      throw new HandshakeException("session open from client " + Integer.toUnsignedString(clientId)
          + " is meant for replica " + Integer.toUnsignedString(body.getReplicaId())
          + ", not this replica " + replicaId);
    }
    SignatureCheck clientVerifier = clientVerifierOrNull.apply(clientId);
    if (clientVerifier == null) {
      throw new HandshakeException("session open from unknown client " + Integer.toUnsignedString(clientId));
    }
    if (!clientVerifier.verify(openBytes, open.getSignature().toByteArray())) {
      throw new HandshakeException("session open claiming to be from client "
          + Integer.toUnsignedString(clientId) + " has an invalid signature");
    }
    byte[] clientEphemeral = body.getEphemeralKey().toByteArray();
    checkLength("client " + Integer.toUnsignedString(clientId) + " ephemeral key", clientEphemeral,
        SessionKeys.KEY_BYTES);
    checkLength("client " + Integer.toUnsignedString(clientId) + " nonce", body.getNonce().toByteArray(),
        NONCE_BYTES);

    SessionKeys ephemeral = new SessionKeys(rnd);
    byte[] acceptBytes = SessionAccept.newBuilder()
        .setReplicaId(replicaId)
        .setClientId(clientId)
        .setEphemeralKey(ByteString.copyFrom(ephemeral.publicKey()))
        .setOpenDigest(ByteString.copyFrom(Digests.sha256(openBytes)))
        .build()
        .toByteArray();
    byte[] transcript = transcript(openBytes, acceptBytes);
    String peer = "client " + Integer.toUnsignedString(clientId);
    byte[] macKey = derive(ephemeral, clientEphemeral, transcript, SessionKeysInfo.REPLY, peer);
    SessionKey requestKey = new SessionKey(keyId(transcript),
        derive(ephemeral, clientEphemeral, transcript, SessionKeysInfo.REQUEST, peer));
    SignedSessionAccept signed = SignedSessionAccept.newBuilder()
        .setAccept(ByteString.copyFrom(acceptBytes))
        .setSignature(ByteString.copyFrom(replicaKeys.sign(acceptBytes)))
        .build();
    return new Accepted(clientId, signed, macKey, requestKey);
  }

  /** The client's half of one handshake with one replica. Use it for one accept only. */
  public static final class Client {
    private final int clientId;
    private final int replicaId;
    private final SessionKeys ephemeral;
    private final SignedSessionOpen open;
    private final byte[] openBytes;
    private SessionKey requestKey;

    private Client(int clientId, int replicaId, SessionKeys ephemeral, SignedSessionOpen open) {
      this.clientId = clientId;
      this.replicaId = replicaId;
      this.ephemeral = ephemeral;
      this.open = open;
      this.openBytes = open.getOpen().toByteArray();
    }

    /** The signed open to send to the replica. */
    public SignedSessionOpen open() {
      return open;
    }

    public int clientId() {
      return clientId;
    }

    public int replicaId() {
      return replicaId;
    }

    /** The request key of the session, once {@link #finish} has succeeded; null before. */
    public SessionKey requestKey() {
      return requestKey;
    }

    /**
     * Checks the replica's accept and derives the session MAC key (32 bytes).
     *
     * @throws HandshakeException if the accept is badly signed, malformed, addressed to someone
     *     else, answers a different open, or carries an unusable ephemeral key
     */
    public byte[] finish(SignedSessionAccept accept, SignatureCheck replicaVerifier) throws HandshakeException {
      byte[] acceptBytes = accept.getAccept().toByteArray();
      // Signature first: nothing in an unauthenticated accept is worth looking at.
      if (!replicaVerifier.verify(acceptBytes, accept.getSignature().toByteArray())) {
        throw new HandshakeException("session accept claiming to be from replica " + replicaId
            + " has an invalid signature");
      }
      SessionAccept body;
      try {
        body = SessionAccept.parseFrom(acceptBytes);
      } catch (InvalidProtocolBufferException e) {
        throw new HandshakeException("session accept from replica " + replicaId
            + " is not a valid SessionAccept message: " + e.getMessage(), e);
      }
      if (body.getReplicaId() != replicaId) {
        throw new HandshakeException("session accept names replica " + Integer.toUnsignedString(body.getReplicaId())
            + " but the handshake is with replica " + replicaId);
      }
      if (body.getClientId() != clientId) {
        throw new HandshakeException("session accept from replica " + replicaId + " is for client "
            + Integer.toUnsignedString(body.getClientId()) + ", not client " + Integer.toUnsignedString(clientId));
      }
      if (!MessageDigest.isEqual(body.getOpenDigest().toByteArray(), Digests.sha256(openBytes))) {
        throw new HandshakeException("session accept from replica " + replicaId
            + " answers a different session open (open digest mismatch)");
      }
      byte[] replicaEphemeral = body.getEphemeralKey().toByteArray();
      checkLength("replica " + replicaId + " ephemeral key", replicaEphemeral, SessionKeys.KEY_BYTES);
      byte[] transcript = transcript(openBytes, acceptBytes);
      String peer = "replica " + replicaId;
      byte[] replyKey = derive(ephemeral, replicaEphemeral, transcript, SessionKeysInfo.REPLY, peer);
      requestKey = new SessionKey(keyId(transcript),
          derive(ephemeral, replicaEphemeral, transcript, SessionKeysInfo.REQUEST, peer));
      return replyKey;
    }
  }

  private enum SessionKeysInfo { REPLY, REQUEST }

  private static byte[] transcript(byte[] openBytes, byte[] acceptBytes) {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
    md.update(openBytes);
    md.update(acceptBytes);
    return md.digest();
  }

  private static ByteString keyId(byte[] transcript) {
    return ByteString.copyFrom(transcript, 0, RequestMacs.KEY_ID_BYTES);
  }

  private static byte[] derive(SessionKeys own, byte[] peerEphemeral, byte[] transcript, SessionKeysInfo purpose,
      String peer) throws HandshakeException {
    try {
      return purpose == SessionKeysInfo.REPLY ? own.deriveMacKey(peerEphemeral, transcript)
          : own.deriveKey(peerEphemeral, transcript, SessionKeys.REQUEST_INFO);
    } catch (IllegalArgumentException e) {
      throw new HandshakeException(peer + " ephemeral key is unusable: " + e.getMessage(), e);
    }
  }

  private static void checkLength(String what, byte[] value, int expected) throws HandshakeException {
    if (value.length != expected) {
      throw new HandshakeException(what + " must be " + expected + " bytes, got " + value.length);
    }
  }
}

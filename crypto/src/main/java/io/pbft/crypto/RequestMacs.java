package io.pbft.crypto;

import com.google.protobuf.ByteString;
import io.pbft.proto.RequestMac;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import javax.crypto.spec.SecretKeySpec;

/**
 * Authenticators of client requests (Castro and Liskov, TOCS 2002, section 3.2): one
 * HMAC-SHA256 of the serialized request per replica, each under the request key of the client's
 * session with that replica ({@link SessionHandshake}). A replica checks only its own entry, so
 * checking a request costs one HMAC instead of one Ed25519 verification. Thread-safe (one
 * {@code javax.crypto.Mac} per thread).
 */
public final class RequestMacs {
  /** Length of a key id: the first bytes of the session's handshake transcript digest. */
  public static final int KEY_ID_BYTES = 8;

  private static final ThreadLocal<javax.crypto.Mac> HMAC = ThreadLocal.withInitial(() -> {
    try {
      return javax.crypto.Mac.getInstance("HmacSHA256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("HmacSHA256 is required by every Java platform", e);
    }
  });

  private RequestMacs() {}

  /** HMAC-SHA256 of {@code request} under {@code key}. */
  public static byte[] mac(byte[] key, ByteString request) {
    javax.crypto.Mac hmac = HMAC.get();
    try {
      hmac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (InvalidKeyException e) {
      throw new IllegalArgumentException("unusable request key: " + e.getMessage(), e);
    }
    hmac.update(request.asReadOnlyByteBuffer());
    return hmac.doFinal();
  }

  /** The authenticator entry for {@code replicaId} under {@code key}. */
  public static RequestMac entry(int replicaId, SessionHandshake.SessionKey key, ByteString request) {
    return RequestMac.newBuilder().setReplicaId(replicaId).setKeyId(key.keyId())
        .setMac(ByteString.copyFrom(mac(key.key(), request))).build();
  }

  /** Whether {@code tag} is the MAC of {@code request} under {@code key} (constant time). */
  public static boolean verify(byte[] key, ByteString request, ByteString tag) {
    return tag.size() == Mac.SIZE_BYTES && MessageDigest.isEqual(mac(key, request), tag.toByteArray());
  }
}

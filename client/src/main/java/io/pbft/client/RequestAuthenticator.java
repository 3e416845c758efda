package io.pbft.client;

import com.google.protobuf.ByteString;
import io.pbft.crypto.RequestMacs;
import io.pbft.crypto.SessionHandshake.SessionKey;
import io.pbft.proto.RequestMac;
import io.pbft.proto.SignedRequest;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One client's authenticators ({@code authentication: macs}): the request key of each replica
 * session that is up, and requests MACed under all of them. Sessions publish their key when they
 * come up and withdraw it when they break; every send takes the authenticator for the keys known
 * at that moment, so a request queued while sessions were still opening leaves with an entry for
 * every replica up by then. Lock-free, so sessions can use it under their own locks.
 */
final class RequestAuthenticator {
  private final AtomicReferenceArray<SessionKey> keys;

  RequestAuthenticator(int replicas) {
    keys = new AtomicReferenceArray<>(replicas);
  }

  void up(int replica, SessionKey key) {
    keys.set(replica, key);
  }

  void down(int replica) {
    keys.set(replica, null);
  }

  /** A fresh authenticator of {@code request}: an entry for every replica with a key. */
  SignedRequest authenticate(ByteString request) {
    SignedRequest.Builder b = SignedRequest.newBuilder().setRequest(request);
    for (int r = 0; r < keys.length(); r++) {
      SessionKey key = keys.get(r);
      if (key != null) {
        b.addAuthenticator(RequestMacs.entry(r, key, request));
      }
    }
    return b.build();
  }

  /** {@code r} if it has an entry under every key known now (and no other), else re-authenticated. */
  SignedRequest current(SignedRequest r) {
    int known = 0;
    for (int i = 0; i < keys.length(); i++) {
      SessionKey key = keys.get(i);
      if (key == null) {
        continue;
      }
      known++;
      if (!hasEntry(r, i, key.keyId())) {
        return authenticate(r.getRequest());
      }
    }
    return known == r.getAuthenticatorCount() ? r : authenticate(r.getRequest());
  }

  private static boolean hasEntry(SignedRequest r, int replica, ByteString keyId) {
    for (RequestMac e : r.getAuthenticatorList()) {
      if (e.getReplicaId() == replica && e.getKeyId().equals(keyId)) {
        return true;
      }
    }
    return false;
  }
}

package io.pbft.replica.verify;

import com.google.protobuf.ByteString;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Signatures found valid, so that each is verified once: the same signed PREPAREs travel in many
 * VIEW-CHANGEs and NEW-VIEWs, a VIEW-CHANGE is repeated every heartbeat, and a client request is
 * checked when it arrives and again inside the pre-prepare that orders it. Keyed by a SHA-256 of
 * signer, message and signature (a hit means exactly these bytes were verified), bounded, and
 * safe to share between the verification threads.
 */
final class SignatureCache {
  private final int entriesMax;
  private final Map<ByteString, Boolean> valid;
  private long hits;

  SignatureCache(int entriesMax) {
    this.entriesMax = entriesMax;
    this.valid = new LinkedHashMap<>(1024, 0.75f, false) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<ByteString, Boolean> eldest) {
        return size() > SignatureCache.this.entriesMax;
      }
    };
  }

  /** {@code kind} separates replica and client signers that share an id. */
  static ByteString key(int kind, int signer, ByteString payload, ByteString signature) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update((byte) kind);
      md.update(new byte[] {(byte) (signer >>> 24), (byte) (signer >>> 16), (byte) (signer >>> 8), (byte) signer});
      md.update(payload.asReadOnlyByteBuffer());
      md.update(signature.asReadOnlyByteBuffer());
      return ByteString.copyFrom(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  synchronized boolean known(ByteString key) {
    boolean known = valid.containsKey(key);
    if (known) {
      hits++;
    }
    return known;
  }

  /** As {@link #known}, without counting a hit: a look before deciding what to verify. */
  synchronized boolean peek(ByteString key) {
    return valid.containsKey(key);
  }

  synchronized void remember(ByteString key) {
    valid.put(key, Boolean.TRUE);
  }

  synchronized long hits() {
    return hits;
  }
}

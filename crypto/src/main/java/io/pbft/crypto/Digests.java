package io.pbft.crypto;

import io.pbft.proto.SignedRequest;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** SHA-256 digests of requests, batches and anything else the protocol names by hash. */
public final class Digests {
  public static final int SIZE_BYTES = 32;
  private static final HexFormat HEX = HexFormat.of();
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(Digests::newSha256);

  private Digests() {}

  /** A fresh SHA-256 instance (for digests built up from several parts). */
  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  /** {@code v} as 8 big-endian bytes, as digests of numbers take it. */
  public static byte[] bigEndian(long v) {
    byte[] b = new byte[8];
    for (int i = 7; i >= 0; i--) {
      b[i] = (byte) v;
      v >>>= 8;
    }
    return b;
  }

  public static byte[] sha256(byte[] data) {
    MessageDigest md = SHA256.get();
    md.reset();
    return md.digest(data);
  }

  /** The digest of a client request: SHA-256 of its serialized {@code Request} bytes. */
  public static byte[] requestDigest(SignedRequest request) {
    return sha256(request.getRequest().toByteArray());
  }

  /** The digest of a batch: SHA-256 over the concatenated digests of its requests, in order. */
  public static byte[] batchDigest(List<SignedRequest> requests) {
    // The request digests are computed first: requestDigest() uses the same thread-local
    // MessageDigest, so interleaving it with the batch hash would reset the batch hash.
    List<byte[]> requestDigests = new ArrayList<>(requests.size());
    for (SignedRequest request : requests) {
      requestDigests.add(requestDigest(request));
    }
    return batchDigestOf(requestDigests);
  }

  /**
   * The digest a PRE-PREPARE names: over its requests and the time the primary proposed. With
   * time 0 (a null batch, or no time) it is {@link #batchDigest(List)}; otherwise SHA-256 over
   * the request digests in order followed by the time as 8 bytes, big-endian. The two inputs
   * cannot be confused: one is a multiple of 32 bytes long, the other is not.
   */
  public static byte[] batchDigest(List<SignedRequest> requests, long timeMs) {
    List<byte[]> requestDigests = new ArrayList<>(requests.size());
    for (SignedRequest request : requests) {
      requestDigests.add(requestDigest(request));
    }
    return batchDigestOf(requestDigests, timeMs);
  }

  /**
   * The digest of a batch at a handover checkpoint that names the view its primary proposed it in
   * ({@code Batch.proposed_view}): with view 0 it is {@link #batchDigest(List, long)}; otherwise
   * SHA-256 over the request digests, the time and the view, each 8 bytes big-endian (its input is
   * 16 bytes beyond a multiple of 32, so it cannot be confused with the other two).
   */
  public static byte[] batchDigest(List<SignedRequest> requests, long timeMs, long proposedView) {
    if (proposedView == 0) {
      return batchDigest(requests, timeMs);
    }
    List<byte[]> requestDigests = new ArrayList<>(requests.size());
    for (SignedRequest request : requests) {
      requestDigests.add(requestDigest(request));
    }
    MessageDigest md = SHA256.get();
    md.reset();
    for (byte[] d : requestDigests) {
      md.update(d);
    }
    md.update(bigEndian(timeMs));
    md.update(bigEndian(proposedView));
    return md.digest();
  }

  /** Same as {@link #batchDigest(List, long)} when the request digests are already known. */
  public static byte[] batchDigestOf(List<byte[]> requestDigests, long timeMs) {
    if (timeMs == 0) {
      return batchDigestOf(requestDigests);
    }
    MessageDigest md = SHA256.get();
    md.reset();
    for (byte[] d : requestDigests) {
      md.update(d);
    }
    byte[] time = new byte[8];
    for (int i = 7; i >= 0; i--) {
      time[i] = (byte) timeMs;
      timeMs >>>= 8;
    }
    md.update(time);
    return md.digest();
  }

  /** Same as {@link #batchDigest(List)} when the request digests are already known. */
  public static byte[] batchDigestOf(List<byte[]> requestDigests) {
    MessageDigest md = SHA256.get();
    md.reset();
    for (byte[] d : requestDigests) {
      md.update(d);
    }
    return md.digest();
  }

  public static String hex(byte[] bytes) {
    return HEX.formatHex(bytes);
  }

  public static byte[] fromHex(String hex) {
    return HEX.parseHex(hex);
  }
}

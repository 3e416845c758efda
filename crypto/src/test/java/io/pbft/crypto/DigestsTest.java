package io.pbft.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class DigestsTest {

  private static SignedRequest request(int client, long timestamp, String op) {
    Request r = Request.newBuilder().setClientId(client).setTimestamp(timestamp)
        .setOperation(ByteString.copyFromUtf8(op)).build();
    return SignedRequest.newBuilder().setRequest(r.toByteString())
        .setSignature(ByteString.copyFrom(new byte[64])).build();
  }

  @Test
  void sha256MatchesTheFips180Vector() {
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        Digests.hex(Digests.sha256("abc".getBytes(StandardCharsets.US_ASCII))));
  }

  @Test
  void requestDigestCoversOnlyTheSignedRequestBytes() {
    SignedRequest r = request(1, 1, "put x");
    assertArrayEquals(Digests.sha256(r.getRequest().toByteArray()), Digests.requestDigest(r));
    SignedRequest resigned = r.toBuilder().setSignature(ByteString.copyFrom(new byte[] {1})).build();
    assertArrayEquals(Digests.requestDigest(r), Digests.requestDigest(resigned));
  }

  @Test
  void batchDigestIsOrderSensitive() {
    SignedRequest a = request(1, 1, "a");
    SignedRequest b = request(2, 1, "b");
    assertFalse(Arrays.equals(Digests.batchDigest(List.of(a, b)), Digests.batchDigest(List.of(b, a))));
  }

  @Test
  void batchDigestIsSha256OverTheConcatenatedRequestDigests() {
    SignedRequest a = request(1, 1, "a");
    SignedRequest b = request(2, 1, "b");
    byte[] concatenated = new byte[64];
    System.arraycopy(Digests.requestDigest(a), 0, concatenated, 0, 32);
    System.arraycopy(Digests.requestDigest(b), 0, concatenated, 32, 32);
    assertArrayEquals(Digests.sha256(concatenated), Digests.batchDigest(List.of(a, b)));
    assertArrayEquals(Digests.batchDigest(List.of(a, b)),
        Digests.batchDigestOf(List.of(Digests.requestDigest(a), Digests.requestDigest(b))));
  }

  @Test
  void batchDigestDistinguishesDuplicatesAndTheEmptyBatch() {
    SignedRequest a = request(1, 1, "a");
    assertFalse(Arrays.equals(Digests.batchDigest(List.of(a)), Digests.batchDigest(List.of(a, a))));
    assertArrayEquals(Digests.sha256(new byte[0]), Digests.batchDigest(List.of()));
  }

  @Test
  void digestsAreThirtyTwoBytes() {
    assertEquals(Digests.SIZE_BYTES, Digests.sha256(new byte[100]).length);
    assertEquals(Digests.SIZE_BYTES, Digests.batchDigest(List.of(request(1, 1, "a"))).length);
  }

  @Test
  void hexRoundTripsAndRejectsNonHex() {
    byte[] bytes = {0, 1, (byte) 0xab, (byte) 0xff};
    assertEquals("0001abff", Digests.hex(bytes));
    assertArrayEquals(bytes, Digests.fromHex("0001abff"));
    assertArrayEquals(bytes, Digests.fromHex("0001ABFF"));
    assertThrows(IllegalArgumentException.class, () -> Digests.fromHex("zz"));
    assertThrows(IllegalArgumentException.class, () -> Digests.fromHex("abc"));
  }
}

package io.pbft.chaos.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.crypto.SignatureCheck;
import io.pbft.crypto.Signer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class FastSignaturesTest {
  private final ClusterKeys keys = ClusterKeys.draw(new Random(5), 4, 2);
  private final Function<byte[], SignatureCheck> checks = FastSignatures.checks(keys.all());
  private final byte[] message = "pre-prepare v=0 n=1".getBytes(StandardCharsets.US_ASCII);

  @Test
  void aSignatureChecksForItsSignerAndContentOnly() {
    Signer replica1 = FastSignatures.signer(keys.replicas().get(1));
    byte[] signature = replica1.sign(message);
    assertEquals(64, signature.length, "the size of an Ed25519 signature");
    assertArrayEquals(signature, replica1.sign(message), "deterministic, as the simulator's replays need");
    assertTrue(checks.apply(keys.replicas().get(1).publicKey()).verify(message, signature));
    assertFalse(checks.apply(keys.replicas().get(2).publicKey()).verify(message, signature),
        "another identity's check refuses it: a traitor cannot pass as someone else");
    assertFalse(checks.apply(keys.clients().get(0).publicKey()).verify(message, signature));
    byte[] altered = message.clone();
    altered[0] ^= 1;
    assertFalse(checks.apply(keys.replicas().get(1).publicKey()).verify(altered, signature), "bound to the content");
    byte[] flipped = signature.clone();
    flipped[63] ^= 1;
    assertFalse(checks.apply(keys.replicas().get(1).publicKey()).verify(message, flipped));
    assertFalse(checks.apply(keys.replicas().get(1).publicKey()).verify(message, new byte[0]));
    assertFalse(checks.apply(keys.replicas().get(1).publicKey()).verify(null, signature));
  }

  @Test
  void everySingleBitFlipOfTheMessageChangesTheTag() {
    byte[] m = new byte[1027]; // whole 8-byte words and a tail
    new Random(9).nextBytes(m);
    Signer signer = FastSignatures.signer(keys.replicas().get(0));
    SignatureCheck check = checks.apply(keys.replicas().get(0).publicKey());
    byte[] tag = signer.sign(m);
    java.util.Set<String> tags = new java.util.HashSet<>();
    for (int bit = 0; bit < m.length * 8; bit++) {
      byte[] flipped = m.clone();
      flipped[bit / 8] ^= (byte) (1 << (bit % 8));
      assertFalse(check.verify(flipped, tag), "bit " + bit);
      tags.add(java.util.HexFormat.of().formatHex(signer.sign(flipped)));
    }
    assertEquals(m.length * 8, tags.size(), "no two of the flipped messages share a tag");
    assertFalse(check.verify(java.util.Arrays.copyOf(m, m.length + 1), tag), "a longer message");
  }

  @Test
  void anUnknownPublicKeyChecksNothing() {
    byte[] stranger = ClusterKeys.draw(new Random(6), 1, 0).replicas().get(0).publicKey();
    Signer signer = FastSignatures.signer(keys.replicas().get(0));
    assertFalse(checks.apply(stranger).verify(message, signer.sign(message)));
  }

  @Test
  void anEd25519SignatureDoesNotPassTheFastCheck() {
    byte[] real = keys.replicas().get(0).sign(message);
    assertFalse(checks.apply(keys.replicas().get(0).publicKey()).verify(message, real));
  }

  @Test
  void aRunWithFastCryptoReachesTheSameOutcomeAsWithEd25519() {
    SimulationConfig real = SimulationConfig.builder().seed(11).clients(4).opsPerClient(20).build();
    SimulationResult withEd25519 = Simulation.run(real);
    SimulationResult fast = Simulation.run(real.toBuilder().fastCrypto(true).build());
    assertTrue(withEd25519.ok(), withEd25519::report);
    assertTrue(fast.ok(), fast::report);
    assertEquals(withEd25519.opsCompleted(), fast.opsCompleted());
    assertEquals(80, fast.opsCompleted());
  }

  /**
   * In fast-crypto runs requests' MACs are the keyed hash too: an entry checks at the replica
   * whose session key made it, under that key only, and a verifier of the simulation's kind
   * refuses an entry made for another replica.
   */
  @Test
  void aFastRequestMacChecksUnderItsSessionKeyOnly() {
    com.google.protobuf.ByteString request = com.google.protobuf.ByteString.copyFromUtf8("client 1 t=5 put k v");
    io.pbft.proto.RequestMac forReplica2 = ClusterKeys.macEntry(true, 1, 2, request);
    assertEquals(32, forReplica2.getMac().size(), "the size of an HMAC-SHA256");
    assertArrayEquals(forReplica2.getMac().toByteArray(),
        FastSignatures.requestMac(ClusterKeys.requestKey(1, 2).key(), request));
    assertFalse(java.util.Arrays.equals(forReplica2.getMac().toByteArray(),
        FastSignatures.requestMac(ClusterKeys.requestKey(1, 3).key(), request)), "another session's key");
    assertFalse(java.util.Arrays.equals(forReplica2.getMac().toByteArray(),
        FastSignatures.requestMac(ClusterKeys.requestKey(1, 2).key(), request.concat(request))), "other bytes");
    assertFalse(java.util.Arrays.equals(forReplica2.getMac().toByteArray(),
        ClusterKeys.macEntry(false, 1, 2, request).getMac().toByteArray()), "not the HMAC of real runs");
  }
}

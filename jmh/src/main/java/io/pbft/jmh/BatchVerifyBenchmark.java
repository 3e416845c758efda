package io.pbft.jmh;

import io.pbft.crypto.BatchVerifier;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.PublicKeyVerifier;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Ed25519 verification per signature: BouncyCastle one at a time (what a replica does with a
 * lone request) against {@link BatchVerifier} with {@code batch} signatures of as many keys at once
 * (what it does with requests waiting together under load). 100-byte messages, as a small signed
 * request. Each invocation checks 64 signatures, so the scores are microseconds per signature.
 *
 * <pre>java -jar jmh/target/pbft-jmh.jar BatchVerifyBenchmark -f 1 -wi 3 -i 5</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class BatchVerifyBenchmark {
  private static final int SIGNATURES = 64;

  @Param({"1", "4", "8", "16", "32"})
  int batch;

  private final List<BatchVerifier.Item> items = new ArrayList<>();
  private final List<PublicKeyVerifier> verifiers = new ArrayList<>();
  private final byte[] secret = new byte[32];

  @Setup(Level.Trial)
  public void setUp() {
    SecureRandom random = new SecureRandom();
    random.nextBytes(secret);
    for (int i = 0; i < SIGNATURES; i++) {
      Ed25519Keys keys = Ed25519Keys.generate(random);
      byte[] message = new byte[100];
      random.nextBytes(message);
      items.add(new BatchVerifier.Item(BatchVerifier.key(keys.publicKey()), message, keys.sign(message)));
      verifiers.add(keys.verifier());
    }
  }

  @Benchmark
  @OperationsPerInvocation(SIGNATURES)
  public int bouncyCastleOneByOne() {
    int valid = 0;
    for (int i = 0; i < SIGNATURES; i++) {
      valid += verifiers.get(i).verify(items.get(i).message(), items.get(i).signature()) ? 1 : 0;
    }
    return valid;
  }

  @Benchmark
  @OperationsPerInvocation(SIGNATURES)
  public int together() {
    int valid = 0;
    for (int from = 0; from < SIGNATURES; from += batch) {
      List<BatchVerifier.Item> group = items.subList(from, Math.min(SIGNATURES, from + batch));
      valid += BatchVerifier.verifyAll(group, secret) ? group.size() : 0;
    }
    return valid;
  }
}

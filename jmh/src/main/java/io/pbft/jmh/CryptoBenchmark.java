package io.pbft.jmh;

import com.goterl.lazysodium.LazySodiumJava;
import com.goterl.lazysodium.SodiumJava;
import com.goterl.lazysodium.interfaces.Sign;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.PublicKeyVerifier;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What one authentication step costs, per provider: Ed25519 sign and verify with BouncyCastle
 * (what pbft uses), the JDK's own EdDSA (SunEC) and libsodium (native, through lazysodium and
 * JNA), and HMAC-SHA256 (the JDK) as a request authenticator entry costs it. Messages of
 * {@code bytes} bytes: 100 is a small request or a PREPARE, 1100 a request with a 1 KiB value.
 *
 * <pre>java -jar jmh/target/pbft-jmh.jar -f 1 -wi 3 -i 5</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CryptoBenchmark {
  @Param({"100", "1100"})
  int bytes;

  private byte[] message;

  private Ed25519Keys bcKeys;
  private PublicKeyVerifier bcVerifier;
  private byte[] bcSignature;

  private Signature jdkSigner;
  private Signature jdkVerifier;
  private byte[] jdkSignature;

  private LazySodiumJava sodium;
  private byte[] sodiumSecret;
  private byte[] sodiumPublic;
  private byte[] sodiumSignature;

  private Mac hmac;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    SecureRandom random = new SecureRandom();
    message = new byte[bytes];
    random.nextBytes(message);

    bcKeys = Ed25519Keys.generate(random);
    bcVerifier = PublicKeyVerifier.of(bcKeys.publicKey());
    bcSignature = bcKeys.sign(message);

    KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    jdkSigner = Signature.getInstance("Ed25519");
    jdkSigner.initSign(pair.getPrivate());
    jdkVerifier = Signature.getInstance("Ed25519");
    jdkVerifier.initVerify(pair.getPublic());
    jdkSigner.update(message);
    jdkSignature = jdkSigner.sign();

    sodium = new LazySodiumJava(new SodiumJava());
    sodiumPublic = new byte[Sign.PUBLICKEYBYTES];
    sodiumSecret = new byte[Sign.SECRETKEYBYTES];
    if (!sodium.cryptoSignKeypair(sodiumPublic, sodiumSecret)) {
      throw new IllegalStateException("libsodium could not make a key pair");
    }
    sodiumSignature = new byte[Sign.BYTES];
    sodium.cryptoSignDetached(sodiumSignature, message, message.length, sodiumSecret);

    byte[] key = new byte[32];
    random.nextBytes(key);
    hmac = Mac.getInstance("HmacSHA256");
    hmac.init(new SecretKeySpec(key, "HmacSHA256"));
  }

  @Benchmark
  public byte[] bouncyCastleSign() {
    return bcKeys.sign(message);
  }

  @Benchmark
  public boolean bouncyCastleVerify() {
    return bcVerifier.verify(message, bcSignature);
  }

  @Benchmark
  public byte[] jdkSign() throws Exception {
    jdkSigner.update(message);
    return jdkSigner.sign();
  }

  @Benchmark
  public boolean jdkVerify() throws Exception {
    jdkVerifier.update(message);
    return jdkVerifier.verify(jdkSignature);
  }

  @Benchmark
  public byte[] libsodiumSign() {
    byte[] signature = new byte[Sign.BYTES];
    sodium.cryptoSignDetached(signature, message, message.length, sodiumSecret);
    return signature;
  }

  @Benchmark
  public boolean libsodiumVerify() {
    return sodium.cryptoSignVerifyDetached(sodiumSignature, message, message.length, sodiumPublic);
  }

  @Benchmark
  public byte[] hmacSha256() {
    return hmac.doFinal(message);
  }
}

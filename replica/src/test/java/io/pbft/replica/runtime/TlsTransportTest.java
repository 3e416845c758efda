package io.pbft.replica.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.StreamObserver;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.crypto.tls.CertificateAuthority;
import io.pbft.crypto.tls.Pem;
import io.pbft.crypto.tls.ReloadableKeyManager;
import io.pbft.crypto.tls.ReloadableTrustManager;
import io.pbft.crypto.tls.TlsMaterial;
import io.pbft.proto.Ack;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.ReplicaServiceGrpc;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import io.pbft.replica.app.kv.KvStateMachine;
import java.math.BigInteger;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One replica with TLS on, reached by callers with various certificates: who gets through, who is
 * refused and with what message, and a certificate replaced while it runs.
 */
class TlsTransportTest {
  private static final SecureRandom RANDOM = new SecureRandom();

  @TempDir
  Path dir;
  private ClusterConfig config;
  private CertificateAuthority ca;
  private ReplicaServer replica;

  @BeforeEach
  void start() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // replica 0 on a free port; the others are never started (its peer channels just wait)
    ClusterSetup.generate(dir, 4, 1, "127.0.0.1", port, -1, RANDOM);
    config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    ca = CertificateAuthority.load(dir.resolve("tls/ca.crt"), dir.resolve("tls/ca.key"), RANDOM);
  }

  private void startReplica() throws Exception {
    replica = ReplicaServer.start(config, 0, new KvStateMachine());
  }

  @AfterEach
  void stop() {
    if (replica != null) {
      replica.close();
    }
  }

  // ------------------------------------------------------------------ callers

  private ManagedChannel channel(SslContext tls) {
    return NettyChannelBuilder.forAddress("127.0.0.1", config.replica(0).port()).sslContext(tls).build();
  }

  private SslContext context(TlsMaterial identity, List<X509Certificate> trusted) throws Exception {
    SslContextBuilder b = GrpcSslContexts.forClient().trustManager(new ReloadableTrustManager(trusted));
    if (identity != null) {
      b.keyManager(new ReloadableKeyManager(identity));
    }
    return b.build();
  }

  private TlsMaterial issued(CertificateAuthority by, String name, List<String> hosts, String file) {
    CertificateAuthority.Issued i = by.issue(name, hosts, CertificateAuthority.Usage.SERVER_AND_CLIENT,
        Duration.ofDays(1));
    Pem.writeCertificate(dir.resolve(file + ".crt"), i.certificate());
    Pem.writePrivateKey(dir.resolve(file + ".key"), i.key());
    return new TlsMaterial(i.key(), List.of(i.certificate(), by.certificate()), dir.resolve(file + ".crt"),
        dir.resolve(file + ".key"));
  }

  /** Opens a peer stream and sends one message; how the stream ended. */
  private Status peerStream(SslContext tls) throws Exception {
    ManagedChannel channel = channel(tls);
    try {
      CompletableFuture<Status> ended = new CompletableFuture<>();
      StreamObserver<SignedMessage> stream = ReplicaServiceGrpc.newStub(channel).stream(new StreamObserver<>() {
        @Override
        public void onNext(Ack value) {}

        @Override
        public void onError(Throwable t) {
          ended.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
          ended.complete(Status.OK);
        }
      });
      stream.onNext(SignedMessage.newBuilder().setSender(1).build());
      return ended.get(10, TimeUnit.SECONDS);
    } finally {
      channel.shutdownNow();
    }
  }

  private StatusResponse status(SslContext tls) {
    ManagedChannel channel = channel(tls);
    try {
      return ClientServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .status(StatusRequest.getDefaultInstance());
    } finally {
      channel.shutdownNow();
    }
  }

  private static String causes(Throwable t) {
    StringBuilder s = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      s.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append(" / ");
    }
    return s.toString();
  }

  // ------------------------------------------------------------------ peers

  @Test
  void peerWithCertificateFromAnotherCaIsRefusedInTheHandshake() throws Exception {
    startReplica();
    CertificateAuthority stranger = CertificateAuthority.generate("stranger", Duration.ofDays(2), RANDOM);
    TlsMaterial forged = issued(stranger, "replica-1", List.of("127.0.0.1"), "forged");
    // presented even though the replica asks for certificates of its own CA (a JDK key manager
    // would send none, and the stream would be refused for that instead)
    SslContext insisting = GrpcSslContexts.forClient().trustManager(new ReloadableTrustManager(config.tlsTrusted()))
        .keyManager(new Insisting(forged)).build();
    Status ended = peerStream(insisting);
    assertEquals(Status.Code.UNAVAILABLE, ended.getCode(), ended.toString());
  }

  /** Presents its certificate whatever the server asks for. */
  private static final class Insisting extends javax.net.ssl.X509ExtendedKeyManager {
    private final TlsMaterial m;

    Insisting(TlsMaterial m) {
      this.m = m;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers,
        javax.net.ssl.SSLEngine engine) {
      return "forged";
    }

    @Override
    public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
      return "forged";
    }

    @Override
    public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
      return new String[] {"forged"};
    }

    @Override
    public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return m.chain().toArray(X509Certificate[]::new);
    }

    @Override
    public java.security.PrivateKey getPrivateKey(String alias) {
      return m.key();
    }
  }

  @Test
  void clientCertificateClaimingToBeAReplicaIsRefused() throws Exception {
    startReplica();
    Status ended = peerStream(context(config.clientTls(0), config.tlsTrusted()));
    assertEquals(Status.Code.PERMISSION_DENIED, ended.getCode(), ended.toString());
    assertEquals("a peer stream needs a replica certificate; the caller presented one for client-0 (subject CN must "
        + "be replica-<id> of a configured replica)", ended.getDescription());
  }

  @Test
  void peerStreamWithoutCertificateIsRefused() throws Exception {
    startReplica();
    Status ended = peerStream(context(null, config.tlsTrusted()));
    assertEquals(Status.Code.PERMISSION_DENIED, ended.getCode(), ended.toString());
    assertTrue(ended.getDescription().contains("presented none"), ended.getDescription());
  }

  @Test
  void messagesOfAnotherReplicaOnACertifiedStreamAreJudgedByTheirOwnAuthentication() throws Exception {
    startReplica();
    // Replica 2's certificate, a message claiming sender 1 with no signature: replicas pass on
    // what others signed (a NEW-VIEW, checkpoint proofs), so the stream does not decide; the
    // missing signature does.
    ManagedChannel channel = channel(context(config.replicaTls(2), config.tlsTrusted()));
    try {
      StreamObserver<SignedMessage> stream = ReplicaServiceGrpc.newStub(channel).stream(new StreamObserver<>() {
        @Override
        public void onNext(Ack value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      });
      stream.onNext(SignedMessage.newBuilder().setSender(1).build());
      String reason = "bad signature";
      SslContext operator = context(config.operatorTls(), config.tlsTrusted());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      long drops = 0;
      while (drops == 0 && System.nanoTime() < deadline) {
        Thread.sleep(100);
        drops = status(operator).getDropped().getByReasonOrDefault(reason, 0);
      }
      assertEquals(1, drops);
    } finally {
      channel.shutdownNow();
    }
  }

  // ------------------------------------------------------------------ status and clients

  @Test
  void statusWithoutCertificateIsRefusedAndTheOperatorIsAnswered() throws Exception {
    startReplica();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> status(context(null, config.tlsTrusted())));
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().startsWith("the status RPC answers only callers with a certificate"),
        e.getStatus().getDescription());
    assertEquals(0, status(context(config.operatorTls(), config.tlsTrusted())).getReplicaId());
    assertEquals(0, status(context(config.clientTls(0), config.tlsTrusted())).getReplicaId());
  }

  @Test
  void statusRefusesACertificateOfTheCaForSomeoneElse() throws Exception {
    startReplica();
    // an existing CA may issue certificates for anything: only cluster identities are answered
    TlsMaterial stranger = issued(ca, "web-frontend", List.of(), "frontend");
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> status(context(stranger, config.tlsTrusted())));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("names an unknown identity"), e.getStatus().getDescription());
    TlsMaterial unlisted = issued(ca, "client-99", List.of(), "client-99");
    assertEquals(Status.Code.PERMISSION_DENIED, assertThrows(StatusRuntimeException.class,
        () -> status(context(unlisted, config.tlsTrusted()))).getStatus().getCode());
  }

  @Test
  void theJdksOwnTlsCompletesTheHandshakeWithTheseCertificates() throws Exception {
    startReplica();
    // the replica runs gRPC's default engine (BoringSSL when bundled); a caller on the JDK 17
    // provider, with the operator's ECDSA P-256 certificate, must get through as well
    SslContext jdk = GrpcSslContexts.configure(SslContextBuilder.forClient(),
            io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider.JDK)
        .trustManager(new ReloadableTrustManager(config.tlsTrusted()))
        .keyManager(new ReloadableKeyManager(config.operatorTls())).build();
    assertEquals(0, status(jdk).getReplicaId());
  }

  @Test
  void callerTrustingAnotherCaCannotConnect() throws Exception {
    startReplica();
    CertificateAuthority stranger = CertificateAuthority.generate("stranger", Duration.ofDays(2), RANDOM);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> status(context(config.operatorTls(), List.of(stranger.certificate()))));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertTrue(causes(e).contains("PKIX path building failed"), causes(e));
  }

  @Test
  void replicaCertificateForAnotherHostIsRefusedByTheCaller() throws Exception {
    issued(ca, "replica-0", List.of("replica-0.example"), "tls/replica-0");
    startReplica();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> status(context(config.operatorTls(), config.tlsTrusted())));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertTrue(causes(e).contains("No subject alternative names matching IP address 127.0.0.1"), causes(e));
  }

  @Test
  void plaintextCallerIsRefused() throws Exception {
    startReplica();
    ManagedChannel plain = NettyChannelBuilder.forAddress("127.0.0.1", config.replica(0).port()).usePlaintext().build();
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> ClientServiceGrpc.newBlockingStub(plain).withDeadlineAfter(10, TimeUnit.SECONDS)
              .status(StatusRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    } finally {
      plain.shutdownNow();
    }
  }

  // ------------------------------------------------------------------ reloading

  /** The serial of the certificate a new TLS connection to the replica is shown. */
  private BigInteger servedSerial() throws Exception {
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, new javax.net.ssl.TrustManager[] {new ReloadableTrustManager(config.tlsTrusted())}, RANDOM);
    try (SSLSocket socket = (SSLSocket) ssl.getSocketFactory().createSocket("127.0.0.1", config.replica(0).port())) {
      SSLParameters p = socket.getSSLParameters();
      p.setApplicationProtocols(new String[] {"h2"});
      socket.setSSLParameters(p);
      socket.startHandshake();
      return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  private BigInteger awaitServed(BigInteger expected, long timeoutMs) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    BigInteger served = servedSerial();
    while (!served.equals(expected) && System.nanoTime() < deadline) {
      Thread.sleep(200);
      served = servedSerial();
    }
    return served;
  }

  @Test
  void newCertificateFilesAreServedWithoutARestart() throws Exception {
    startReplica();
    ReplicaServer running = replica;
    BigInteger before = servedSerial();
    assertEquals(config.replicaTls(0).certificate().getSerialNumber(), before);
    Thread.sleep(1100); // file times have a resolution of a second on some file systems
    TlsMaterial renewed = issued(ca, "replica-0", CertificateAuthority.withLoopback(List.of()), "tls/replica-0");
    BigInteger after = renewed.certificate().getSerialNumber();
    assertNotEquals(before, after);
    assertEquals(after, awaitServed(after, 4 * ReplicaTls.POLL_MS + 2000));
    assertSame(running, replica);
    assertEquals(0, status(context(config.operatorTls(), config.tlsTrusted())).getReplicaId());
  }

  @Test
  void unusableNewFilesAreRefusedAndTheOldCertificateStays() throws Exception {
    startReplica();
    BigInteger before = servedSerial();
    Thread.sleep(1100);
    // the key of another certificate: does not match
    Files.copy(dir.resolve("tls/replica-1.key"), dir.resolve("tls/replica-0.key"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Thread.sleep(3 * ReplicaTls.POLL_MS);
    assertEquals(before, servedSerial());
    assertEquals(0, status(context(config.operatorTls(), config.tlsTrusted())).getReplicaId());
  }

  @Test
  void replicaWithAnExpiredCertificateDoesNotStart() throws Exception {
    java.time.Instant end = java.time.Instant.now().minus(Duration.ofHours(1));
    CertificateAuthority.Issued old = ca.issue("replica-0", List.of("127.0.0.1"),
        CertificateAuthority.Usage.SERVER_AND_CLIENT, end.minus(Duration.ofDays(1)), end);
    Pem.writeCertificate(dir.resolve("tls/replica-0.crt"), old.certificate());
    Pem.writePrivateKey(dir.resolve("tls/replica-0.key"), old.key());
    io.pbft.config.ConfigException e = assertThrows(io.pbft.config.ConfigException.class, this::startReplica);
    assertTrue(e.getMessage().startsWith("replica 0's TLS identity: certificate file " + dir.resolve("tls/replica-0.crt")
        + " expired on"), e.getMessage());
  }
}

package io.pbft.client;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.crypto.tls.CertificateAuthority;
import io.pbft.crypto.tls.Pem;
import io.pbft.crypto.tls.ReloadableKeyManager;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A client whose configuration trusts another CA than the one that issued the replicas' certificates. */
class ClientTlsTest {
  @TempDir
  Path dir;
  private final List<Server> servers = new ArrayList<>();

  @AfterEach
  void stop() {
    servers.forEach(Server::shutdownNow);
  }

  @Test
  void clientTrustingAnotherCaFailsSayingTheTlsHandshakeFailed() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    ClusterSetup.generate(dir, 1, 1, "127.0.0.1", port, 0, new SecureRandom());
    ClusterConfig config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    // the replica's side of the handshake, with its real certificate
    servers.add(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(new ReloadableKeyManager(config.replicaTls(0))))
            .build())
        .build().start());
    // the client's configuration names another CA
    Pem.writeCertificate(dir.resolve("tls/ca.crt"),
        CertificateAuthority.generate("another CA", Duration.ofDays(1), new SecureRandom()).certificate());
    ClusterConfig misled = ClusterConfig.load(dir.resolve("cluster.yaml"));
    try (PbftClient client = new PbftClientBuilder().config(misled).clientId(0)
        .operationTimeout(Duration.ofSeconds(2)).build()) {
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> client.invoke(new byte[] {1}).get(20, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof PbftUnavailableException, String.valueOf(e.getCause()));
      assertTrue(e.getCause().getMessage().contains("TLS handshake failed: unable to find valid certification path"),
          e.getCause().getMessage());
    }
  }
}

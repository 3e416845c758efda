package io.pbft.client;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.pbft.config.ClientInfo;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ConfigException;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.tls.ReloadableKeyManager;
import io.pbft.crypto.tls.ReloadableTrustManager;
import io.pbft.crypto.tls.TlsMaterial;
import javax.net.ssl.SSLException;

/**
 * TLS as a caller sees it: the replicas are authenticated against the cluster CA and by the host
 * name they are dialled at; the caller's own certificate is optional. Every channel to a replica
 * in this code base is built here, so that TLS on or off is decided in one place.
 */
public final class ClientTls {
  private ClientTls() {}

  /**
   * The TLS context of a caller presenting {@code identity} (null: no certificate), or null when
   * the configuration has TLS off.
   */
  public static SslContext context(ClusterConfig config, TlsMaterial identity) {
    if (!config.tls().enabled()) {
      return null;
    }
    try {
      SslContextBuilder b = GrpcSslContexts.forClient().trustManager(new ReloadableTrustManager(config.tlsTrusted()));
      if (identity != null) {
        b.keyManager(new ReloadableKeyManager(identity));
      }
      return b.build();
    } catch (SSLException e) {
      throw new ConfigException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  /** A channel builder for replica {@code r}: TLS with {@code context}, plaintext when it is null. */
  public static NettyChannelBuilder builder(ReplicaInfo r, SslContext context) {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(r.host(), r.port());
    return context != null ? b.sslContext(context) : b.usePlaintext();
  }

  /**
   * The identity to call the status RPC (and other admin calls) with: the operator's certificate
   * when its files are here, otherwise the first client's whose files are, otherwise none (and
   * replicas with TLS on refuse the call, saying so). Null with TLS off.
   */
  public static TlsMaterial adminIdentity(ClusterConfig config) {
    if (!config.tls().enabled()) {
      return null;
    }
    if (config.tlsFilesPresent(config.tls().operatorFiles())) {
      return config.operatorTls();
    }
    for (ClientInfo c : config.clients()) {
      if (config.tlsFilesPresent(config.tls().clientFiles(c.id()))) {
        return config.clientTls(c.id());
      }
    }
    return null;
  }

  /** The TLS context for admin calls ({@link #adminIdentity}); null with TLS off. */
  public static SslContext adminContext(ClusterConfig config) {
    return context(config, adminIdentity(config));
  }

  /**
   * Why a TLS handshake failed, if {@code t} (a gRPC failure's cause) says it did: the innermost
   * cause, which names the problem ("PKIX path building failed", "No subject alternative names
   * matching IP address ...") where the outer ones say "General OpenSslEngine problem". Null if
   * the failure was not a TLS one.
   */
  public static String handshakeFailure(Throwable t) {
    boolean tls = false;
    Throwable innermost = null;
    for (Throwable c = t; c != null && c != innermost; c = c.getCause()) {
      tls |= c instanceof javax.net.ssl.SSLException;
      innermost = c;
    }
    if (!tls) {
      return null;
    }
    return innermost.getMessage() == null ? innermost.getClass().getSimpleName() : innermost.getMessage();
  }
}

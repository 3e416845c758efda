package io.pbft.replica.runtime;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ConfigException;
import io.pbft.config.TlsConfig;
import io.pbft.crypto.tls.ReloadableKeyManager;
import io.pbft.crypto.tls.ReloadableTrustManager;
import io.pbft.crypto.tls.TlsMaterial;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's TLS: one identity (its certificate and key) and one set of trusted CA certificates,
 * shared by the server it runs and the channels it dials its peers with. Both sit behind
 * reloadable managers, so new certificate files take effect for new connections without a
 * restart: the files' modification times are polled every {@link #POLL_MS} ms, and a change is
 * read and checked as at start (key matches certificate, valid now, issued by the CA). A file
 * that fails the checks is logged and the identity in use stays.
 *
 * <p>A configuration epoch that names another certificate for this replica (a key rotation or
 * replacement with TLS on) switches it to that one at the handover ({@link #serve}): its files are
 * the replacement's ({@code pbft keygen --replacing}), and they are the ones watched from then on.
 */
final class ReplicaTls implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReplicaTls.class);
  /** How often the files are looked at: a stat of three files, nothing more. */
  static final long POLL_MS = 2000;

  private final ClusterConfig config;
  private final int id;
  private final ReloadableKeyManager keys;
  private final ReloadableTrustManager trust;
  private final SslContext server;
  private final SslContext peers;
  /** The certificate and key files in use (the configuration's, or a replacement's after a rotation), and the CA's. */
  private volatile List<Path> watched;
  private List<Long> lastSeen;
  private ScheduledFuture<?> poll;

  private ReplicaTls(ClusterConfig config, int id) {
    this.config = config;
    this.id = id;
    // Checked now, so that a replica with a bad certificate does not start at all.
    this.trust = new ReloadableTrustManager(config.tlsTrusted());
    TlsConfig.Files files = config.tls().replicaFiles(id);
    Path cert = config.resolve(files.certFile());
    Path key = config.resolve(files.keyFile());
    Path replacement = io.pbft.config.ClusterSetup.replacementDir(config, id);
    if (!Files.exists(cert) && !Files.exists(key) && Files.exists(replacement.resolve(files.certFile()))
        && Files.exists(replacement.resolve(files.keyFile()))) {
      // The configured files are gone (a rotated replica's old ones retired, or a new machine
      // that got only the replacement's): start with the replacement's, which the epoch the
      // replica resumes or joins names; a replica still in epoch 0 is refused by its peers.
      cert = replacement.resolve(files.certFile());
      key = replacement.resolve(files.keyFile());
      log.info("replica {}: {} is gone; TLS starts with the replacement certificate {}", id,
          config.resolve(files.certFile()), cert);
      try {
        this.keys = new ReloadableKeyManager(TlsMaterial.load(cert, key, config.tlsTrusted()));
      } catch (io.pbft.crypto.tls.TlsMaterialException e) {
        throw new ConfigException("replica " + id + "'s replacement TLS identity: " + e.getMessage(), e);
      }
    } else {
      this.keys = new ReloadableKeyManager(config.replicaTls(id));
    }
    this.watched = List.of(cert, key, config.resolve(config.tls().caCertFile()));
    this.lastSeen = modified();
    try {
      // Clients may come without a certificate (OPTIONAL); one they present must be the CA's.
      // Peers must present theirs: the transport identity check insists on it per call.
      this.server = GrpcSslContexts.configure(SslContextBuilder.forServer(keys))
          .trustManager(trust).clientAuth(ClientAuth.OPTIONAL).build();
      this.peers = GrpcSslContexts.forClient().keyManager(keys).trustManager(trust).build();
    } catch (SSLException e) {
      throw new ConfigException("replica " + id + ": cannot set up TLS: " + e.getMessage(), e);
    }
  }

  /** The replica's TLS, or null when the configuration has TLS off. */
  static ReplicaTls of(ClusterConfig config, int id) {
    return config.tls().enabled() ? new ReplicaTls(config, id) : null;
  }

  SslContext serverContext() {
    return server;
  }

  SslContext peerContext() {
    return peers;
  }

  /** The certificate new connections are shown. */
  X509Certificate certificate() {
    return keys.current().certificate();
  }

  void startWatching(ScheduledExecutorService scheduler) {
    poll = scheduler.scheduleWithFixedDelay(this::reloadIfChanged, POLL_MS, POLL_MS, TimeUnit.MILLISECONDS);
  }

  /** Reads the files again if any changed since the last look. */
  synchronized void reloadIfChanged() {
    List<Long> now = modified();
    if (now.equals(lastSeen)) {
      return;
    }
    lastSeen = now; // a failed attempt is retried when a file changes again
    try {
      List<X509Certificate> cas = config.tlsTrusted();
      List<Path> files = watched;
      TlsMaterial material = TlsMaterial.load(files.get(0), files.get(1), cas);
      trust.update(cas);
      keys.update(material);
      log.info("replica {}: TLS certificate reloaded from {}: serial {}, valid until {}", id,
          material.certificateFile(), material.certificate().getSerialNumber().toString(16),
          material.certificate().getNotAfter().toInstant());
    } catch (RuntimeException e) {
      log.error("replica {}: TLS files changed but cannot be used, keeping the certificate in use (serial {}): {}", id,
          keys.current().certificate().getSerialNumber().toString(16), e.getMessage());
    }
  }

  /**
   * Serves the certificate {@code certificateDer} (DER; empty: the epoch names none, and nothing
   * changes) from now on, for new connections: the one in use, or the one among this replica's
   * replacement files under {@code replacementDir} (the configuration's file names, there). Null
   * when it is served, else why not: the files are missing, do not hold that certificate, or fail
   * the checks; the certificate in use then stays (peers trust any certificate of the cluster's CA
   * that names this replica, so the group goes on, but the rotation did not reach TLS).
   */
  synchronized String serve(byte[] certificateDer, Path replacementDir) {
    if (certificateDer.length == 0) {
      return null;
    }
    try {
      if (java.util.Arrays.equals(keys.current().certificate().getEncoded(), certificateDer)) {
        return null;
      }
      TlsConfig.Files files = config.tls().replicaFiles(id);
      Path cert = replacementDir.resolve(files.certFile());
      Path key = replacementDir.resolve(files.keyFile());
      TlsMaterial material = TlsMaterial.load(cert, key, config.tlsTrusted());
      if (!java.util.Arrays.equals(material.certificate().getEncoded(), certificateDer)) {
        return cert + " holds another certificate (serial " + material.certificate().getSerialNumber().toString(16)
            + ") than the one the epoch names";
      }
      keys.update(material);
      watched = List.of(cert, key, config.resolve(config.tls().caCertFile()));
      lastSeen = modified();
      log.info("replica {}: TLS certificate switched to {}: serial {}, valid until {}", id, cert,
          material.certificate().getSerialNumber().toString(16), material.certificate().getNotAfter().toInstant());
      return null;
    } catch (RuntimeException | java.security.cert.CertificateEncodingException e) {
      return e.getMessage();
    }
  }

  private List<Long> modified() {
    List<Long> times = new ArrayList<>();
    for (Path p : watched) {
      try {
        times.add(Files.getLastModifiedTime(p).toMillis() ^ Files.size(p) * 31);
      } catch (IOException e) {
        times.add(-1L); // missing for now (being replaced): looked at again next time
      }
    }
    return times;
  }

  @Override
  public void close() {
    if (poll != null) {
      poll.cancel(false);
    }
  }
}

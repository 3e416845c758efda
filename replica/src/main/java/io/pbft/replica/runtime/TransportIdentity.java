package io.pbft.replica.runtime;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.pbft.crypto.tls.TlsIdentity;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.ReplicaServiceGrpc;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Who is calling, by the certificate the caller presented in the TLS handshake (the handshake
 * already checked that the CA issued it). Peer streams are refused unless the caller presents a
 * replica's certificate, and on the stream each message's sender must be that replica
 * ({@link PeerService}); the status RPC answers only callers with a certificate (a replica, a
 * client or the operator). Client sessions are open to everyone, as without TLS: a client
 * certificate is optional, and requests are authenticated by the session handshake and MACs.
 * With TLS off the interceptor is not installed and nothing changes.
 */
final class TransportIdentity implements ServerInterceptor {
  /** The caller's identity; null when it presented no certificate. */
  static final Context.Key<TlsIdentity> CURRENT = Context.key("pbft-tls-identity");

  private final io.pbft.config.ClusterConfig config;
  /** Whether a replica id names a member of an epoch this replica knows (members come and go). */
  private final java.util.function.IntPredicate knownReplica;

  TransportIdentity(io.pbft.config.ClusterConfig config, java.util.function.IntPredicate knownReplica) {
    this.config = config;
    this.knownReplica = knownReplica;
  }

  /**
   * Whether a certificate names an identity of this cluster: a member of an epoch known here, a configured
   * client or the operator (an existing CA may issue certificates for anything else too).
   */
  private boolean known(TlsIdentity who) {
    return switch (who.kind()) {
      case REPLICA -> knownReplica.test(who.id());
      case CLIENT -> config.clients().stream().anyMatch(c -> c.id() == who.id());
      case OPERATOR -> true;
      case OTHER -> false;
    };
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    TlsIdentity caller = identity(Connection.CURRENT.get(), call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    String method = call.getMethodDescriptor().getFullMethodName();
    String refusal = null;
    if (method.equals(ReplicaServiceGrpc.getStreamMethod().getFullMethodName())) {
      if (caller == null) {
        refusal = "a peer stream needs a replica certificate from the cluster CA; the caller presented none";
      } else if (caller.kind() != TlsIdentity.Kind.REPLICA || !known(caller)) {
        refusal = "a peer stream needs a replica certificate; the caller presented one for " + caller
            + " (subject CN must be replica-<id> of a configured replica)";
      }
    } else if (method.equals(ClientServiceGrpc.getStatusMethod().getFullMethodName()) && caller == null) {
      call.close(Status.UNAUTHENTICATED.withDescription("the status RPC answers only callers with a certificate "
          + "from the cluster CA (the operator's, a replica's or a client's); the caller presented none"),
          new Metadata());
      return new ServerCall.Listener<>() { };
    } else if (method.equals(ClientServiceGrpc.getStatusMethod().getFullMethodName()) && !known(caller)) {
      refusal = "the status RPC answers only the operator, a replica or a configured client; the caller's "
          + "certificate names " + caller + " (subject CN must be operator, replica-<id> or client-<id>)";
    }
    if (refusal != null) {
      call.close(Status.PERMISSION_DENIED.withDescription(refusal), new Metadata());
      return new ServerCall.Listener<>() { };
    }
    return Contexts.interceptCall(Context.current().withValue(CURRENT, caller), call, headers, next);
  }

  /**
   * The caller's identity, worked out once per connection (the TLS session is the connection's):
   * without a certificate, asking for it throws, and an outsider's thousands of streams on a few
   * connections would each pay for an exception.
   */
  private static TlsIdentity identity(Connection connection, SSLSession session) {
    if (connection == null || connection.channel == null) {
      return identity(session);
    }
    Object known = connection.tlsIdentity;
    if (known == null) {
      TlsIdentity found = identity(session);
      known = found == null ? Connection.NO_TLS_IDENTITY : found;
      connection.tlsIdentity = known;
    }
    return known instanceof TlsIdentity t ? t : null;
  }

  private static TlsIdentity identity(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x ? TlsIdentity.of(x) : null;
    } catch (SSLPeerUnverifiedException e) {
      return null; // no certificate presented
    }
  }
}

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

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    TlsIdentity caller = identity(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    String method = call.getMethodDescriptor().getFullMethodName();
    String refusal = null;
    if (method.equals(ReplicaServiceGrpc.getStreamMethod().getFullMethodName())) {
      if (caller == null) {
        refusal = "a peer stream needs a replica certificate from the cluster CA; the caller presented none";
      } else if (caller.kind() != TlsIdentity.Kind.REPLICA) {
        refusal = "a peer stream needs a replica certificate; the caller presented one for " + caller;
      }
    } else if (method.equals(ClientServiceGrpc.getStatusMethod().getFullMethodName()) && caller == null) {
      call.close(Status.UNAUTHENTICATED.withDescription("the status RPC answers only callers with a certificate "
          + "from the cluster CA (the operator's, a replica's or a client's); the caller presented none"),
          new Metadata());
      return new ServerCall.Listener<>() { };
    }
    if (refusal != null) {
      call.close(Status.PERMISSION_DENIED.withDescription(refusal), new Metadata());
      return new ServerCall.Listener<>() { };
    }
    return Contexts.interceptCall(Context.current().withValue(CURRENT, caller), call, headers, next);
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

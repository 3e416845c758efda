package io.pbft.crypto.tls;

import java.security.cert.X509Certificate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Who a certificate issued by the cluster CA names, read from its subject common name:
 * {@code replica-I}, {@code client-J} or {@code operator}. Externally issued certificates must use
 * the same names. Transport identity only: protocol messages and client requests are still
 * authenticated by their Ed25519 signatures and MACs.
 */
public record TlsIdentity(Kind kind, int id) {
  private static final Pattern NAME = Pattern.compile("(replica|client)-(\\d{1,9})|operator");

  public enum Kind { REPLICA, CLIENT, OPERATOR, OTHER }

  public static TlsIdentity replica(int id) {
    return new TlsIdentity(Kind.REPLICA, id);
  }

  public static TlsIdentity client(int id) {
    return new TlsIdentity(Kind.CLIENT, id);
  }

  public static final TlsIdentity OPERATOR = new TlsIdentity(Kind.OPERATOR, 0);

  /** The common name a certificate for this identity carries. */
  public String commonName() {
    return switch (kind) {
      case REPLICA -> "replica-" + id;
      case CLIENT -> "client-" + id;
      case OPERATOR -> "operator";
      case OTHER -> throw new IllegalStateException("no name for an unknown identity");
    };
  }

  /** The identity a certificate names; {@link Kind#OTHER} for a name outside the scheme. */
  public static TlsIdentity of(X509Certificate certificate) {
    String cn = commonName(certificate);
    Matcher m = NAME.matcher(cn == null ? "" : cn);
    if (!m.matches()) {
      return new TlsIdentity(Kind.OTHER, -1);
    }
    if (m.group(1) == null) {
      return OPERATOR;
    }
    int id = Integer.parseInt(m.group(2));
    return m.group(1).equals("replica") ? replica(id) : client(id);
  }

  static String commonName(X509Certificate certificate) {
    try {
      for (Rdn rdn : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return rdn.getValue().toString();
        }
      }
    } catch (InvalidNameException e) {
      return null;
    }
    return null;
  }

  @Override
  public String toString() {
    return kind == Kind.OTHER ? "an unknown identity" : commonName();
  }
}

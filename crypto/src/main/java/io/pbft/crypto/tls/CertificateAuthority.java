package io.pbft.crypto.tls;

import java.math.BigInteger;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A small certificate authority for one cluster: it issues the certificates of its replicas,
 * clients and operator. Keys are ECDSA P-256, which the JDK's TLS supports in every version and
 * mode (Ed25519 certificates are not accepted by JDK 17's TLS 1.2 code paths). The identity a
 * certificate carries is its subject common name ({@link TlsIdentity}); the host names a replica
 * is dialled at are subject alternative names, checked by the dialling side.
 */
public final class CertificateAuthority {
  private static final String SIGNATURE = "SHA256withECDSA";
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  /** What a certificate may be used for. */
  public enum Usage {
    /** Both ends of a TLS connection: a replica serves clients and dials its peers. */
    SERVER_AND_CLIENT,
    /** The calling end only: a client or the operator. */
    CLIENT
  }

  /** A key and the certificate issued for it. */
  public record Issued(PrivateKey key, X509Certificate certificate) {}

  private final PrivateKey key;
  private final X509Certificate certificate;
  private final SecureRandom random;

  public CertificateAuthority(PrivateKey key, X509Certificate certificate, SecureRandom random) {
    TlsMaterial.checkKeyMatches(key, certificate, "the CA key", "the CA certificate");
    if (certificate.getBasicConstraints() < 0) {
      throw new TlsMaterialException("the CA certificate (subject " + certificate.getSubjectX500Principal().getName()
          + ") is not a CA certificate (no basicConstraints CA:true)");
    }
    this.key = key;
    this.certificate = certificate;
    this.random = random;
  }

  /** A new self-signed CA valid for {@code validity}, named {@code commonName}. */
  public static CertificateAuthority generate(String commonName, Duration validity, SecureRandom random) {
    KeyPair pair = newKeyPair(random);
    X500Name name = name(commonName);
    Instant now = Instant.now();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(random), notBefore(now),
          Date.from(now.plus(validity)), name, pair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
      return new CertificateAuthority(pair.getPrivate(), sign(b, pair.getPrivate()), random);
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot make a CA certificate", e);
    }
  }

  /** An existing CA, from its PEM certificate and private key (say, the organisation's). */
  public static CertificateAuthority load(java.nio.file.Path certificateFile, java.nio.file.Path keyFile,
      SecureRandom random) {
    X509Certificate cert = Pem.readCertificates(certificateFile).get(0);
    PrivateKey key = Pem.readPrivateKey(keyFile);
    TlsMaterial.checkKeyMatches(key, cert, "key file " + keyFile, "certificate file " + certificateFile);
    TlsMaterial.checkValidNow(cert, "certificate file " + certificateFile);
    return new CertificateAuthority(key, cert, random);
  }

  public X509Certificate certificate() {
    return certificate;
  }

  public PrivateKey key() {
    return key;
  }

  /**
   * A new key and a certificate for it, named {@code commonName}, valid from now for
   * {@code validity} (at most as long as the CA's own), naming {@code hosts} as subject
   * alternative names (IP addresses as such, anything else as a DNS name).
   */
  public Issued issue(String commonName, List<String> hosts, Usage usage, Duration validity) {
    Instant now = Instant.now();
    Instant notAfter = now.plus(validity);
    if (notAfter.isAfter(certificate.getNotAfter().toInstant())) {
      notAfter = certificate.getNotAfter().toInstant();
    }
    return issue(commonName, hosts, usage, now.minus(Duration.ofMinutes(5)), notAfter);
  }

  /** As above, valid from {@code notBefore} to {@code notAfter} exactly (tests make expired ones). */
  public Issued issue(String commonName, List<String> hosts, Usage usage, Instant notBefore, Instant notAfter) {
    KeyPair pair = newKeyPair(random);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(certificate, serial(random),
          Date.from(notBefore), Date.from(notAfter), name(commonName), pair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
          .addExtension(Extension.extendedKeyUsage, false, usage == Usage.CLIENT
              ? new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth)
              : new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()))
          .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
      if (!hosts.isEmpty()) {
        b.addExtension(Extension.subjectAlternativeName, false, alternativeNames(hosts));
      }
      return new Issued(pair.getPrivate(), sign(b, key));
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot issue a certificate for " + commonName, e);
    }
  }

  /** The hosts plus {@code localhost} and {@code 127.0.0.1}, without repeats, in order. */
  public static List<String> withLoopback(List<String> hosts) {
    Set<String> all = new LinkedHashSet<>(hosts);
    all.add("localhost");
    all.add("127.0.0.1");
    return new ArrayList<>(all);
  }

  private static GeneralNames alternativeNames(List<String> hosts) {
    List<GeneralName> names = new ArrayList<>();
    for (String h : hosts) {
      boolean ip = IPV4.matcher(h).matches() || h.contains(":");
      if (ip) {
        try {
          InetAddress.getByName(h); // checks the literal; no lookup for an address
        } catch (java.net.UnknownHostException e) {
          throw new TlsMaterialException("'" + h + "' is not an IP address");
        }
      }
      names.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, h));
    }
    return new GeneralNames(names.toArray(GeneralName[]::new));
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(
          builder.build(new JcaContentSignerBuilder(SIGNATURE).build(signer)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static KeyPair newKeyPair(SecureRandom random) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), random);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK offers no EC P-256 keys", e);
    }
  }

  private static X500Name name(String commonName) {
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "pbft").addRDN(BCStyle.CN, commonName).build();
  }

  /** A little in the past: clocks of the machines in a cluster are never exactly alike. */
  private static Date notBefore(Instant now) {
    return Date.from(now.minus(Duration.ofMinutes(5)));
  }

  private static BigInteger serial(SecureRandom random) {
    return new BigInteger(127, random).add(BigInteger.ONE); // positive, unpredictable, unique in practice
  }
}

package io.pbft.crypto.tls;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A TLS identity read from a certificate file and a key file, checked before use: the key
 * belongs to the certificate, the certificate is valid now, and it chains to one of the trusted
 * CA certificates. Each check fails with a message naming the file and what is wrong, so that a
 * replica refuses to start (or keeps its old identity on a reload) instead of failing handshakes
 * later with an alert nobody can read.
 *
 * @param chain the certificate first, then any intermediate certificates from the same file
 */
public record TlsMaterial(PrivateKey key, List<X509Certificate> chain, Path certificateFile, Path keyFile) {

  public X509Certificate certificate() {
    return chain.get(0);
  }

  /** Reads and checks a certificate and its key against the trusted CA certificates. */
  public static TlsMaterial load(Path certificateFile, Path keyFile, List<X509Certificate> trusted) {
    List<X509Certificate> chain = Pem.readCertificates(certificateFile);
    PrivateKey key = Pem.readPrivateKey(keyFile);
    String cert = "certificate file " + certificateFile;
    checkKeyMatches(key, chain.get(0), "key file " + keyFile, cert);
    checkValidNow(chain.get(0), cert);
    checkIssuedBy(chain, trusted, cert);
    return new TlsMaterial(key, List.copyOf(chain), certificateFile, keyFile);
  }

  /** Reads the trusted CA certificates and checks that each is a CA and valid now. */
  public static List<X509Certificate> loadTrusted(Path caFile) {
    List<X509Certificate> cas = Pem.readCertificates(caFile);
    for (X509Certificate ca : cas) {
      String where = "CA certificate file " + caFile + " (subject " + subject(ca) + ")";
      checkValidNow(ca, where);
      if (ca.getBasicConstraints() < 0) {
        throw new TlsMaterialException(where + " is not a CA certificate (no basicConstraints CA:true)");
      }
    }
    return List.copyOf(cas);
  }

  /** Signs a few bytes with the key and verifies them with the certificate's public key. */
  public static void checkKeyMatches(PrivateKey key, X509Certificate certificate, String keyName, String certName) {
    String algorithm = switch (key.getAlgorithm()) {
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> throw new TlsMaterialException(keyName + " holds a " + key.getAlgorithm()
          + " key; EC (P-256, P-384), RSA and Ed25519 keys are supported");
    };
    if (!key.getAlgorithm().equals(certificate.getPublicKey().getAlgorithm())
        && !(algorithm.equals("SHA256withECDSA") && certificate.getPublicKey().getAlgorithm().startsWith("EC"))) {
      throw new TlsMaterialException(keyName + " does not match " + certName + ": the key is " + key.getAlgorithm()
          + ", the certificate's public key is " + certificate.getPublicKey().getAlgorithm());
    }
    byte[] probe = "pbft key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    boolean matches;
    try {
      Signature s = Signature.getInstance(algorithm);
      s.initSign(key);
      s.update(probe);
      byte[] signature = s.sign();
      Signature v = Signature.getInstance(algorithm);
      v.initVerify(certificate.getPublicKey());
      v.update(probe);
      matches = v.verify(signature);
    } catch (GeneralSecurityException e) {
      matches = false;
    }
    if (!matches) {
      throw new TlsMaterialException(keyName + " does not match " + certName
          + ": the private key is not the one the certificate was issued for");
    }
  }

  public static void checkValidNow(X509Certificate certificate, String certName) {
    try {
      certificate.checkValidity();
    } catch (CertificateExpiredException e) {
      throw new TlsMaterialException(certName + " expired on " + certificate.getNotAfter().toInstant()
          + " (subject " + subject(certificate) + "); issue a new one (pbft keygen --reissue-tls)");
    } catch (CertificateNotYetValidException e) {
      throw new TlsMaterialException(certName + " is not valid before " + certificate.getNotBefore().toInstant()
          + " (subject " + subject(certificate) + "); is this machine's clock right?");
    }
  }

  /** PKIX path validation from the certificate (and its intermediates) to one of the trusted CAs. */
  public static void checkIssuedBy(List<X509Certificate> chain, List<X509Certificate> trusted, String certName) {
    Set<TrustAnchor> anchors = new HashSet<>();
    for (X509Certificate ca : trusted) {
      anchors.add(new TrustAnchor(ca, null));
    }
    try {
      PKIXParameters parameters = new PKIXParameters(anchors);
      parameters.setRevocationEnabled(false); // a cluster CA publishes no revocation lists
      CertPathValidator.getInstance("PKIX").validate(
          CertificateFactory.getInstance("X.509").generateCertPath(chain), parameters);
    } catch (CertPathValidatorException e) {
      StringBuilder cas = new StringBuilder();
      for (X509Certificate ca : trusted) {
        cas.append(cas.length() == 0 ? "" : ", ").append(subject(ca));
      }
      throw new TlsMaterialException(certName + " (subject " + subject(chain.get(0)) + ", issuer "
          + chain.get(0).getIssuerX500Principal().getName() + ") is not issued by the configured CA (" + cas
          + "): " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new TlsMaterialException(certName + " cannot be checked against the CA: " + e.getMessage(), e);
    }
  }

  static String subject(X509Certificate c) {
    return c.getSubjectX500Principal().getName();
  }
}

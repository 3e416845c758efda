package io.pbft.crypto.tls;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * PEM files: certificates ("CERTIFICATE" blocks, a chain when there are several) and private
 * keys (PKCS#8 "PRIVATE KEY" when written; PKCS#8 or the traditional "EC PRIVATE KEY" / "RSA
 * PRIVATE KEY" when read, as other CAs hand them out). Unencrypted: the file's permissions guard
 * the key, as they guard the Ed25519 key files.
 */
public final class Pem {
  private Pem() {}

  public static void writeCertificate(Path file, X509Certificate certificate) {
    write(file, certificate, false);
  }

  public static void writePrivateKey(Path file, PrivateKey key) {
    try {
      write(file, new JcaPKCS8Generator(key, null), true);
    } catch (org.bouncycastle.util.io.pem.PemGenerationException e) {
      throw new TlsMaterialException("cannot encode the private key for " + file + ": " + e.getMessage(), e);
    }
  }

  private static void write(Path file, Object object, boolean secret) {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(text)) {
      pem.writeObject(object);
    } catch (IOException e) {
      throw new TlsMaterialException("cannot encode " + file + ": " + e.getMessage(), e);
    }
    try {
      Path parent = file.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      // written beside and moved into place: a replica polling the file never reads half of it
      Path partial = Files.createTempFile(parent, "." + file.getFileName(), ".partial");
      // createTempFile makes it rw------- whatever it holds: a certificate is public, and a
      // replica in a container (another uid) must read the CA's and its own through a bind mount
      try {
        Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
      Files.writeString(partial, text.toString());
      Files.move(partial, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new TlsMaterialException("cannot write " + file + ": " + e, e);
    }
  }

  /** The certificates of a PEM file, leaf first; at least one. */
  public static List<X509Certificate> readCertificates(Path file) {
    List<X509Certificate> certificates = new ArrayList<>();
    for (Object o : objects(file)) {
      if (!(o instanceof X509CertificateHolder holder)) {
        throw new TlsMaterialException("certificate file " + file + " holds a " + describe(o)
            + " where certificates were expected");
      }
      try {
        certificates.add(new JcaX509CertificateConverter().getCertificate(holder));
      } catch (CertificateException e) {
        throw new TlsMaterialException("certificate file " + file + " holds a malformed certificate: "
            + e.getMessage(), e);
      }
    }
    if (certificates.isEmpty()) {
      throw new TlsMaterialException("certificate file " + file + " holds no PEM certificate");
    }
    return certificates;
  }

  public static PrivateKey readPrivateKey(Path file) {
    List<Object> objects = objects(file);
    if (objects.size() != 1) {
      throw new TlsMaterialException("key file " + file + " must hold one PEM private key, it holds "
          + objects.size() + " PEM blocks");
    }
    Object o = objects.get(0);
    JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
    try {
      if (o instanceof PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
      if (o instanceof PEMKeyPair pair) {
        return converter.getKeyPair(pair).getPrivate();
      }
    } catch (IOException e) {
      throw new TlsMaterialException("key file " + file + " holds a malformed private key: " + e.getMessage(), e);
    }
    throw new TlsMaterialException("key file " + file + " holds a " + describe(o)
        + ", not an unencrypted private key (PKCS#8 'PRIVATE KEY' or 'EC PRIVATE KEY')");
  }

  private static List<Object> objects(Path file) {
    List<Object> objects = new ArrayList<>();
    try (Reader reader = Files.newBufferedReader(file); PEMParser parser = new PEMParser(reader)) {
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        objects.add(o);
      }
    } catch (java.nio.file.NoSuchFileException e) {
      throw new TlsMaterialException("file " + file + " does not exist");
    } catch (IOException | RuntimeException e) {
      throw new TlsMaterialException("cannot read " + file + " as PEM: " + e.getMessage(), e);
    }
    return objects;
  }

  private static String describe(Object o) {
    if (o instanceof X509CertificateHolder) {
      return "certificate";
    }
    if (o instanceof org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo
        || o instanceof org.bouncycastle.openssl.PEMEncryptedKeyPair) {
      return "password-protected private key";
    }
    if (o instanceof PrivateKeyInfo || o instanceof PEMKeyPair) {
      return "private key";
    }
    return o.getClass().getSimpleName();
  }
}

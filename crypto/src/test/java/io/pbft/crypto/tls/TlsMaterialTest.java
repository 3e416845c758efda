package io.pbft.crypto.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.crypto.tls.CertificateAuthority.Issued;
import io.pbft.crypto.tls.CertificateAuthority.Usage;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsMaterialTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private final CertificateAuthority ca = CertificateAuthority.generate("test CA", Duration.ofDays(30), RANDOM);

  @TempDir
  Path dir;

  private void write(String name, Issued issued) {
    Pem.writeCertificate(dir.resolve(name + ".crt"), issued.certificate());
    Pem.writePrivateKey(dir.resolve(name + ".key"), issued.key());
  }

  @Test
  void issuedCertificateLoadsWithItsKeyAndNamesItsIdentity() {
    write("replica-2", ca.issue("replica-2", CertificateAuthority.withLoopback(List.of("r2.example")),
        Usage.SERVER_AND_CLIENT, Duration.ofDays(1)));
    TlsMaterial m = TlsMaterial.load(dir.resolve("replica-2.crt"), dir.resolve("replica-2.key"),
        List.of(ca.certificate()));
    assertEquals(TlsIdentity.replica(2), TlsIdentity.of(m.certificate()));
    assertEquals("[[2, r2.example], [2, localhost], [7, 127.0.0.1]]", sans(m.certificate()));
  }

  @Test
  void keyOfAnotherCertificateIsRefusedNamingBothFiles() {
    write("a", ca.issue("client-0", List.of(), Usage.CLIENT, Duration.ofDays(1)));
    write("b", ca.issue("client-1", List.of(), Usage.CLIENT, Duration.ofDays(1)));
    TlsMaterialException e = assertThrows(TlsMaterialException.class,
        () -> TlsMaterial.load(dir.resolve("a.crt"), dir.resolve("b.key"), List.of(ca.certificate())));
    assertTrue(e.getMessage().contains("key file " + dir.resolve("b.key") + " does not match certificate file "
        + dir.resolve("a.crt")), e.getMessage());
  }

  @Test
  void expiredCertificateIsRefusedWithItsEndDate() {
    Instant end = Instant.now().minus(Duration.ofDays(1));
    write("old", ca.issue("client-0", List.of(), Usage.CLIENT, end.minus(Duration.ofDays(10)), end));
    TlsMaterialException e = assertThrows(TlsMaterialException.class,
        () -> TlsMaterial.load(dir.resolve("old.crt"), dir.resolve("old.key"), List.of(ca.certificate())));
    assertTrue(e.getMessage().contains(dir.resolve("old.crt") + " expired on"), e.getMessage());
  }

  @Test
  void notYetValidCertificateIsRefused() {
    Instant start = Instant.now().plus(Duration.ofDays(1));
    write("future", ca.issue("client-0", List.of(), Usage.CLIENT, start, start.plus(Duration.ofDays(1))));
    TlsMaterialException e = assertThrows(TlsMaterialException.class,
        () -> TlsMaterial.load(dir.resolve("future.crt"), dir.resolve("future.key"), List.of(ca.certificate())));
    assertTrue(e.getMessage().contains("is not valid before"), e.getMessage());
  }

  @Test
  void certificateOfAnotherCaIsRefused() {
    CertificateAuthority other = CertificateAuthority.generate("other CA", Duration.ofDays(30), RANDOM);
    write("stranger", other.issue("replica-0", List.of(), Usage.SERVER_AND_CLIENT, Duration.ofDays(1)));
    TlsMaterialException e = assertThrows(TlsMaterialException.class,
        () -> TlsMaterial.load(dir.resolve("stranger.crt"), dir.resolve("stranger.key"), List.of(ca.certificate())));
    assertTrue(e.getMessage().contains("is not issued by the configured CA"), e.getMessage());
  }

  @Test
  void missingFileIsNamed() {
    TlsMaterialException e = assertThrows(TlsMaterialException.class,
        () -> TlsMaterial.load(dir.resolve("none.crt"), dir.resolve("none.key"), List.of(ca.certificate())));
    assertEquals("file " + dir.resolve("none.crt") + " does not exist", e.getMessage());
  }

  @Test
  void existingCaLoadsFromItsFilesAndIssues() {
    Pem.writeCertificate(dir.resolve("ca.crt"), ca.certificate());
    Pem.writePrivateKey(dir.resolve("ca.key"), ca.key());
    CertificateAuthority loaded = CertificateAuthority.load(dir.resolve("ca.crt"), dir.resolve("ca.key"), RANDOM);
    write("op", loaded.issue("operator", List.of(), Usage.CLIENT, Duration.ofDays(1)));
    TlsMaterial m = TlsMaterial.load(dir.resolve("op.crt"), dir.resolve("op.key"),
        TlsMaterial.loadTrusted(dir.resolve("ca.crt")));
    assertEquals(TlsIdentity.OPERATOR, TlsIdentity.of(m.certificate()));
  }

  private static String sans(X509Certificate c) {
    try {
      return String.valueOf(c.getSubjectAlternativeNames());
    } catch (java.security.cert.CertificateParsingException e) {
      throw new AssertionError(e);
    }
  }
}

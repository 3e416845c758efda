package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ClusterConfig;
import io.pbft.crypto.tls.CertificateAuthority;
import io.pbft.crypto.tls.Pem;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pbft keygen}'s TLS files: the layout, --hosts, an existing CA, --no-tls and --reissue-tls. */
class KeygenTlsTest {
  @TempDir
  Path dir;

  @Test
  void writesTheDocumentedFilesAndCertificatesNamingEachHost() throws Exception {
    Run run = Run.of("keygen", "--out", dir.toString(), "--clients", "2", "--hosts", "replica0,replica1,10.1.2.3,replica3",
        "--published-base-port", "17000");
    assertEquals(0, run.exitCode(), run.toString());
    for (String f : new String[] {"ca.crt", "ca.key", "replica-0.crt", "replica-0.key", "replica-3.crt",
        "client-0.crt", "client-1.key", "operator.crt", "operator.key"}) {
      assertTrue(Files.isRegularFile(dir.resolve("tls").resolve(f)), f);
      // certificates are public (a replica container, another uid, reads them through a bind
      // mount); private keys are the owner's alone
      String mode = java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(dir.resolve("tls").resolve(f)));
      assertEquals(f.endsWith(".crt") ? "rw-r--r--" : "rw-------", mode, f);
    }
    ClusterConfig inside = ClusterConfig.load(dir.resolve("cluster.yaml"));
    ClusterConfig hostSide = ClusterConfig.load(dir.resolve("cluster-host.yaml"));
    assertTrue(inside.tls().enabled());
    assertTrue(hostSide.tls().enabled());
    assertEquals("[[2, replica0], [2, localhost], [7, 127.0.0.1]]",
        String.valueOf(inside.replicaTls(0).certificate().getSubjectAlternativeNames()));
    assertEquals("[[7, 10.1.2.3], [2, localhost], [7, 127.0.0.1]]",
        String.valueOf(hostSide.replicaTls(2).certificate().getSubjectAlternativeNames()));
    assertEquals(hostSide.operatorTls().certificate(), inside.operatorTls().certificate());
  }

  @Test
  void existingCaIssuesTheCertificatesAndItsKeyStaysOut() throws Exception {
    CertificateAuthority ca = CertificateAuthority.generate("Example Corp CA", Duration.ofDays(30), new SecureRandom());
    Path caDir = Files.createDirectories(dir.resolve("ca"));
    Pem.writeCertificate(caDir.resolve("corp.crt"), ca.certificate());
    Pem.writePrivateKey(caDir.resolve("corp.key"), ca.key());
    Path out = dir.resolve("cluster");
    Run run = Run.of("keygen", "--out", out.toString(), "--tls-ca-cert", caDir.resolve("corp.crt").toString(),
        "--tls-ca-key", caDir.resolve("corp.key").toString());
    assertEquals(0, run.exitCode(), run.toString());
    assertFalse(Files.exists(out.resolve("tls/ca.key")));
    ClusterConfig config = ClusterConfig.load(out.resolve("cluster.yaml"));
    assertEquals(ca.certificate(), config.tlsTrusted().get(0));
    assertEquals(ca.certificate().getSubjectX500Principal(), config.replicaTls(1).certificate().getIssuerX500Principal());
  }

  @Test
  void caCertificateWithoutItsKeyIsAUsageError() {
    Run run = Run.of("keygen", "--out", dir.toString(), "--tls-ca-cert", "/nonexistent.crt");
    assertEquals(2, run.exitCode(), run.toString());
    assertTrue(run.err().contains("--tls-ca-cert and --tls-ca-key go together"), run.toString());
  }

  @Test
  void noTlsWritesPlaintextAndNoCertificates() {
    Run run = Run.of("keygen", "--out", dir.toString(), "--no-tls");
    assertEquals(0, run.exitCode(), run.toString());
    assertFalse(ClusterConfig.load(dir.resolve("cluster.yaml")).tls().enabled());
    assertFalse(Files.exists(dir.resolve("tls")));
  }

  @Test
  void reissueGivesEveryIdentityANewCertificateAndKeepsTheKeys() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString()).exitCode());
    ClusterConfig before = ClusterConfig.load(dir.resolve("cluster.yaml"));
    BigInteger serial = before.replicaTls(0).certificate().getSerialNumber();
    String yaml = Files.readString(dir.resolve("cluster.yaml"));
    Run run = Run.of("keygen", "--out", dir.toString(), "--reissue-tls");
    assertEquals(0, run.exitCode(), run.toString());
    ClusterConfig after = ClusterConfig.load(dir.resolve("cluster.yaml"));
    assertNotEquals(serial, after.replicaTls(0).certificate().getSerialNumber());
    assertEquals(yaml, Files.readString(dir.resolve("cluster.yaml")));
    assertEquals(before.tlsTrusted(), after.tlsTrusted());
  }
}

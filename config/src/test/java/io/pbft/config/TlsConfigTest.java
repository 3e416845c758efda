package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.crypto.tls.CertificateAuthority;
import io.pbft.crypto.tls.Pem;
import io.pbft.crypto.tls.TlsIdentity;
import io.pbft.crypto.tls.TlsMaterial;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsConfigTest {
  private static final SecureRandom RANDOM = new SecureRandom();

  @TempDir
  Path dir;

  private ClusterConfig generated() {
    ClusterSetup.generate(dir, 4, 2, "10.0.0.7", 7000, -1, RANDOM);
    return ClusterConfig.load(dir.resolve("cluster.yaml"));
  }

  @Test
  void generatedConfigurationHasTlsOnWithTheDocumentedLayout() {
    ClusterConfig config = generated();
    assertTrue(config.tls().enabled());
    for (String f : List.of("ca.crt", "ca.key", "replica-0.crt", "replica-3.key", "client-1.crt", "client-1.key",
        "operator.crt", "operator.key")) {
      assertTrue(Files.isRegularFile(dir.resolve("tls").resolve(f)), f);
    }
    TlsMaterial replica = config.replicaTls(3);
    assertEquals(TlsIdentity.replica(3), TlsIdentity.of(replica.certificate()));
    assertEquals(TlsIdentity.client(1), TlsIdentity.of(config.clientTls(1).certificate()));
    assertEquals(TlsIdentity.OPERATOR, TlsIdentity.of(config.operatorTls().certificate()));
  }

  @Test
  void yamlRoundTripKeepsTheTlsSection() {
    ClusterConfig config = generated();
    TlsConfig again = ClusterConfig.parse(config.toYaml(), dir).tls();
    assertTrue(again.enabled());
    assertEquals("tls/ca.crt", again.caCertFile());
    for (int i = 0; i < 4; i++) {
      assertEquals(new TlsConfig.Files("tls/replica-" + i + ".crt", "tls/replica-" + i + ".key"), again.replicaFiles(i));
    }
    assertEquals(new TlsConfig.Files("tls/client-1.crt", "tls/client-1.key"), again.clientFiles(1));
    assertEquals(new TlsConfig.Files("tls/operator.crt", "tls/operator.key"), again.operatorFiles());
  }

  @Test
  void externallyIssuedFilesCanBeNamedPerIdentity() {
    ClusterConfig config = generated();
    String yaml = config.toYaml().replace("certFile: tls/replica-1.crt", "certFile: /etc/pbft/r1/tls.crt");
    assertEquals("/etc/pbft/r1/tls.crt", ClusterConfig.parse(yaml, dir).tls().replicaFiles(1).certFile());
  }

  @Test
  void tlsCanBeTurnedOffInTheFileAndByOverride() {
    ClusterConfig config = generated();
    assertFalse(config.withOverrides(List.of("tls.enabled=false")).tls().enabled());
    assertFalse(ClusterConfig.parse(config.toYaml().replace("enabled: true", "enabled: false"), dir).tls().enabled());
    assertFalse(ClusterConfig.parse(config.withTls(TlsConfig.DISABLED).toYaml(), dir).tls().enabled());
    ConfigException e = assertThrows(ConfigException.class, () -> config.withOverrides(List.of("tls.enabled=maybe")));
    assertEquals("tls.enabled must be true or false, got 'maybe'", e.getMessage());
  }

  @Test
  void expiredReplicaCertificateIsALoadErrorNamingTheFile() {
    ClusterConfig config = generated();
    CertificateAuthority ca = CertificateAuthority.load(dir.resolve("tls/ca.crt"), dir.resolve("tls/ca.key"), RANDOM);
    Instant end = Instant.now().minus(Duration.ofHours(1));
    CertificateAuthority.Issued old = ca.issue("replica-1", List.of("10.0.0.7"),
        CertificateAuthority.Usage.SERVER_AND_CLIENT, end.minus(Duration.ofDays(2)), end);
    Pem.writeCertificate(dir.resolve("tls/replica-1.crt"), old.certificate());
    Pem.writePrivateKey(dir.resolve("tls/replica-1.key"), old.key());
    ConfigException e = assertThrows(ConfigException.class, () -> config.replicaTls(1));
    assertTrue(e.getMessage().startsWith("replica 1's TLS identity: certificate file " + dir.resolve("tls/replica-1.crt")
        + " expired on"), e.getMessage());
  }

  @Test
  void keyThatDoesNotMatchTheCertificateIsALoadError() throws Exception {
    ClusterConfig config = generated();
    Files.copy(dir.resolve("tls/replica-0.key"), dir.resolve("tls/replica-2.key"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    ConfigException e = assertThrows(ConfigException.class, () -> config.replicaTls(2));
    assertEquals("replica 2's TLS identity: key file " + dir.resolve("tls/replica-2.key")
        + " does not match certificate file " + dir.resolve("tls/replica-2.crt")
        + ": the private key is not the one the certificate was issued for", e.getMessage());
  }

  @Test
  void missingCaCertificateFailsTheLoadNamingTheFile() throws Exception {
    generated();
    Files.delete(dir.resolve("tls/ca.crt"));
    ConfigException e = assertThrows(ConfigException.class, () -> ClusterConfig.load(dir.resolve("cluster.yaml")));
    assertEquals(dir.resolve("cluster.yaml") + ": tls.caCertFile: file " + dir.resolve("tls/ca.crt")
        + " does not exist", e.getMessage());
  }

  @Test
  void certificateFromAnotherCaIsALoadError() {
    ClusterConfig config = generated();
    CertificateAuthority other = CertificateAuthority.generate("someone else", Duration.ofDays(2), RANDOM);
    CertificateAuthority.Issued forged = other.issue("operator", List.of(), CertificateAuthority.Usage.CLIENT,
        Duration.ofDays(1));
    Pem.writeCertificate(dir.resolve("tls/operator.crt"), forged.certificate());
    Pem.writePrivateKey(dir.resolve("tls/operator.key"), forged.key());
    ConfigException e = assertThrows(ConfigException.class, config::operatorTls);
    assertTrue(e.getMessage().contains("is not issued by the configured CA"), e.getMessage());
  }

  @Test
  void unknownKeyInTheTlsSectionIsRefused() {
    ClusterConfig config = generated();
    ConfigException e = assertThrows(ConfigException.class,
        () -> ClusterConfig.parse(config.toYaml().replace("caCertFile:", "caFile:"), dir));
    assertTrue(e.getMessage().startsWith("tls: unknown field 'caFile'"), e.getMessage());
  }

  @Test
  void replicaCertificateNamesItsHostAndLoopback() throws Exception {
    ClusterConfig config = generated();
    assertEquals("[[7, 10.0.0.7], [2, localhost], [7, 127.0.0.1]]",
        String.valueOf(config.replicaTls(0).certificate().getSubjectAlternativeNames()));
  }
}

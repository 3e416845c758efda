package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.Administration;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.KeyFiles;
import io.pbft.config.Member;
import io.pbft.config.Membership;
import io.pbft.config.ReconfigurationVerdict;
import io.pbft.config.Reconfigurations;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.crypto.tls.TlsIdentity;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pbft keygen --admin-keys} and {@code pbft keygen --add-to}: the keys run-time reconfiguration needs. */
class KeygenReconfigurationTest {
  @TempDir
  Path dir;

  private static String mode(Path file) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }

  /** Every file under {@code root} with its bytes, to show that nothing of it changed. */
  private static Map<String, String> contents(Path root) throws Exception {
    Map<String, String> all = new TreeMap<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        all.put(root.relativize(f).toString(), new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1));
      }
    }
    return all;
  }

  private void assertRefused(Run run, String... parts) {
    assertEquals(2, run.exitCode(), run.toString());
    for (String part : parts) {
      assertTrue(run.err().contains(part), "stderr lacks '" + part + "'\n" + run);
    }
    assertFalse(run.err().contains("\tat "), "no stack trace\n" + run);
  }

  // ---------------------------------------------------------------- --admin-keys

  @Test
  void adminKeysAreWrittenLikeTheOtherKeysAndNamedInTheConfiguration() throws Exception {
    Run run = Run.of("keygen", "--out", dir.toString(), "--no-tls", "--admin-keys", "3", "--admin-threshold", "2");
    assertEquals(0, run.exitCode(), run.toString());
    assertTrue(run.out().contains("wrote 3 administration keys"), run.toString());
    ClusterConfig config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    Administration admin = config.administration();
    assertEquals(2, admin.threshold());
    assertEquals(3, admin.keys().size());
    String replicaKeyMode = mode(dir.resolve("keys/replica-0.key"));
    assertEquals("rw-------", replicaKeyMode);
    for (int i = 0; i < 3; i++) {
      assertEquals("keys/admin-" + i + ".key", admin.keys().get(i).keyFile());
      assertEquals(replicaKeyMode, mode(dir.resolve("keys/admin-" + i + ".key")), "same permissions as the others");
      assertArrayEquals(admin.keys().get(i).publicKey(), config.administrationKeys(i).publicKey());
    }
  }

  @Test
  void thresholdIsOneByDefaultAndNoAdministrationUnlessAsked() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.resolve("a").toString(), "--no-tls", "--admin-keys", "2").exitCode());
    assertEquals(1, ClusterConfig.load(dir.resolve("a/cluster.yaml")).administration().threshold());
    assertEquals(0, Run.of("keygen", "--out", dir.resolve("b").toString(), "--no-tls").exitCode());
    assertTrue(ClusterConfig.load(dir.resolve("b/cluster.yaml")).administration().isNone());
    assertFalse(Files.exists(dir.resolve("b/keys/admin-0.key")));
  }

  @Test
  void badAdministrationOptionsAreRefusedBeforeAnythingIsWritten() {
    assertRefused(Run.of("keygen", "--out", dir.toString(), "--admin-threshold", "2"),
        "--admin-threshold needs --admin-keys");
    assertRefused(Run.of("keygen", "--out", dir.toString(), "--admin-keys", "2", "--admin-threshold", "3"),
        "--admin-threshold must be between 1 and 2 (--admin-keys), got 3");
    assertRefused(Run.of("keygen", "--out", dir.toString(), "--admin-keys", "2", "--admin-threshold", "0"),
        "--admin-threshold must be between 1 and 2");
    assertRefused(Run.of("keygen", "--out", dir.toString(), "--admin-keys", "0"), "--admin-keys must be between 1 and");
    assertFalse(Files.exists(dir.resolve("cluster.yaml")));
  }

  // ---------------------------------------------------------------- --add-to

  @Test
  void addToWritesTheNewReplicasKeysAndEntryAndChangesNothingElse() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString(), "--no-tls", "--admin-keys", "1").exitCode());
    Map<String, String> before = contents(dir);

    Run run = Run.of("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:7004");
    assertEquals(0, run.exitCode(), run.toString());
    Map<String, String> after = contents(dir);
    for (Map.Entry<String, String> e : before.entrySet()) {
      assertEquals(e.getValue(), after.get(e.getKey()), e.getKey() + " changed");
    }
    assertEquals(java.util.Set.of("keys/replica-4.key", "new-replica-4.yaml"),
        new java.util.TreeSet<>(after.keySet()).stream().filter(k -> !before.containsKey(k))
            .collect(java.util.stream.Collectors.toSet()));
    assertEquals("rw-------", mode(dir.resolve("keys/replica-4.key")));

    ReplicaInfo entry = ClusterConfig.parseReplicaEntry(dir.resolve("new-replica-4.yaml"));
    assertEquals(4, entry.id());
    assertEquals("127.0.0.1:7004", entry.address());
    assertArrayEquals(entry.publicKey(), KeyFiles.read(dir.resolve("keys/replica-4.key")).publicKey());
    assertTrue(run.out().contains(ClusterConfig.replicaEntryYaml(entry)), "the entry is printed\n" + run);
    assertTrue(run.out().contains("is unchanged"), run.toString());

    // The entry makes a next epoch that an administrator's signature gets accepted.
    ClusterConfig config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    Membership zero = Membership.initial(config);
    Membership one = zero.nextAdding(Member.of(entry));
    ReconfigurationVerdict v = Reconfigurations.validate(zero, ReconfigurationSigning.signed(
        Reconfigurations.command(zero, one, "add replica 4"), config.administrationKeys(0)));
    assertTrue(v.isAccepted(), v.toString());
    assertEquals(one, v.next());
  }

  @Test
  void addToIssuesACertificateWhenTheConfigurationHasTls() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString(), "--replicas", "4", "--clients", "1").exitCode());
    String yamlBefore = Files.readString(dir.resolve("cluster.yaml"));
    String replica0Cert = Files.readString(dir.resolve("tls/replica-0.crt"));
    Run run = Run.of("keygen", "--add-to", dir.toString(), "--address", "replica4.example:7000", "--id", "9");
    assertEquals(0, run.exitCode(), run.toString());
    assertEquals(yamlBefore, Files.readString(dir.resolve("cluster.yaml")));
    assertEquals(replica0Cert, Files.readString(dir.resolve("tls/replica-0.crt")), "the members' certificates stay");
    assertEquals("rw-------", mode(dir.resolve("tls/replica-9.key")));
    assertEquals("rw-r--r--", mode(dir.resolve("tls/replica-9.crt")));
    X509Certificate cert;
    try (var in = new ByteArrayInputStream(Files.readAllBytes(dir.resolve("tls/replica-9.crt")))) {
      cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    assertEquals(TlsIdentity.replica(9), TlsIdentity.of(cert));
    assertTrue(String.valueOf(cert.getSubjectAlternativeNames()).contains("replica4.example"));
    ClusterConfig config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    cert.verify(config.tlsTrusted().get(0).getPublicKey()); // issued by the cluster's CA
  }

  @Test
  void addToWithTlsNeedsTheCaKeyAndWritesNothingWithoutIt() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString(), "--clients", "1").exitCode());
    Files.move(dir.resolve("tls/ca.key"), dir.resolve("ca.key.offline"));
    Map<String, String> before = contents(dir);
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:7004"),
        "the configuration has TLS on, and the new replica's certificate needs the CA");
    assertEquals(before, contents(dir));
  }

  @Test
  void addToRefusesADirectoryWithoutAConfiguration() {
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:7004"),
        "cluster.yaml does not exist", "there is no configuration to add to");
  }

  @Test
  void addToRefusesAnIdOrAddressThatIsTaken() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString(), "--no-tls", "--base-port", "7000").exitCode());
    Map<String, String> before = contents(dir);
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:7009", "--id", "2"),
        "id 2 is taken by replica 2");
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:7001"),
        "address 127.0.0.1:7001 is taken by replica 1");
    assertEquals(before, contents(dir), "nothing written");

    assertEquals(0, Run.of("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:7004").exitCode());
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:7004"),
        "address 127.0.0.1:7004 is taken by replica 4, added earlier (new-replica-4.yaml) and not yet a member");
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:7009", "--id", "4"),
        "id 4 is taken by replica 4, added earlier");
    Run next = Run.of("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:7005");
    assertEquals(0, next.exitCode(), next.toString());
    assertTrue(Files.exists(ClusterSetup.newReplicaFile(dir, 5)), "the next free id is above the added ones");
  }

  // ---------------------------------------------------------------- --add-to --replacing

  /**
   * A replacement machine for a member: its key and a certificate naming the same replica, under
   * replacements/, the member's files and cluster.yaml untouched; the entry makes a command
   * replacing the member that the group accepts, with no warning about the certificate.
   */
  @Test
  void replacingWritesTheMembersNextKeyAndCertificateBesideItsCurrentOnes() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString(), "--clients", "1", "--base-port", "7000",
        "--admin-keys", "1").exitCode());
    Map<String, String> before = contents(dir);
    Run run = Run.of("keygen", "--add-to", dir.toString(), "--replacing", "2", "--address", "10.0.0.9:7002");
    assertEquals(0, run.exitCode(), run.toString());
    Map<String, String> after = contents(dir);
    for (Map.Entry<String, String> e : before.entrySet()) {
      assertEquals(e.getValue(), after.get(e.getKey()), e.getKey() + " changed");
    }
    assertEquals(java.util.Set.of("replacement-replica-2.yaml", "replacements/replica-2/keys/replica-2.key",
            "replacements/replica-2/tls/replica-2.crt", "replacements/replica-2/tls/replica-2.key"),
        after.keySet().stream().filter(k -> !before.containsKey(k)).collect(java.util.stream.Collectors.toSet()));
    assertEquals("rw-------", mode(dir.resolve("replacements/replica-2/keys/replica-2.key")));
    assertEquals("rw-------", mode(dir.resolve("replacements/replica-2/tls/replica-2.key")));

    ReplicaInfo entry = ClusterConfig.parseReplicaEntry(ClusterSetup.replacementFile(dir, 2));
    assertEquals(2, entry.id());
    assertEquals("10.0.0.9:7002", entry.address());
    assertArrayEquals(entry.publicKey(), KeyFiles.read(dir.resolve(entry.keyFile())).publicKey());
    ClusterConfig config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    assertFalse(java.util.Arrays.equals(entry.publicKey(), config.replica(2).publicKey()), "a new key");
    X509Certificate cert;
    try (var in = new ByteArrayInputStream(Files.readAllBytes(dir.resolve("replacements/replica-2/tls/replica-2.crt")))) {
      cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    assertEquals(TlsIdentity.replica(2), TlsIdentity.of(cert), "the certificate names the replica it replaces");
    assertTrue(String.valueOf(cert.getSubjectAlternativeNames()).contains("10.0.0.9"));
    cert.verify(config.tlsTrusted().get(0).getPublicKey());

    Path command = dir.resolve("replace-2.cmd");
    Run replace = Run.of("admin", "replace-replica", "--config", dir.resolve("cluster.yaml").toString(), "--id", "2",
        "--entry", ClusterSetup.replacementFile(dir, 2).toString(), "--out", command.toString());
    assertEquals(0, replace.exitCode(), replace.toString());
    assertFalse(replace.out().contains("warning") || replace.out().contains("note:"), replace.toString());
    assertEquals(0, Run.of("admin", "sign", "--config", dir.resolve("cluster.yaml").toString(), "--key",
        dir.resolve("keys/admin-0.key").toString(), command.toString()).exitCode());
    Run check = Run.of("admin", "check", "--config", dir.resolve("cluster.yaml").toString(), command.toString());
    assertEquals(0, check.exitCode(), check.toString());

    // Prepared once: a second replacement of the same member is refused until the first is removed.
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--replacing", "2", "--address", "10.0.0.8:7002"),
        "--replacing 2:", "already exists");
  }

  /** Without --address, the member's next key at its own address (a key rotation). */
  @Test
  void replacingWithoutAnAddressKeepsTheMembersAddress() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString(), "--no-tls", "--base-port", "7000", "--admin-keys", "1")
        .exitCode());
    Run run = Run.of("keygen", "--add-to", dir.toString(), "--replacing", "1");
    assertEquals(0, run.exitCode(), run.toString());
    ReplicaInfo entry = ClusterConfig.parseReplicaEntry(ClusterSetup.replacementFile(dir, 1));
    ClusterConfig config = ClusterConfig.load(dir.resolve("cluster.yaml"));
    assertEquals(config.replica(1).address(), entry.address());
    assertEquals("replacements/replica-1/keys/replica-1.key", entry.keyFile());
    assertTrue(run.out().contains("rotate-key --id 1"), run.toString());
    Run rotate = Run.of("admin", "rotate-key", "--config", dir.resolve("cluster.yaml").toString(), "--id", "1",
        "--entry", ClusterSetup.replacementFile(dir, 1).toString(), "--out", dir.resolve("rotate-1.cmd").toString());
    assertEquals(0, rotate.exitCode(), rotate.toString());
    assertFalse(rotate.out().contains("note:"), rotate.toString());
  }

  @Test
  void replacingRefusesANonMemberATakenAddressAndId() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString(), "--no-tls", "--base-port", "7000").exitCode());
    Map<String, String> before = contents(dir);
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--replacing", "7", "--address", "127.0.0.1:7009"),
        "--replacing 7:", "replica 7 is not a member");
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--replacing", "2", "--address", "127.0.0.1:7001"),
        "address 127.0.0.1:7001 is taken by replica 1");
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--replacing", "2", "--id", "2"),
        "--id does not go with it");
    assertRefused(Run.of("keygen", "--out", dir.resolve("other").toString(), "--replacing", "2"),
        "--replacing goes with --add-to");
    assertEquals(before, contents(dir), "nothing written");
  }

  /**
   * The address a replacement machine was prepared for is taken until the replacement takes
   * effect (or its files are removed): neither a new replica nor another member's replacement gets
   * it. A rotation's entry names the member's own address, already taken.
   */
  @Test
  void aPreparedReplacementsAddressIsTaken() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString(), "--no-tls", "--base-port", "7000").exitCode());
    assertEquals(0, Run.of("keygen", "--add-to", dir.toString(), "--replacing", "2", "--address", "10.0.0.9:7002")
        .exitCode());
    Map<String, String> before = contents(dir);
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "10.0.0.9:7002"),
        "address 10.0.0.9:7002 is taken by the replacement of replica 2, prepared earlier (replacement-replica-2.yaml)");
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--replacing", "3", "--address", "10.0.0.9:7002"),
        "address 10.0.0.9:7002 is taken by the replacement of replica 2");
    assertEquals(before, contents(dir), "nothing written");
    assertEquals(0, Run.of("keygen", "--add-to", dir.toString(), "--address", "10.0.0.9:7004").exitCode(),
        "another port of that host is free");
    assertEquals(1, ClusterSetup.pendingReplacements(dir, ClusterConfig.load(dir.resolve("cluster.yaml"))).size());
  }

  @Test
  void addToNeedsAWellFormedAddressAndNoOptionsOfANewConfiguration() throws Exception {
    assertEquals(0, Run.of("keygen", "--out", dir.toString(), "--no-tls").exitCode());
    assertRefused(Run.of("keygen", "--add-to", dir.toString()), "--add-to needs --address HOST:PORT");
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1"), "--address:",
        "is not host:port");
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "h:99999"), "--address:", "99999");
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "h:7000", "--replicas", "5"),
        "--add-to cannot be combined with --replicas");
    assertRefused(Run.of("keygen", "--add-to", dir.toString(), "--address", "h:7000", "--out", dir.toString()),
        "--add-to cannot be combined with --out");
    assertRefused(Run.of("keygen", "--out", dir.resolve("x").toString(), "--id", "4"), "--id goes with --add-to");
    assertRefused(Run.of("keygen"), "Missing required option: '--out=DIR'");
  }
}

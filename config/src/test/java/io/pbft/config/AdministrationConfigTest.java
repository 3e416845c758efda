package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code administration:} section of cluster.yaml: the keys that may sign changes of the group. */
class AdministrationConfigTest {
  @TempDir
  Path dir;

  private static Ed25519Keys keys(int index) {
    byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
    Arrays.fill(secret, (byte) (index + 1));
    return Ed25519Keys.fromSecretKey(secret);
  }

  private static String key(int index) {
    return Digests.hex(keys(index).publicKey());
  }

  /** Four replicas with keys 0..3, then {@code extra} at the top level. */
  private static String yaml(String extra) {
    StringBuilder s = new StringBuilder("replicas:\n");
    for (int i = 0; i < 4; i++) {
      s.append("  - id: ").append(i).append("\n    address: localhost:").append(7000 + i)
          .append("\n    publicKey: ").append(key(i)).append('\n');
    }
    return s.append(extra).toString();
  }

  /** An administration section listing the keys of the given indexes (no key files). */
  private static String section(String threshold, int... keyIndexes) {
    StringBuilder s = new StringBuilder("administration:\n");
    if (threshold != null) {
      s.append("  threshold: ").append(threshold).append('\n');
    }
    s.append("  keys:\n");
    for (int k : keyIndexes) {
      s.append("  - publicKey: ").append(key(k)).append('\n');
    }
    return s.toString();
  }

  private static String rejected(String yaml) {
    return assertThrows(ConfigException.class, () -> ClusterConfig.parse(yaml, null)).getMessage();
  }

  private static void assertContains(String message, String... parts) {
    for (String part : parts) {
      assertTrue(message.contains(part), "message '" + message + "' lacks '" + part + "'");
    }
  }

  @Test
  void aFileWithoutTheSectionHasNoAdministrationAndWritesNone() {
    ClusterConfig c = ClusterConfig.parse(yaml(""), null);
    assertTrue(c.administration().isNone());
    assertEquals(Administration.NONE, c.administration());
    assertFalse(c.toYaml().contains("administration"), "a file without the section is written as before");
    assertTrue(ClusterConfig.parse(c.toYaml(), null).administration().isNone());
  }

  @Test
  void anEmptySectionIsNoAdministration() {
    assertTrue(ClusterConfig.parse(yaml("administration:\n"), null).administration().isNone());
  }

  @Test
  void keysKeyFilesAndThresholdAreRead() {
    ClusterConfig c = ClusterConfig.parse(yaml("administration:\n  threshold: 2\n  keys:\n"
        + "  - publicKey: " + key(10) + "\n    keyFile: keys/admin-0.key\n"
        + "  - publicKey: " + key(11) + "\n"
        + "  - {publicKey: " + key(12) + ", keyFile: /secure/admin-2.key}\n"), null);
    Administration a = c.administration();
    assertEquals(2, a.threshold());
    assertEquals(3, a.keys().size());
    assertArrayEquals(keys(10).publicKey(), a.keys().get(0).publicKey());
    assertEquals("keys/admin-0.key", a.keys().get(0).keyFile());
    assertNull(a.keys().get(1).keyFile());
    assertEquals("/secure/admin-2.key", a.keys().get(2).keyFile());
    assertTrue(a.hasKey(keys(11).publicKey()));
    assertFalse(a.hasKey(keys(0).publicKey()));
  }

  @Test
  void thresholdIsOneUnlessGiven() {
    assertEquals(1, ClusterConfig.parse(yaml(section(null, 10, 11, 12)), null).administration().threshold());
  }

  @Test
  void toYamlParsesBackToTheSameAdministration() {
    ClusterConfig c = ClusterConfig.parse(yaml("administration:\n  threshold: 2\n  keys:\n"
        + "  - {publicKey: " + key(10) + ", keyFile: keys/admin-0.key}\n"
        + "  - {publicKey: " + key(11) + "}\n"
        + "  - {publicKey: " + key(12) + ", keyFile: keys/admin-2.key}\n"), null);
    String written = c.toYaml();
    ClusterConfig again = ClusterConfig.parse(written, null);
    assertEquals(c.administration(), again.administration());
    assertEquals(written, again.toYaml());
    // the other ways to derive a configuration keep it too
    assertEquals(c.administration(), c.withOverrides(List.of("protocol.pipelineDepthMax=2")).administration());
    assertEquals(c.administration(), c.withTls(TlsConfig.DISABLED).administration());
    assertEquals(c.administration(), c.withMetrics(i -> null).administration());
  }

  @Test
  void unknownFieldsAreRefusedByName() {
    assertContains(rejected(yaml("administration:\n  quorum: 2\n  keys:\n  - publicKey: " + key(10) + "\n")),
        "administration: unknown field 'quorum'");
    assertContains(rejected(yaml("administration:\n  keys:\n  - publicKey: " + key(10) + "\n    name: alice\n")),
        "administration.keys[0]: unknown field 'name'");
    assertContains(rejected(yaml("administration: " + key(10) + "\n")), "administration must be a mapping");
    assertContains(rejected(yaml("administration:\n  keys: " + key(10) + "\n")), "administration.keys must be a list");
    assertContains(rejected(yaml("administration:\n  threshold: 1\n")), "administration.keys must be a list");
  }

  @Test
  void anInvalidKeyIsRefusedNamingItsPosition() {
    assertContains(rejected(yaml("administration:\n  keys:\n  - publicKey: " + key(10) + "\n  - publicKey: xyz\n")),
        "administration.keys[1]", "publicKey is not hexadecimal");
    assertContains(rejected(yaml("administration:\n  keys:\n  - publicKey: abcd\n")),
        "administration.keys[0]: publicKey is not a valid Ed25519 public key");
    assertContains(rejected(yaml("administration:\n  keys:\n  - keyFile: keys/admin-0.key\n")),
        "administration.keys[0]: 'publicKey' is required");
  }

  @Test
  void aKeyListedTwiceIsRefused() {
    assertContains(rejected(yaml(section("1", 10, 11, 10))),
        "administration.keys[2]: publicKey is listed twice (also administration.keys[0])");
  }

  @Test
  void thresholdOutsideOneToTheNumberOfKeysIsRefused() {
    assertContains(rejected(yaml(section("0", 10, 11))),
        "administration.threshold must be between 1 and 2 (the number of keys), got 0");
    assertContains(rejected(yaml(section("3", 10, 11))),
        "administration.threshold must be between 1 and 2 (the number of keys), got 3");
    assertContains(rejected(yaml(section("-1", 10))), "administration.threshold must be between 1 and 1");
    assertContains(rejected(yaml(section("two", 10, 11))), "administration: 'threshold' must be an integer");
    assertContains(rejected(yaml(section("1.5", 10, 11))), "administration: 'threshold' must be an integer");
  }

  @Test
  void anEmptyKeyListIsRefused() {
    assertContains(rejected(yaml("administration:\n  keys: []\n")), "administration.keys must list at least one key");
  }

  @Test
  void aReplicasKeyCannotBeAnAdministrationKey() {
    assertContains(rejected(yaml(section("1", 10, 2))),
        "administration.keys[1]: publicKey is replica 2's key");
  }

  @Test
  void administrationKeysLoadFromTheirKeyFilesAndMustMatch() throws Exception {
    KeyFiles.write(dir.resolve("keys/admin-0.key"), keys(10));
    KeyFiles.write(dir.resolve("keys/admin-1.key"), keys(99));
    Path file = dir.resolve("cluster.yaml");
    Files.writeString(file, yaml("administration:\n  keys:\n"
        + "  - {publicKey: " + key(10) + ", keyFile: keys/admin-0.key}\n"
        + "  - {publicKey: " + key(11) + ", keyFile: keys/admin-1.key}\n"
        + "  - {publicKey: " + key(12) + "}\n"));
    ClusterConfig c = ClusterConfig.load(file);
    assertEquals(keys(10), c.administrationKeys(0));
    assertContains(assertThrows(ConfigException.class, () -> c.administrationKeys(1)).getMessage(),
        "administration key 1", "does not match the public key");
    assertContains(assertThrows(ConfigException.class, () -> c.administrationKeys(2)).getMessage(),
        "administration key 2 has no keyFile");
    assertContains(assertThrows(ConfigException.class, () -> c.administrationKeys(3)).getMessage(),
        "no administration key 3");
  }

  @Test
  void loadErrorsInTheSectionNameTheFile() throws Exception {
    Path file = dir.resolve("cluster.yaml");
    Files.writeString(file, yaml(section("5", 10)));
    assertContains(assertThrows(ConfigException.class, () -> ClusterConfig.load(file)).getMessage(),
        file.toString(), "administration.threshold");
  }
}

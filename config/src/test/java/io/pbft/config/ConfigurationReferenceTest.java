package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/CONFIGURATION.md is generated from the declarations and must agree with them; README's
 * example configuration must be one the parser accepts.
 */
class ConfigurationReferenceTest {
  // Surefire runs in the module's directory.
  private static final Path DOC = Path.of("..", "docs", "CONFIGURATION.md");
  private static final Path README = Path.of("..", "README.md");

  @Test
  void configurationDocumentAgreesWithTheDeclarations() throws Exception {
    String expected = ConfigurationReference.markdown();
    if (Boolean.getBoolean("pbft.docs.update")) {
      Files.writeString(DOC, expected);
    }
    String actual = Files.exists(DOC) ? Files.readString(DOC) : "(missing)";
    assertEquals(expected, actual, "docs/CONFIGURATION.md disagrees with the declarations; regenerate it with "
        + "mvn -o -q -pl config -am test -Dtest=ConfigurationReferenceTest -Dsurefire.failIfNoSpecifiedTests=false "
        + "-Dpbft.docs.update=true");
  }

  @Test
  void everySettingHasAUnitAndAOneSentenceMeaning() {
    for (SettingsGroup<?> group : ConfigurationReference.GROUPS) {
      for (Setting s : group.settings()) {
        assertFalse(s.unit().isBlank(), s.key());
        assertFalse(s.doc().isBlank(), s.key());
        assertFalse(s.doc().contains("\n"), s.key());
        assertTrue(s.doc().endsWith("."), s.key() + ": " + s.doc());
      }
    }
  }

  @Test
  void everyKeyAndEveryRuleAppearsInTheDocument() {
    String md = ConfigurationReference.markdown();
    for (SettingsGroup<?> group : ConfigurationReference.GROUPS) {
      for (Setting s : group.settings()) {
        assertTrue(md.contains("| `" + s.key() + "` | "), s.key());
      }
      for (SettingsRule<?> r : group.rules()) {
        assertTrue(md.contains("- " + r.doc() + "\n"), r.doc());
      }
    }
    for (SettingsRule<?> r : ClusterConfig.RULES) {
      assertTrue(md.contains("- " + r.doc() + "\n"), r.doc());
    }
  }

  @Test
  void bytesAreAlsoGivenInKibMibOrGib() {
    assertEquals("4194304 (4 MiB)", ConfigurationReference.amount(4 << 20, "bytes"));
    assertEquals("1073741824 (1 GiB)", ConfigurationReference.amount(1 << 30, "bytes"));
    assertEquals("3072 (3 KiB)", ConfigurationReference.amount(3072, "bytes"));
    assertEquals("1000", ConfigurationReference.amount(1000, "bytes"));
    assertEquals("1024", ConfigurationReference.amount(1024, "ms"));
  }

  /**
   * The example in README's "Configuration file" section, with its shortened keys ("6c1f...")
   * replaced by real ones, parses, and what it shows is what a replica would use.
   */
  @Test
  void readmeConfigurationExampleParses() throws Exception {
    String readme = Files.readString(README);
    int section = readme.indexOf("### Configuration file");
    assertTrue(section >= 0, "README has no 'Configuration file' section");
    int start = readme.indexOf("```yaml\n", section);
    int end = readme.indexOf("```\n", start + 8);
    assertTrue(start >= 0 && end > start, "no yaml example in README's 'Configuration file' section");
    String example = readme.substring(start + "```yaml\n".length(), end);
    Matcher m = Pattern.compile("publicKey: [0-9a-f]+\\.\\.\\.").matcher(example);
    StringBuilder yaml = new StringBuilder();
    int keys = 0;
    while (m.find()) {
      byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
      Arrays.fill(secret, (byte) (++keys));
      m.appendReplacement(yaml, "publicKey: " + Digests.hex(Ed25519Keys.fromSecretKey(secret).publicKey()));
    }
    m.appendTail(yaml);
    ClusterConfig c = ClusterConfig.parse(yaml.toString(), null);
    assertEquals(keys, c.n() + c.clients().size() + c.administration().keys().size(),
        "every replica, client and administration key of the example has a key");
    assertFalse(c.administration().isNone(), "the example shows the administration section");
    assertTrue(c.n() >= 3 * c.f() + 1);
    assertEquals(ClusterConfig.parse(c.toYaml(), null).protocol(), c.protocol());
  }
}

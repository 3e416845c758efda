package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Properties;
import org.junit.jupiter.api.Test;

class LocalClusterSettingsTest {
  private static Properties props(String... keyValues) {
    Properties p = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      p.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return p;
  }

  @Test
  void defaultsAreTheValuesLocalClusterUsedAsConstants() {
    LocalClusterSettings l = LocalClusterSettings.defaults();
    assertEquals(1024, l.heapMb(), "-Xmx1g");
    assertEquals(60_000, l.startTimeoutMs(), "START_TIMEOUT");
    assertEquals(5_000, l.stopGraceMs(), "STOP_GRACE");
  }

  @Test
  void unsetPropertiesKeepTheDefaults() {
    assertEquals(LocalClusterSettings.defaults(), LocalClusterSettings.from(props("pbft.other", "1")));
  }

  @Test
  void aPropertyOverridesItsSetting() {
    LocalClusterSettings s = LocalClusterSettings.from(props("pbft.cluster.heapMb", " 2048 ", "pbft.cluster.stopGraceMs", "0"));
    assertEquals(2048, s.heapMb());
    assertEquals(0, s.stopGraceMs());
    assertEquals(LocalClusterSettings.defaults().startTimeoutMs(), s.startTimeoutMs());
  }

  @Test
  void aPropertyThatIsNotAnIntegerIsRejectedNamingIt() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> LocalClusterSettings.from(props("pbft.cluster.heapMb", "1g")));
    assertEquals("pbft.cluster.heapMb must be between 64 and 1048576 MiB, got '1g'", e.getMessage());
  }

  @Test
  void aPropertyOutOfRangeIsRejectedNamingIt() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> LocalClusterSettings.from(props("pbft.cluster.startTimeoutMs", "10")));
    assertEquals("pbft.cluster.startTimeoutMs must be between 1000 and 3600000 ms, got 10", e.getMessage());
  }
}

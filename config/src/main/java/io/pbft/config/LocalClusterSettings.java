package io.pbft.config;

import java.util.Properties;

/**
 * Settings of the processes {@code pbft demo} and {@code pbft bench} start on this machine
 * (replicas, the unreplicated server): Java system properties {@code pbft.cluster.NAME} of the
 * command's JVM, not part of {@code cluster.yaml}. Each setting is declared once below.
 */
public final class LocalClusterSettings extends GroupSettings {
  public static final SettingsGroup<LocalClusterSettings> GROUP = new SettingsGroup<>("pbft.cluster",
      "Local clusters of `pbft demo` and `pbft bench`: Java system properties",
      "When demo and bench start replica processes (or the unreplicated server) on this machine, they read "
          + "these from the Java system properties of their own JVM (`java -Dpbft.cluster.heapMb=2048 -jar "
          + "cli/target/pbft.jar bench ...`), not from `cluster.yaml`. `-Dpbft.cluster.jvmFlags=...` appends "
          + "further JVM flags to every process started; later flags win, so `-Xmx4g` there overrides heapMb.",
      LocalClusterSettings::new);

  public static final Setting HEAP_MB = GROUP.setting("heapMb", "MiB", 64, 1 << 20, 1024,
      "Largest heap (-Xmx) of each process started.");
  public static final Setting START_TIMEOUT_MS = GROUP.setting("startTimeoutMs", "ms", 1000, 3_600_000, 60_000,
      "How long the command waits for the processes it started to answer before it gives up.");
  public static final Setting STOP_GRACE_MS = GROUP.setting("stopGraceMs", "ms", 0, 600_000, 5000,
      "How long stopped processes may take to exit after SIGTERM before they are killed.");

  private LocalClusterSettings(int[] values) {
    super(values);
  }

  public static LocalClusterSettings defaults() {
    return GROUP.defaults();
  }

  /** The settings this JVM's system properties give (defaults for the properties not set). */
  public static LocalClusterSettings fromSystemProperties() {
    return from(System.getProperties());
  }

  /**
   * The settings {@code properties} give; a value that is not an integer in its range is a
   * {@link ConfigException} naming the property.
   */
  public static LocalClusterSettings from(Properties properties) {
    int[] values = GROUP.defaultValues();
    for (Setting s : GROUP.settings()) {
      String text = properties.getProperty(s.key());
      if (text == null) {
        continue;
      }
      long value;
      try {
        value = Long.parseLong(text.trim());
      } catch (NumberFormatException e) {
        throw s.outOfRange("'" + text + "'");
      }
      values[s.index()] = s.check(value);
    }
    return GROUP.create(values);
  }

  @Override
  public SettingsGroup<LocalClusterSettings> group() {
    return GROUP;
  }

  public int heapMb() {
    return get(HEAP_MB);
  }

  public int startTimeoutMs() {
    return get(START_TIMEOUT_MS);
  }

  public int stopGraceMs() {
    return get(STOP_GRACE_MS);
  }
}

package io.pbft.config;

/**
 * One tunable setting, declared once in the {@link SettingsGroup} that holds it: its name, unit,
 * allowed range, default and a one-line meaning. Validation, the {@code cluster.yaml} reader and
 * writer, and {@code docs/CONFIGURATION.md} all work from these declarations, so a setting is
 * added, bounded or documented in one place.
 */
public final class Setting {
  private final SettingsGroup<?> group;
  private final int index;
  private final String name;
  private final String unit;
  private final int min;
  private final int max;
  private final int defaultValue;
  private final String doc;

  Setting(SettingsGroup<?> group, int index, String name, String unit, int min, int max, int defaultValue,
      String doc) {
    if (min > max || defaultValue < min || defaultValue > max) {
      throw new IllegalArgumentException(group.name() + "." + name + ": default " + defaultValue
          + " outside its range " + min + ".." + max);
    }
    this.group = group;
    this.index = index;
    this.name = name;
    this.unit = unit;
    this.min = min;
    this.max = max;
    this.defaultValue = defaultValue;
    this.doc = doc;
  }

  /** The name within its group, as written in the file: {@code windowSize}. */
  public String name() {
    return name;
  }

  /** The full name, as error messages and the documentation give it: {@code protocol.windowSize}. */
  public String key() {
    return group.name() + "." + name;
  }

  public SettingsGroup<?> group() {
    return group;
  }

  /** What the value counts: {@code ms}, {@code bytes}, {@code requests}, ... */
  public String unit() {
    return unit;
  }

  public int min() {
    return min;
  }

  public int max() {
    return max;
  }

  public int defaultValue() {
    return defaultValue;
  }

  /** One line on what the setting does, for the documentation. */
  public String doc() {
    return doc;
  }

  /** Position in its group: the order of the file, the documentation and the values. */
  int index() {
    return index;
  }

  /** Returns {@code value} if it lies in the allowed range; otherwise says which key and range. */
  int check(long value) {
    if (value < min || value > max) {
      throw outOfRange(Long.toString(value));
    }
    return (int) value;
  }

  ConfigException outOfRange(String got) {
    return new ConfigException(key() + " must be between " + min + " and " + max + " " + unit + ", got " + got);
  }

  @Override
  public String toString() {
    return key();
  }
}

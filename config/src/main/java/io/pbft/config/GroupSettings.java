package io.pbft.config;

import java.util.Arrays;

/**
 * The values of one settings group, immutable and valid: {@link ProtocolSettings},
 * {@link TransportSettings}, {@link LocalClusterSettings}. Each subclass declares its settings
 * in its {@link SettingsGroup} and offers a named accessor per setting; {@link #get} reads any
 * of them by declaration.
 */
public abstract class GroupSettings {
  private final int[] values;

  GroupSettings(int[] values) {
    this.values = values;
  }

  /** The group that declares these settings. */
  public abstract SettingsGroup<?> group();

  /** The value of {@code setting}, which must belong to this group. */
  public int get(Setting setting) {
    return values[group().indexOf(setting)];
  }

  /** A copy of the values, indexed as declared (for builders). */
  int[] values() {
    return values.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o != null && o.getClass() == getClass() && Arrays.equals(values, ((GroupSettings) o).values);
  }

  @Override
  public int hashCode() {
    return getClass().hashCode() * 31 + Arrays.hashCode(values);
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder(getClass().getSimpleName()).append('{');
    for (Setting setting : group().settings()) {
      if (setting.index() > 0) {
        s.append(", ");
      }
      s.append(setting.name()).append('=').append(values[setting.index()]);
    }
    return s.append('}').toString();
  }
}

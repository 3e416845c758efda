package io.pbft.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * The declarations of one group of settings ({@code protocol}, {@code transport}, ...): each
 * {@link Setting} and each {@link SettingsRule} between them, in the order of the file and the
 * documentation. Values are made only through {@link #create}, which checks every range and
 * rule, so a settings object that exists is a valid one.
 *
 * @param <T> the immutable settings class whose values this group declares
 */
public final class SettingsGroup<T extends GroupSettings> {
  private final String name;
  private final String title;
  private final String doc;
  private final Function<int[], T> factory;
  private final List<Setting> settings = new ArrayList<>();
  private final List<SettingsRule<T>> rules = new ArrayList<>();

  SettingsGroup(String name, String title, String doc, Function<int[], T> factory) {
    this.name = name;
    this.title = title;
    this.doc = doc;
    this.factory = factory;
  }

  /** Declares the next setting of the group. */
  Setting setting(String settingName, String unit, int min, int max, int defaultValue, String settingDoc) {
    if (find(settingName) != null) {
      throw new IllegalArgumentException(name + "." + settingName + " is declared twice");
    }
    Setting s = new Setting(this, settings.size(), settingName, unit, min, max, defaultValue, settingDoc);
    settings.add(s);
    return s;
  }

  /** Declares a rule between settings of the group. */
  void rule(String ruleDoc, Function<T, String> violation) {
    rules.add(new SettingsRule<>(ruleDoc, violation));
  }

  /** The section of {@code cluster.yaml} ({@code protocol}), or the prefix of the keys. */
  public String name() {
    return name;
  }

  /** A heading for the documentation. */
  public String title() {
    return title;
  }

  /** A paragraph for the documentation: what the group configures and where its values come from. */
  public String doc() {
    return doc;
  }

  public List<Setting> settings() {
    return Collections.unmodifiableList(settings);
  }

  public List<SettingsRule<T>> rules() {
    return Collections.unmodifiableList(rules);
  }

  /** The setting called {@code settingName} in this group, or null. */
  public Setting find(String settingName) {
    for (Setting s : settings) {
      if (s.name().equals(settingName)) {
        return s;
      }
    }
    return null;
  }

  int indexOf(Setting s) {
    if (s.group() != this) {
      throw new IllegalArgumentException(s.key() + " is not a setting of " + name);
    }
    return s.index();
  }

  int[] defaultValues() {
    int[] values = new int[settings.size()];
    for (Setting s : settings) {
      values[s.index()] = s.defaultValue();
    }
    return values;
  }

  T defaults() {
    return create(defaultValues());
  }

  /**
   * Settings with these values (indexed as declared): each in its range, then every rule kept;
   * otherwise a {@link ConfigException} that names the key.
   */
  T create(int[] values) {
    if (values.length != settings.size()) {
      throw new IllegalArgumentException(name + " has " + settings.size() + " settings, got " + values.length + " values");
    }
    for (Setting s : settings) {
      s.check(values[s.index()]);
    }
    T created = factory.apply(values.clone());
    for (SettingsRule<T> r : rules) {
      r.check(created);
    }
    return created;
  }
}

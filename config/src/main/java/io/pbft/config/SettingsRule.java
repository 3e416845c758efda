package io.pbft.config;

import java.util.function.Function;

/**
 * A rule between settings that ranges alone cannot express, declared with the sentence that
 * documents it.
 *
 * @param doc the rule and why it holds, for the documentation
 * @param violation the message naming the keys and values that break the rule, or null if the
 *     settings keep it
 */
public record SettingsRule<T>(String doc, Function<T, String> violation) {
  void check(T settings) {
    String message = violation.apply(settings);
    if (message != null) {
      throw new ConfigException(message);
    }
  }
}

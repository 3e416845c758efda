package io.pbft.chaos.script;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One command line of a script, split at blanks: its name, its plain words ({@code 0->2},
 * {@code +1000}, {@code prepare}) and its {@code key=value} options, in order. A word
 * {@code @T} is the option {@code @} (a replica's clock).
 */
record Command(String name, List<String> words, Map<String, String> options) {

  static Command parse(String line) {
    String[] tokens = line.strip().split("\\s+");
    List<String> words = new ArrayList<>();
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 1; i < tokens.length; i++) {
      String t = tokens[i];
      int eq = t.indexOf('=');
      if (t.startsWith("@")) {
        options.put("@", t.substring(1));
      } else if (eq > 0 && !t.contains("->")) {
        options.put(t.substring(0, eq), t.substring(eq + 1));
      } else {
        words.add(t);
      }
    }
    return new Command(tokens[0], List.copyOf(words), options);
  }

  boolean has(String option) {
    return options.containsKey(option);
  }

  String option(String key, String otherwise) {
    return options.getOrDefault(key, otherwise);
  }

  String required(String key) {
    String v = options.get(key);
    if (v == null) {
      throw new ScriptError(name + " needs " + key + "=");
    }
    return v;
  }

  long longOption(String key, long otherwise) {
    String v = options.get(key);
    return v == null ? otherwise : parseLong(key, v);
  }

  static long parseLong(String what, String v) {
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new ScriptError(what + ": not a number: " + v);
    }
  }

  /** A replica id written as {@code 2} or {@code r2}. */
  static int replica(String word) {
    String w = word.startsWith("r") ? word.substring(1) : word;
    return (int) parseLong("replica", w);
  }
}

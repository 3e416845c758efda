package io.pbft.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import java.util.List;
import java.util.Locale;
import org.slf4j.LoggerFactory;

/**
 * The root log level: INFO unless {@code PBFT_LOG_LEVEL} or {@code --log-level} says otherwise.
 * logback.xml reads the variable too, but logback turns a misspelt level into DEBUG silently,
 * so the value is validated here and applied programmatically.
 */
public final class Logging {
  public static final String ENV = "PBFT_LOG_LEVEL";
  private static final List<String> LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

  /** Set by --log-level; handed on to the processes bench and demo start. */
  private static volatile String explicitLevel;

  private Logging() {}

  /** Applies PBFT_LOG_LEVEL, warning (not failing) on a bad value so a typo never stops a replica. */
  static void initFromEnvironment() {
    String env = System.getenv(ENV);
    if (env == null || env.isBlank()) {
      return;
    }
    String level = normalize(env);
    if (level == null) {
      System.err.println("warning: ignoring " + ENV + "=" + env + " (expected one of " + LEVELS + ")");
      apply("INFO");
    } else {
      apply(level);
    }
  }

  /** Applies a --log-level value; returns false if it is not a level name. */
  static boolean setLevel(String value) {
    String level = normalize(value);
    if (level == null) {
      return false;
    }
    explicitLevel = level;
    apply(level);
    return true;
  }

  /** The level given with --log-level, or null. */
  public static String explicitLevel() {
    return explicitLevel;
  }

  private static String normalize(String value) {
    String upper = value.trim().toUpperCase(Locale.ROOT);
    return LEVELS.contains(upper) ? upper : null;
  }

  private static void apply(String level) {
    if (LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME) instanceof Logger root) {
      root.setLevel(Level.toLevel(level));
    }
  }
}

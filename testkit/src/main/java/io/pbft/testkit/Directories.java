package io.pbft.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Temporary folders of clusters (keys, configurations, logs, data directories). */
public final class Directories {
  private static final Logger log = LoggerFactory.getLogger(Directories.class);

  private Directories() {}

  /** A new empty folder {@code pbft-PURPOSE-*} under the system's temporary folder. */
  public static Path temporary(String purpose) {
    try {
      return Files.createTempDirectory("pbft-" + purpose + "-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary folder for " + purpose, e);
    }
  }

  /**
   * Deletes {@code root} and everything under it, as far as it can: a file that cannot be deleted
   * is logged at debug level and left (a leftover in the temporary folder is harmless, and
   * clean-up must not hide the failure that led to it). Nothing happens if it does not exist.
   */
  public static void deleteRecursively(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          log.debug("cannot delete {}", p, e);
        }
      });
    } catch (IOException | UncheckedIOException e) {
      log.debug("cannot delete {}", root, e);
    }
  }
}

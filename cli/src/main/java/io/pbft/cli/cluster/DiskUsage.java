package io.pbft.cli.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

/** Bytes a data directory takes on disk. */
public final class DiskUsage {
  private DiskUsage() {}

  /**
   * Bytes in the regular files under {@code dir}, each file counted once however many hard links
   * it has (RocksDB checkpoints share their SST files with the live store).
   */
  public static long bytes(Path dir) throws IOException {
    Set<Object> seen = new HashSet<>();
    long total = 0;
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        if (seen.add(Files.getAttribute(f, "unix:ino"))) {
          total += Files.size(f);
        }
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return total;
  }
}

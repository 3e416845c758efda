package io.pbft.config;

import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * Private key files: one line "ed25519-secret HEX" (32-byte secret key), readable by the
 * owner only.
 */
public final class KeyFiles {
  private static final String PREFIX = "ed25519-secret ";

  private KeyFiles() {}

  public static void write(Path file, Ed25519Keys keys) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.writeString(file, PREFIX + Digests.hex(keys.secretKey()) + "\n");
      try {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system: nothing more we can do
      }
    } catch (IOException e) {
      throw new ConfigException("cannot write key file " + file + ": " + e.getMessage(), e);
    }
  }

  public static Ed25519Keys read(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException e) {
      throw new ConfigException("cannot read key file " + file + ": " + e, e);
    }
    String line = lines.isEmpty() ? "" : lines.get(0).trim();
    if (!line.startsWith(PREFIX)) {
      throw new ConfigException("key file " + file + " is not a pbft Ed25519 key file (expected '" + PREFIX.trim() + " HEX')");
    }
    try {
      return Ed25519Keys.fromSecretKey(Digests.fromHex(line.substring(PREFIX.length()).trim()));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("key file " + file + " holds a malformed key: " + e.getMessage(), e);
    }
  }
}

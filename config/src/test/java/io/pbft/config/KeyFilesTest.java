package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.crypto.Ed25519Keys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyFilesTest {
  @TempDir
  Path dir;

  @Test
  void writtenKeyReadsBack() {
    Ed25519Keys keys = Ed25519Keys.generate(new SecureRandom());
    Path file = dir.resolve("sub/replica.key");
    KeyFiles.write(file, keys);
    Ed25519Keys read = KeyFiles.read(file);
    assertArrayEquals(keys.secretKey(), read.secretKey());
    assertArrayEquals(keys.publicKey(), read.publicKey());
  }

  @Test
  void fileWithoutTheHeaderIsRejected() throws Exception {
    Path file = dir.resolve("x.key");
    Files.writeString(file, "-----BEGIN PRIVATE KEY-----\n");
    ConfigException e = assertThrows(ConfigException.class, () -> KeyFiles.read(file));
    assertTrue(e.getMessage().contains("not a pbft Ed25519 key file"), e.getMessage());
  }

  @Test
  void emptyFileIsRejected() throws Exception {
    Path file = dir.resolve("empty.key");
    Files.writeString(file, "");
    assertThrows(ConfigException.class, () -> KeyFiles.read(file));
  }

  @Test
  void nonHexOrWrongLengthKeyIsRejected() throws Exception {
    Path notHex = dir.resolve("nothex.key");
    Files.writeString(notHex, "ed25519-secret " + "zz".repeat(32) + "\n");
    ConfigException e = assertThrows(ConfigException.class, () -> KeyFiles.read(notHex));
    assertTrue(e.getMessage().contains("malformed key"), e.getMessage());

    Path shortKey = dir.resolve("short.key");
    Files.writeString(shortKey, "ed25519-secret " + "ab".repeat(31) + "\n");
    assertThrows(ConfigException.class, () -> KeyFiles.read(shortKey));
  }

  @Test
  void missingFileIsAConfigException() {
    ConfigException e = assertThrows(ConfigException.class, () -> KeyFiles.read(dir.resolve("absent.key")));
    assertTrue(e.getMessage().contains("absent.key"), e.getMessage());
  }
}

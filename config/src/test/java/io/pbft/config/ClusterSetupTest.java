package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.crypto.Ed25519Keys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterSetupTest {
  private static final SecureRandom RANDOM = new SecureRandom();

  @TempDir
  Path dir;

  @Test
  void generatedConfigurationLoadsBackWithTheSameReplicasAndClients() {
    ClusterConfig generated = ClusterSetup.generate(dir, 4, 2, "127.0.0.1", 7000, -1, RANDOM);
    assertTrue(Files.isRegularFile(dir.resolve("cluster.yaml")));

    ClusterConfig loaded = ClusterConfig.load(dir.resolve("cluster.yaml"));
    assertEquals(4, loaded.n());
    assertEquals(1, loaded.f());
    assertEquals(2, loaded.clients().size());
    for (int i = 0; i < 4; i++) {
      ReplicaInfo r = loaded.replica(i);
      assertEquals(i, r.id());
      assertEquals("127.0.0.1:" + (7000 + i), r.address());
      assertArrayEquals(generated.replica(i).publicKey(), r.publicKey());
    }
    for (int c = 0; c < 2; c++) {
      assertArrayEquals(generated.client(c).publicKey(), loaded.client(c).publicKey());
    }
    assertEquals(ProtocolSettings.defaults(), loaded.protocol());
    assertEquals(TransportSettings.defaults(), loaded.transport());
  }

  @Test
  void generatedKeyFilesMatchTheirPublicKeysAndSignVerifiably() {
    ClusterSetup.generate(dir, 4, 1, "localhost", 9000, -1, RANDOM);
    ClusterConfig loaded = ClusterConfig.load(dir.resolve("cluster.yaml"));
    byte[] message = "checkpoint".getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < loaded.n(); i++) {
      Ed25519Keys keys = loaded.replicaKeys(i);
      assertArrayEquals(loaded.replica(i).publicKey(), keys.publicKey());
      assertTrue(loaded.replica(i).verifier().verify(message, keys.sign(message)));
    }
    Ed25519Keys client = loaded.clientKeys(0);
    assertTrue(loaded.client(0).verifier().verify(message, client.sign(message)));
  }

  @Test
  void keyFilesAreReadableByTheOwnerOnly() throws Exception {
    ClusterSetup.generate(dir, 1, 0, "localhost", 9000, -1, RANDOM);
    Path key = dir.resolve("keys/replica-0.key");
    if (Files.getFileStore(key).supportsFileAttributeView("posix")) {
      assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(key));
    }
  }

  @Test
  void loadingFromAnotherWorkingDirectoryResolvesKeyFilesNextToTheConfiguration() {
    ClusterSetup.generate(dir.resolve("nested/cluster"), 4, 0, "localhost", 9000, -1, RANDOM);
    ClusterConfig loaded = ClusterConfig.load(dir.resolve("nested/cluster/cluster.yaml"));
    assertEquals(dir.resolve("nested/cluster").toAbsolutePath(), loaded.baseDir());
    assertArrayEquals(loaded.replica(3).publicKey(), loaded.replicaKeys(3).publicKey());
  }

  @Test
  void explicitFaultCountIsWrittenAndKept() {
    ClusterSetup.generate(dir, 7, 0, "localhost", 9000, 1, RANDOM);
    assertEquals(1, ClusterConfig.load(dir.resolve("cluster.yaml")).f());
  }

  @Test
  void generateRefusesTooFewReplicasForTheRequestedFaults() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ClusterSetup.generate(dir, 4, 0, "localhost", 9000, 2, RANDOM));
    assertTrue(e.getMessage().contains("3f + 1 = 7"), e.getMessage());
  }

  @Test
  void generateRefusesBadCountsAndPorts() {
    assertThrows(ConfigException.class, () -> ClusterSetup.generate(dir, 0, 0, "localhost", 9000, -1, RANDOM));
    assertThrows(ConfigException.class, () -> ClusterSetup.generate(dir, 4, -1, "localhost", 9000, -1, RANDOM));
    ConfigException port = assertThrows(ConfigException.class,
        () -> ClusterSetup.generate(dir, 4, 0, "localhost", 65534, -1, RANDOM));
    assertTrue(port.getMessage().contains("--base-port"), port.getMessage());
  }
}

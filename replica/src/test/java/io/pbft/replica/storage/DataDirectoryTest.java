package io.pbft.replica.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirectoryTest {
  @TempDir
  Path tmp;

  @Test
  void createsTheDirectoryWithItsSubdirectoriesAndIdentity() {
    Path dir = tmp.resolve("a/b/replica-0");
    try (DataDirectory data = DataDirectory.open(dir, "cluster-a", 0)) {
      assertTrue(Files.isDirectory(data.walDir()));
      assertTrue(Files.isDirectory(data.stateDir()));
      assertEquals(dir.toAbsolutePath(), data.root());
      assertEquals("cluster-a", data.clusterId());
      assertEquals(0, data.replicaId());
    }
    // Closed: the same replica opens it again.
    try (DataDirectory again = DataDirectory.open(dir, "cluster-a", 0)) {
      assertEquals(dir.resolve("wal").toAbsolutePath(), again.walDir());
    }
  }

  @Test
  void aSecondOpenInTheSameProcessIsRefusedClearly() {
    try (DataDirectory held = DataDirectory.open(tmp, "cluster-a", 0)) {
      assertEquals(0, held.replicaId());
      StorageException e = assertThrows(StorageException.class, () -> DataDirectory.open(tmp, "cluster-a", 0));
      assertEquals("data directory " + tmp.toAbsolutePath() + " is in use by another running process", e.getMessage());
    }
  }

  @Test
  void aDirectoryHeldByAnotherProcessIsRefusedUntilThatProcessLetsGo() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        LockHolderMain.class.getName(), tmp.toString()).redirectErrorStream(true).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("locked", out.readLine(), "the child process should report holding the lock");

      StorageException e = assertThrows(StorageException.class, () -> DataDirectory.open(tmp, "cluster-a", 0));
      assertEquals("data directory " + tmp.toAbsolutePath() + " is in use by another running process", e.getMessage());

      child.getOutputStream().close();
      assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not exit");
      assertEquals(0, child.exitValue());
      try (DataDirectory mine = DataDirectory.open(tmp, "cluster-a", 0)) {
        assertEquals(0, mine.replicaId());
      }
    } finally {
      child.destroyForcibly();
    }
  }

  @Test
  void anotherReplicasDirectoryIsRefusedNamingBoth() {
    DataDirectory.open(tmp, "abc", 2).close();
    StorageException wrongReplica = assertThrows(StorageException.class, () -> DataDirectory.open(tmp, "abc", 1));
    assertEquals("data directory " + tmp.toAbsolutePath() + " belongs to replica 2 of cluster abc, not replica 1 of cluster abc",
        wrongReplica.getMessage());
    StorageException wrongCluster = assertThrows(StorageException.class, () -> DataDirectory.open(tmp, "def", 2));
    assertEquals("data directory " + tmp.toAbsolutePath() + " belongs to replica 2 of cluster abc, not replica 2 of cluster def",
        wrongCluster.getMessage());
    // A refused open releases the lock: the rightful owner still gets in.
    DataDirectory.open(tmp, "abc", 2).close();
  }

  @Test
  void aDamagedIdentityFileIsRefused() throws IOException {
    DataDirectory.open(tmp, "abc", 2).close();
    Files.writeString(tmp.resolve("IDENTITY"), "something else\n");
    StorageException e = assertThrows(StorageException.class, () -> DataDirectory.open(tmp, "abc", 2));
    assertTrue(e.getMessage().contains("unreadable IDENTITY"), e.getMessage());
  }

  @Test
  void badIdentitiesAreRejectedUpFront() {
    assertThrows(IllegalArgumentException.class, () -> DataDirectory.open(tmp, "has space", 0));
    assertThrows(IllegalArgumentException.class, () -> DataDirectory.open(tmp, "", 0));
    assertThrows(IllegalArgumentException.class, () -> DataDirectory.open(tmp, "abc", -1));
  }

  @Test
  void clusterIdIsAStableHashOfTheKeysInOrder() {
    byte[] a = {1, 2, 3};
    byte[] b = {4, 5};
    String id = DataDirectory.clusterId(List.of(a, b));
    assertEquals(64, id.length());
    assertTrue(id.matches("[0-9a-f]+"));
    assertEquals(id, DataDirectory.clusterId(List.of(a.clone(), b.clone())));
    assertNotEquals(id, DataDirectory.clusterId(List.of(b, a)));
    assertNotEquals(id, DataDirectory.clusterId(List.of(a, new byte[] {4, 6})));
    // Length prefixes keep key boundaries apart.
    assertNotEquals(DataDirectory.clusterId(List.of(new byte[] {1, 2}, new byte[] {3})),
        DataDirectory.clusterId(List.of(new byte[] {1}, new byte[] {2, 3})));
  }
}

package io.pbft.replica.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.config.ConfigException;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A replica whose queue byte bounds do not fit in its heap refuses to start, saying why. */
class MemoryBudgetTest {
  @TempDir
  Path dir;

  @Test
  void defaultBoundsFitTheDefaultHeapOfTheLauncher() {
    ClusterConfig c = ClusterSetup.generate(dir, 4, 1, "127.0.0.1", 7000, -1, new SecureRandom());
    // 2 x 64 MiB inbound, 3 x 32 MiB peers, 64 MiB unauthenticated
    assertEquals(288L << 20, MemoryBudget.queueBytes(c));
    MemoryBudget.check(c, 0, 1L << 30); // PBFT_HEAP=1g
    MemoryBudget.check(c, 0, 384L << 20);
  }

  @Test
  void boundsBeyondThreeQuartersOfTheHeapAreRefusedWithTheKeysToChange() {
    ClusterConfig c = ClusterSetup.generate(dir, 4, 1, "127.0.0.1", 7000, -1, new SecureRandom());
    ConfigException e = assertThrows(ConfigException.class, () -> MemoryBudget.check(c, 2, 256L << 20));
    assertTrue(e.getMessage().startsWith("replica 2 cannot start: its queue bounds need 288 MiB"), e.getMessage());
    assertTrue(e.getMessage().contains("transport.inboundQueueBytesMax 64 MiB x 2"), e.getMessage());
    assertTrue(e.getMessage().contains("heap of 256 MiB"), e.getMessage());
    assertTrue(e.getMessage().contains("PBFT_HEAP"), e.getMessage());
  }
}

package io.pbft.cli.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.Main;
import io.pbft.cli.cluster.LocalCluster;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.testkit.Ports;
import io.pbft.testkit.StatusProbe;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A data directory is one replica's, of one cluster, used by one process at a time: anything
 * else is refused at start with exit code 2 and one clear line, before the directory is touched.
 */
class DataDirectoryErrorsTest {
  private record Exit(int code, String output) {
    @Override
    public String toString() {
      return "exit " + code + ", output:\n" + output;
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void dataDirectoryInUseOrOfAnotherReplicaIsRefused() throws Exception {
    try (LocalCluster local = LocalCluster.create("durability-dirs", new PrintWriter(System.err, true))) {
      ClusterConfig config = local.generate(4, 1);
      Path yaml = local.dir().resolve("cluster.yaml");
      Path dir0 = local.dataDir(0);
      local.startReplica(config, 0, dir0);
      local.awaitHealthy(List.of(new StatusProbe.Target(0, "127.0.0.1", config.replica(0).port())));
      String identity = Files.readString(dir0.resolve("IDENTITY"));

      // A second process for the same replica and directory (on another port, so that only the
      // directory stands in its way).
      int otherPort = Ports.consecutive(1);
      Exit second = run(local.dir(), "second", "replica", "--config", yaml.toString(), "--id", "0",
          "--data-dir", dir0.toString(), "--listen", "127.0.0.1:" + otherPort);
      assertEquals(2, second.code, second.toString());
      assertTrue(second.output.contains("error: replica 0: data directory " + dir0.toAbsolutePath()
          + " is in use by another running process"), second.toString());
      assertTrue(local.process(0).isAlive(), "the replica that holds the directory must not be disturbed");

      // Replica 1 started on replica 0's directory (not in use any more).
      local.kill(0);
      Exit wrongReplica = run(local.dir(), "wrong-replica", "replica", "--config", yaml.toString(), "--id", "1",
          "--data-dir", dir0.toString());
      assertEquals(2, wrongReplica.code, wrongReplica.toString());
      assertTrue(wrongReplica.output.matches("(?s).*error: replica 1: data directory " + dir0.toAbsolutePath()
          + " belongs to replica 0 of cluster \\p{XDigit}{64}, not replica 1 of cluster \\p{XDigit}{64}\\R.*"),
          wrongReplica.toString());

      // Replica 0 of another cluster (other keys) on it.
      Path otherDir = local.dir().resolve("other-cluster");
      ClusterSetup.generate(otherDir, 4, 1, "127.0.0.1", Ports.consecutive(4), -1, new SecureRandom());
      Exit otherCluster = run(local.dir(), "other-cluster", "replica", "--config",
          otherDir.resolve("cluster.yaml").toString(), "--id", "0", "--data-dir", dir0.toString());
      assertEquals(2, otherCluster.code, otherCluster.toString());
      assertTrue(otherCluster.output.contains("belongs to replica 0 of cluster "), otherCluster.toString());

      for (Exit e : List.of(second, wrongReplica, otherCluster)) {
        assertFalse(e.output.contains("\tat "), "no stack trace expected\n" + e);
      }
      // Nothing was changed: the directory still belongs to replica 0, which starts on it again.
      assertEquals(identity, Files.readString(dir0.resolve("IDENTITY")));
      local.startReplica(config, 0, dir0);
      local.awaitHealthy(List.of(new StatusProbe.Target(0, "127.0.0.1", config.replica(0).port())));
    }
  }

  /**
   * Runs {@code pbft ARGS} as a process of its own (output in DIR/NAME.out) and waits for it to
   * exit; kills it if it is still running after a minute.
   */
  private static Exit run(Path dir, String name, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    command.addAll(List.of(args));
    Path out = dir.resolve(name + ".out");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        throw new AssertionError("pbft " + String.join(" ", args) + " still runs after 60 s:\n" + Files.readString(out));
      }
      return new Exit(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }
}

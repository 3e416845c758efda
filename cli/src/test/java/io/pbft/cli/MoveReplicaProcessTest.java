package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.cluster.ProcessCluster;
import io.pbft.client.KvClient;
import io.pbft.config.Administration;
import io.pbft.config.AdministrationKey;
import io.pbft.config.KeyFiles;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Polling;
import io.pbft.testkit.Ports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Black box over four {@code pbft replica --data-dir} processes, driven by the commands the README
 * gives: a replica moves to a new machine on a new port under load. {@code keygen --add-to
 * --replacing 3 --address} prepares its key and TLS certificate there, {@code admin
 * replace-replica}, {@code sign} and {@code submit --wait} change the group, and the new machine,
 * {@code pbft replica --join} on an empty data directory started before the change was submitted,
 * waits until the group's epoch names it, then takes the state by state transfer. The old process
 * stops by itself, saying where the replica went; every acknowledged write reads back, the four
 * members agree, {@code pbft status} finds the replica at its new address, {@code pbft kv} with the
 * unchanged cluster.yaml works, and the new machine shows its new TLS certificate.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class MoveReplicaProcessTest {
  private final SecureRandom random = new SecureRandom();

  private static Run run(String... args) {
    Run r = Run.of(args);
    assertEquals(0, r.exitCode(), () -> String.join(" ", args) + "\n" + r);
    return r;
  }

  @Test
  void aReplicaMovesToANewPortUnderLoadThroughTheCommandLineAndNothingAcknowledgedIsLost() throws Exception {
    Ed25519Keys a0 = Ed25519Keys.generate(random);
    Administration admins = new Administration(List.of(new AdministrationKey(a0.publicKey())), 1);
    try (ProcessCluster cluster = ProcessCluster.create("move", 4, p -> p.withCheckpointInterval(16)
        .withWindowSize(64)).withAdministration(admins).start()) {
      Path dir = cluster.config().baseDir();
      String yaml = dir.resolve("cluster.yaml").toString();
      Path admin = dir.resolve("admin-a.key");
      KeyFiles.write(admin, a0);
      int newPort = Ports.free();
      String newAddress = "127.0.0.1:" + newPort;

      io.pbft.testkit.PutLoad load = new io.pbft.testkit.PutLoad(List.of(cluster.kvClient(0), cluster.kvClient(1)), 40);
      Map<String, String> acknowledged = load.acknowledged;
      Run submitted;
      try {
        run("keygen", "--add-to", dir.toString(), "--replacing", "3", "--address", newAddress);
        Path command = dir.resolve("move-3.cmd");
        run("admin", "replace-replica", "--config", yaml, "--id", "3", "--entry",
            dir.resolve("replacement-replica-3.yaml").toString(), "--reason", "new machine", "--out", command.toString());
        run("admin", "sign", "--config", yaml, "--key", admin.toString(), command.toString());
        // The new machine first: it waits for the group to reach the epoch that names it. It has
        // what the guide gives it: cluster.yaml, the CA's certificate and what keygen --replacing
        // wrote for it; not replica 3's old key or TLS files.
        Path machine = dir.resolve("new-machine-3");
        copy(dir, machine, Path.of("cluster.yaml"));
        copy(dir, machine, Path.of(cluster.config().tls().caCertFile()));
        Path replacement = dir.relativize(io.pbft.config.ClusterSetup.replacementDir(dir, 3));
        try (java.util.stream.Stream<Path> files = Files.walk(dir.resolve(replacement))) {
          for (Path f : files.filter(Files::isRegularFile).toList()) {
            copy(dir, machine, dir.relativize(f));
          }
        }
        cluster.launchMoved(3, "127.0.0.1", newPort, machine.resolve("cluster.yaml"));
        Thread.sleep(1000);
        submitted = run("admin", "submit", "--config", yaml, "--client", "3", "--wait", "--timeout", "120",
            command.toString());
        Thread.sleep(1000);
      } finally {
        load.close();
      }
      assertTrue(submitted.out().contains("reconfiguration accepted: epoch 0 -> 1"), submitted::toString);
      assertTrue(submitted.out().contains("every replica runs epoch 1"), submitted::toString);
      System.out.println("[move] replica 3 to " + newAddress + ": " + submitted.out().trim().replace('\n', ' '));
      assertTrue(acknowledged.size() >= 40, "the load ran throughout: " + acknowledged.size() + " keys");

      KvClient check = cluster.kvClient(2);
      for (int i = 0; i < 20; i++) {
        check.put("after-move/" + i, Integer.toString(i));
      }
      List<StatusResponse> all = Polling.until(cluster::statuses, s -> s.stream().allMatch(r -> r != null
          && r.getEpoch() == 1 && r.getLastExecuted() == s.get(0).getLastExecuted()
          && r.getStateDigest().equals(s.get(0).getStateDigest())), Duration.ofSeconds(90));
      assertTrue(all.stream().allMatch(r -> r != null && r.getEpoch() == 1), ProcessCluster.describe(all));
      assertTrue(all.stream().allMatch(r -> r.getStateDigest().equals(all.get(0).getStateDigest())),
          ProcessCluster.describe(all));
      assertTrue(all.get(3).getStateTransfers() >= 1, "the new machine took the state: " + ProcessCluster.describe(all));
      for (StatusResponse s : all) {
        assertEquals(0L, s.getDropped().getByReasonOrDefault("bad signature", 0L), ProcessCluster.describe(all));
      }
      acknowledged.forEach((key, value) -> assertEquals(value, check.get(key).orElse(null),
          "acknowledged write of " + key + " lost"));

      // The old process stopped by itself, exit 0, saying where the replica went.
      String oldLog = Files.readString(dir.resolve("replica-3.log"));
      assertTrue(oldLog.contains("replica 3 moved to " + newAddress + " in epoch 1"), oldLog);
      cluster.await("the old process of replica 3 exits", () -> Files.exists(dir.resolve("replica-3.log"))
          && readQuietly(dir.resolve("replica-3.log")).contains("this process stopped"), Duration.ofSeconds(30));

      // The command line with the unchanged cluster.yaml: status finds replica 3 at its new address.
      Run status = run("status", "--config", yaml);
      assertTrue(status.out().contains("  replica 3 at " + newAddress + ", key "), status::toString);
      assertTrue(status.out().contains("(moved since the configuration file)"), status::toString);
      assertFalse(status.out().contains("unreachable"), status::toString);
      run("kv", "--config", yaml, "--client", "2", "put", "colour", "green");
      assertEquals("green", run("kv", "--config", yaml, "--client", "2", "get", "colour").out().trim());

      // The new machine shows the certificate keygen --replacing issued for it.
      io.pbft.config.ClusterConfig cfg = cluster.config();
      Path next = io.pbft.config.ClusterSetup.replacementDir(dir, 3).resolve(cfg.tls().replicaFiles(3).certFile());
      byte[] served = KeyRotationProcessTest.served("127.0.0.1", newPort).getEncoded();
      assertTrue(java.util.Arrays.equals(io.pbft.crypto.tls.Pem.readCertificates(next).get(0).getEncoded(), served),
          "the new machine serves another certificate than " + next);
    }
  }

  private static void copy(Path from, Path to, Path relative) throws java.io.IOException {
    Files.createDirectories(to.resolve(relative).getParent());
    Files.copy(from.resolve(relative), to.resolve(relative));
  }

  private static String readQuietly(Path p) {
    try {
      return Files.readString(p);
    } catch (java.io.IOException e) {
      return "";
    }
  }
}

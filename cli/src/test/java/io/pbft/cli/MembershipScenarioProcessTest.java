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
import io.pbft.testkit.Statuses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The black-box scenario of the reconfiguration guide, over {@code pbft replica --data-dir}
 * processes driven by the commands docs/RECONFIGURATION.md gives, under a load that runs
 * throughout: four replicas; a fifth is added ({@code keygen --add-to}, {@code admin add-replica},
 * {@code pbft replica --join}); one of the original four is removed ({@code admin remove-replica
 * --from-group}) and its process stops by itself; a member's key is rotated ({@code keygen
 * --replacing}, {@code admin rotate-key}); a member is replaced by a machine on a new port
 * ({@code admin replace-replica}, {@code --join}). No acknowledged write is lost, every member
 * agrees at the end, {@code pbft status} shows the members with the unchanged cluster.yaml, and
 * each change's time to take effect under load is printed.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class MembershipScenarioProcessTest {
  private final SecureRandom random = new SecureRandom();

  private static Run run(String... args) {
    Run r = Run.of(args);
    assertEquals(0, r.exitCode(), () -> String.join(" ", args) + "\n" + r);
    return r;
  }

  /** Builds, signs and submits a change with {@code admin}; returns what {@code submit --wait} printed. */
  private static String change(Path dir, Path adminKey, String name, String... subcommand) {
    String yaml = dir.resolve("cluster.yaml").toString();
    Path command = dir.resolve(name + ".cmd");
    List<String> build = new ArrayList<>(List.of("admin"));
    build.addAll(List.of(subcommand));
    build.addAll(List.of("--config", yaml, "--from-group", "--reason", name, "--out", command.toString()));
    run(build.toArray(new String[0]));
    run("admin", "sign", "--config", yaml, "--from-group", "--key", adminKey.toString(), command.toString());
    long started = System.nanoTime();
    Run submitted = run("admin", "submit", "--config", yaml, "--client", "3", "--wait", "--timeout", "120",
        command.toString());
    long ms = (System.nanoTime() - started) / 1_000_000;
    String out = submitted.out().trim();
    assertTrue(out.contains("reconfiguration accepted"), submitted::toString);
    assertTrue(out.contains("every replica runs epoch"), submitted::toString);
    System.out.println("[membership] " + name + ": " + out.replace('\n', ' ') + " (submit --wait took " + ms + " ms)");
    return out;
  }

  @Test
  void addRemoveRotateAndReplaceUnderLoadThroughTheCommandLineAndNothingAcknowledgedIsLost() throws Exception {
    Ed25519Keys a0 = Ed25519Keys.generate(random);
    Administration admins = new Administration(List.of(new AdministrationKey(a0.publicKey())), 1);
    try (ProcessCluster cluster = ProcessCluster.create("membership", 4, p -> p.withCheckpointInterval(16)
        .withWindowSize(64)).withAdministration(admins).start()) {
      Path dir = cluster.config().baseDir();
      String yaml = dir.resolve("cluster.yaml").toString();
      Path admin = dir.resolve("admin-a.key");
      KeyFiles.write(admin, a0);
      int port4 = Ports.free();
      int newPort3 = Ports.free();

      io.pbft.testkit.PutLoad load = new io.pbft.testkit.PutLoad(List.of(cluster.kvClient(0), cluster.kvClient(1)), 40);
      Map<String, String> acknowledged = load.acknowledged;
      try {
        // 1. A fifth replica: keys and certificate, then the process, which waits for its epoch.
        run("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:" + port4);
        cluster.launchAdded(4, "127.0.0.1", port4);
        String added = change(dir, admin, "add-4", "add-replica", "--entry", dir.resolve("new-replica-4.yaml").toString());
        assertTrue(added.contains("epoch 0 -> 1 (n = 5, f = 1)"), added);

        // 2. One of the original four leaves; its process stops by itself.
        String removed = change(dir, admin, "remove-1", "remove-replica", "--id", "1");
        assertTrue(removed.contains("epoch 1 -> 2 (n = 4, f = 1)"), removed);
        cluster.removed(1);

        // 3. Replica 2's key is rotated in place.
        run("keygen", "--add-to", dir.toString(), "--replacing", "2");
        change(dir, admin, "rotate-2", "rotate-key", "--id", "2", "--entry",
            dir.resolve("replacement-replica-2.yaml").toString());

        // 4. Replica 3 moves to a new machine on a new port.
        run("keygen", "--add-to", dir.toString(), "--replacing", "3", "--address", "127.0.0.1:" + newPort3);
        cluster.launchMoved(3, "127.0.0.1", newPort3, dir.resolve("cluster.yaml"));
        change(dir, admin, "replace-3", "replace-replica", "--id", "3", "--entry",
            dir.resolve("replacement-replica-3.yaml").toString());
        Thread.sleep(1000);
      } finally {
        load.close();
      }
      assertTrue(acknowledged.size() >= 40, "the load ran throughout: " + acknowledged.size() + " keys");

      KvClient check = cluster.kvClient(2);
      for (int i = 0; i < 20; i++) {
        check.put("after/" + i, Integer.toString(i));
      }
      assertEquals(List.of(0, 2, 3, 4), cluster.statusIds());
      List<StatusResponse> all = Polling.until(cluster::statuses, s -> s.stream().allMatch(r -> r != null
          && r.getEpoch() == 4 && r.getLastExecuted() == s.get(0).getLastExecuted()
          && r.getStateDigest().equals(s.get(0).getStateDigest())), Duration.ofSeconds(90));
      String described = Statuses.describe(cluster.statusIds(), all);
      for (StatusResponse s : all) {
        assertTrue(s != null && s.getEpoch() == 4, described);
        assertEquals(all.get(0).getStateDigest(), s.getStateDigest(), described);
        assertEquals(4, s.getReplicas(), described);
        assertEquals(0L, s.getDropped().getByReasonOrDefault("bad signature", 0L), described);
      }
      acknowledged.forEach((key, value) -> assertEquals(value, check.get(key).orElse(null),
          "acknowledged write of " + key + " lost"));

      // The removed replica's process stopped by itself, saying why.
      cluster.await("the process of removed replica 1 exits", () -> readQuietly(dir.resolve("replica-1.log"))
          .contains("this process stopped"), Duration.ofSeconds(30));
      assertTrue(readQuietly(dir.resolve("replica-1.log")).contains("replica 1 was removed from the group in epoch 2"));

      // The command line with the unchanged cluster.yaml follows the group.
      Run status = run("status", "--config", yaml);
      assertTrue(status.out().contains("epoch 4: replicas 0, 2, 3, 4"), status::toString);
      assertTrue(status.out().contains("  replica 4 at 127.0.0.1:" + port4 + ", key "), status::toString);
      assertTrue(status.out().contains("(added since the configuration file)"), status::toString);
      assertTrue(status.out().contains("removed since the configuration file: replica 1"), status::toString);
      assertTrue(status.out().contains("  replica 3 at 127.0.0.1:" + newPort3), status::toString);
      assertFalse(status.out().contains("unreachable"), status::toString);

      // The added replica crashes and starts again (--join, as every start of a replica cluster.yaml
      // does not list): its data directory resumes epoch 4, and it catches up with the others.
      cluster.kill(4);
      for (int i = 0; i < 20; i++) {
        check.put("while-4-is-down/" + i, Integer.toString(i));
      }
      cluster.launchAdded(4, "127.0.0.1", port4);
      for (int i = 0; i < 20; i++) {
        check.put("after-4-restarted/" + i, Integer.toString(i));
      }
      List<StatusResponse> again = Polling.until(cluster::statuses, s -> s.stream().allMatch(r -> r != null
          && r.getEpoch() == 4 && r.getLastExecuted() == s.get(0).getLastExecuted()
          && r.getStateDigest().equals(s.get(0).getStateDigest())), Duration.ofSeconds(90));
      String afterRestart = Statuses.describe(cluster.statusIds(), again);
      assertTrue(again.stream().allMatch(r -> r != null && r.getEpoch() == 4
          && r.getStateDigest().equals(again.get(0).getStateDigest())), afterRestart);
      assertTrue(cluster.log(4).contains("resumes configuration epoch 4"), cluster.log(4));

      // pbft kv with the unchanged cluster.yaml (as client 2, which `check` was: last, since a
      // process of its own takes that identity over with later timestamps)
      run("kv", "--config", yaml, "--client", "2", "put", "colour", "green");
      assertEquals("green", run("kv", "--config", yaml, "--client", "2", "get", "colour").out().trim());
    }
  }

  private static String readQuietly(Path p) {
    try {
      return Files.readString(p);
    } catch (java.io.IOException e) {
      return "";
    }
  }
}

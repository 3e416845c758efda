package io.pbft.cli.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.cluster.ProcessCluster;
import io.pbft.proto.StatusResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Durable replica processes crashed with SIGKILL under load and restarted from their data
 * directories: they rejoin and catch up, no acknowledged put is lost, all replicas end in the
 * same state, and no replica ever contradicts a statement it signed before a crash.
 */
class ReplicaCrashTest {
  private static final List<Integer> ALL = List.of(0, 1, 2, 3);
  private static final int CLIENTS = 6;
  private static final int KEYS_PER_CLIENT = 16;
  private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration PROGRESS = Duration.ofSeconds(60);
  /**
   * Between a client's puts: paced (about 6 x 40 puts/s), so that a restarting JVM is not starved
   * of CPU by the load on two cores (unpaced, a restart took 20-40 s and the eight cycles ran
   * past the time limit); still hundreds of puts per cycle for the crashes to hit.
   */
  private static final Duration PAUSE = Duration.ofMillis(20);
  private static final Pattern RECOVERED =
      Pattern.compile("data directory .*: application checkpoint (\\d+), (\\d+) log records");

  /**
   * Eight times: SIGKILL a replica chosen at random (seeded) at a random moment under load,
   * read its log as the crash left it, restart it from its data directory, and wait until it has
   * caught up with what the others had executed meanwhile. Then every acknowledged put must be
   * readable, the replicas must agree, and no replica's signed statements may conflict.
   */
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void randomReplicaKilledRepeatedlyRejoinsAndLosesNothing() throws Exception {
    long seed = Long.getLong("pbft.test.seed", 20261121L);
    Random random = new Random(seed);
    SignedLedger ledger = new SignedLedger();
    try (ProcessCluster c = ProcessCluster.start("durability-kill", CLIENTS + 1, ProcessCluster.SMALL);
         AckedPuts load = new AckedPuts(c.clientConfig(), CLIENTS, KEYS_PER_CLIENT, "kill", OPERATION_TIMEOUT)
             .pausing(PAUSE)) {
      load.start();
      assertTrue(load.awaitMore(50, PROGRESS), "no load before the first crash: " + load.firstFailure());
      for (int cycle = 1; cycle <= 8; cycle++) {
        int victim = random.nextInt(c.size());
        Thread.sleep(200 + random.nextInt(1500));
        c.kill(victim);
        String when = "replica " + victim + " after crash " + cycle + " (seed " + seed + ")";
        ledger.addAll(SignedLedger.readLog(c.dataDir(victim).resolve("wal")), when);
        assertEquals(List.of(), ledger.conflicts(), "conflicting statements after " + when);
        long t0 = System.nanoTime();
        c.launch(victim);
        // The others go on without it (f = 1) while it starts; a crashed primary is replaced by a view change.
        assertTrue(load.awaitMore(10, PROGRESS), "no progress while " + when + " was down; first failure: "
            + load.firstFailure() + "\n" + ProcessCluster.describe(c.statuses()));
        c.awaitUp(victim);
        long t1 = System.nanoTime();
        assertRecoveredFromDisk(c, victim, when);
        awaitCaughtUp(c, victim, when);
        System.err.printf("crash %d: replica %d up after %d ms, caught up after %d ms more; %d puts acknowledged%n",
            cycle, victim, (t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000, load.acked());
      }
      assertTrue(load.awaitMore(20, PROGRESS), "no progress after the last restart: " + load.firstFailure());
      load.stop();
      List<StatusResponse> end = c.awaitAgreement(ALL, Duration.ofSeconds(90));
      assertEquals(List.of(), load.verify(CLIENTS), "acknowledged puts lost (seed " + seed + ")");
      assertTrue(load.keysAcked() > 0 && end.get(0).getLastExecuted() > 0, ProcessCluster.describe(end));
      c.awaitAgreement(ALL, Duration.ofSeconds(60)); // the reads executed everywhere as well

      // Every replica's log as a crash of the whole group leaves it.
      c.killAll();
      for (int i = 0; i < c.size(); i++) {
        ledger.addAll(SignedLedger.readLog(c.dataDir(i).resolve("wal")), "replica " + i + " at the end");
      }
      assertEquals(List.of(), ledger.conflicts(), "a replica contradicted itself (seed " + seed + ")");
      for (int i = 0; i < c.size(); i++) {
        assertTrue(ledger.count(i, "COMMIT") > 0, "no COMMIT of replica " + i + " found: " + ledger.counts());
      }
      System.err.printf("crash test: seed %d, %d puts acknowledged, %d failed; statements checked: %s%n", seed,
          load.acked(), load.failed(), ledger.counts());
    }
  }

  /** The new process read a non-empty log back from its data directory. */
  static void assertRecoveredFromDisk(ProcessCluster c, int id, String when) {
    String log = c.log(id);
    Matcher m = RECOVERED.matcher(log);
    assertTrue(m.find(), "no recovery line in the log of " + when + ":\n" + log);
    assertTrue(Long.parseLong(m.group(2)) > 0, "restarted with an empty log: " + m.group());
  }

  /**
   * Waits until replica {@code id} has executed at least what the most advanced other replica
   * had executed when it came back.
   */
  static void awaitCaughtUp(ProcessCluster c, int id, String when) throws InterruptedException {
    long target = 0;
    for (int i = 0; i < c.size(); i++) {
      StatusResponse s = i == id ? null : c.tryStatus(i).orElse(null);
      if (s != null) {
        target = Math.max(target, s.getLastExecuted());
      }
    }
    long deadline = System.nanoTime() + PROGRESS.toNanos();
    while (true) {
      c.checkAlive();
      StatusResponse s = c.tryStatus(id).orElse(null);
      if (s != null && s.getLastExecuted() >= target) {
        return;
      }
      if (System.nanoTime() - deadline >= 0) {
        throw new AssertionError(when + " did not catch up to " + target + " within " + PROGRESS.toSeconds()
            + " s:\n" + ProcessCluster.describe(c.statuses()));
      }
      Thread.sleep(100);
    }
  }

  static Path wal(ProcessCluster c, int id) {
    return c.dataDir(id).resolve("wal");
  }
}

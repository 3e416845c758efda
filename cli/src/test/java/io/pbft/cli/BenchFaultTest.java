package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pbft.cli.bench.Fault;
import io.pbft.testkit.Directories;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * bench --fault: option checks, and the short version of the robustness table that CI runs: every
 * fault once against replica processes, checking counts only (never timings, the machine is
 * shared): the view changes the fault caused, that every acknowledged put is still there, and that
 * nothing bench started outlives it. The full table is docs/ROBUSTNESS.md.
 */
class BenchFaultTest {
  private static void assertUsageError(Run run, String expectedInMessage) {
    assertEquals(2, run.exitCode(), run.toString());
    assertTrue(run.err().contains(expectedInMessage), "stderr should mention '" + expectedInMessage + "'\n" + run);
    assertFalse(run.err().contains("\tat "), "no stack trace expected\n" + run);
  }

  @Test
  void faultOptionsAreChecked() {
    assertUsageError(Run.of("bench", "--fault", "unplug", "--fault-at", "1"), "--fault must be one of kill-primary");
    assertUsageError(Run.of("bench", "--fault", "kill-primary"), "--fault needs --fault-at");
    assertUsageError(Run.of("bench", "--fault-at", "3"), "--fault-at needs --fault");
    assertUsageError(Run.of("bench", "--fault", "kill-primary", "--fault-at", "30", "--duration", "30"),
        "--fault-at must lie within the measured interval");
    assertUsageError(Run.of("bench", "--unreplicated", "--fault", "kill-primary", "--fault-at", "1"),
        "--fault needs replica processes that bench starts itself");
    assertUsageError(Run.of("bench", "--heap-interval", "0"), "--heap-interval must be at least 1");
  }

  /**
   * Only the partial authenticator (the big MAC attack, once) and an addition (every old member
   * needed in a quorum until the new one has the state) may cost a view change they need not:
   * every other fault keeps its exact count, one for a fault of the primary and none otherwise.
   */
  @Test
  void everyFaultButThePartialAuthenticatorAndAnAdditionHasAnExactViewChangeCount() {
    for (Fault f : Fault.values()) {
      int exact = f.againstPrimary() ? 1 : 0;
      assertEquals(exact, f.expectedViewChangesMin(), f.option());
      assertEquals(f == Fault.PARTIAL_AUTHENTICATOR_CLIENT || f == Fault.ADD_REPLICA ? 1 : exact,
          f.expectedViewChangesMax(), f.option());
    }
    assertTrue(Fault.KILL_PRIMARY.viewChangesAsExpected(1));
    assertFalse(Fault.KILL_PRIMARY.viewChangesAsExpected(0));
    assertFalse(Fault.KILL_PRIMARY.viewChangesAsExpected(2));
    assertFalse(Fault.FLOOD_CLIENT.viewChangesAsExpected(1));
    assertTrue(Fault.PARTIAL_AUTHENTICATOR_CLIENT.viewChangesAsExpected(0));
    assertTrue(Fault.PARTIAL_AUTHENTICATOR_CLIENT.viewChangesAsExpected(1));
    assertFalse(Fault.PARTIAL_AUTHENTICATOR_CLIENT.viewChangesAsExpected(2));
    assertEquals("0 to 1", Fault.PARTIAL_AUTHENTICATOR_CLIENT.expectedViewChangesText());
  }

  /**
   * One fault for a short run: a fault of the primary costs exactly one view change and any other
   * none (the partial authenticator at most one); no acknowledged put is lost; the group still completes operations after the fault; and
   * every process bench started (replicas, attackers, a stopped replica) is gone afterwards.
   */
  @ParameterizedTest
  @EnumSource(Fault.class)
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void shortRunOfEachFault(Fault fault) throws Exception {
    // A replica's request timer is doubled for its first 10 s (protocol.requestTimerWarmUpMs), and
    // the slow primary's delays (70-95 % of viewChangeTimeoutMs) stay under the doubled timer: its
    // run goes on long enough after the warm-up for the backups to replace it.
    // The outsider, armed at the fault with its connections ready, took 7-11 s on two shared cores
    // to open its 20,000 streams: its runs go on long enough for all of them to reach the replicas.
    // A moved backup's new machine, started with the replicas, learns the group's membership in a
    // JVM still cold and busy with the load: the move took 9.7 s from submission to the new machine
    // running with the state in a 4-client run here. An added replica starts and joins the same way.
    String duration = fault == Fault.SLOW_PRIMARY || fault.outsider() != null ? "16"
        : fault == Fault.MOVE_BACKUP || fault == Fault.ADD_REPLICA ? "24" : "10";
    List<String> args = new java.util.ArrayList<>(List.of("bench", "--clients", "4", "--warmup", "2", "--duration",
        duration, "--fault", fault.option(), "--fault-at", "3", "--json", "--keep-logs"));
    if (fault.changesGroup()) {
      // a small window, so that the change takes effect (a window of batches after it is ordered) within the run
      args.addAll(List.of("--set", "protocol.windowSize=64", "--set", "protocol.checkpointInterval=16"));
    }
    Run run = Run.of(args.toArray(String[]::new));
    Path logs = keptLogs(run);
    try {
      check(fault, run, logs);
    } finally {
      if (logs != null) {
        Directories.deleteRecursively(logs);
      }
    }
  }

  private static void check(Fault fault, Run run, Path logs) throws Exception {
    assertEquals(0, run.exitCode(), run.toString());
    JsonNode result = new ObjectMapper().readTree(run.out());
    JsonNode report = result.get("fault");
    assertEquals(fault.option(), report.get("kind").asText(), run.toString());
    long viewChanges = report.get("viewChanges").asLong();
    assertTrue(fault.viewChangesAsExpected(viewChanges),
        viewChanges + " view changes caused by " + fault.option() + ", expected " + fault.expectedViewChangesText()
            + "\n" + run + "\nwhat the replicas logged about them:\n" + viewChangeLines(logs));
    assertEquals(fault.expectedViewChangesMin(), report.get("expectedViewChangesMin").asInt(), run.toString());
    assertEquals(fault.expectedViewChangesMax(), report.get("expectedViewChangesMax").asInt(), run.toString());
    assertTrue(report.get("viewChangesAsExpected").asBoolean(), run.toString());
    if (fault.attackerSentKey() != null) {
      // The Byzantine client's or the outsider's process starts with the replicas and waits to be
      // armed: the attack must actually have happened, or the counts above say nothing about it.
      assertTrue(report.get(fault.attackerSentKey()).asLong() > 0, "the " + fault.option() + " sent nothing\n" + run);
    }
    if (fault.changesGroup()) {
      // the change itself: every replica in the new epoch within the run (the primary signing with
      // its new key; the moved backup at its new port, with the group's state)
      assertTrue(report.get("changeTookMs").asLong() >= 0, "the change did not take effect\n" + run);
      for (JsonNode s : result.get("endStatus")) {
        assertEquals(1, s.get("epoch").asLong(), run.toString());
      }
      // the members of the new epoch, where it places them: five after an addition to four, four after
      // a removal from the five bench starts for it
      int members = fault == Fault.ADD_REPLICA ? 5 : 4;
      assertEquals(members, result.get("endStatus").size(), run.toString());
    }
    if (fault == Fault.SESSION_EXHAUSTION) {
      // all of its streams, at every replica, within the run (not just its last seconds)
      assertEquals(4L * 5000, report.get("outsiderStreamsOpened").asLong(), run.toString());
    }
    JsonNode acked = result.get("acknowledged");
    assertTrue(acked.get("puts").asLong() > 0, run.toString());
    assertTrue(acked.get("keysChecked").asInt() > 0, run.toString());
    assertEquals(0, acked.get("lost").asInt(), "acknowledged puts lost\n" + run);
    assertTrue(report.get("recovered").asBoolean(), "operations completed after the fault\n" + run);
    // CPU is sampled from the replica processes bench started: a stopped one drops out, but at
    // least 2f + 1 ran through the measured interval.
    JsonNode cpu = result.get("cpu");
    assertTrue(cpu.get("processesMeasured").asInt() >= 3, run.toString());
    assertTrue(cpu.get("replicasMicrosPerOperation").asDouble() > 0, run.toString());
    assertTrue(cpu.get("clientMicrosPerOperation").asDouble() > 0, run.toString());
    if (fault == Fault.KILL_PRIMARY || fault == Fault.PAUSE_PRIMARY) {
      assertEquals(0, report.get("replica").asInt(), "the primary of view 0");
      assertFalse(result.get("endStatus").get(0).get("reachable").asBoolean(), "the stopped primary does not answer");
    }
    List<ProcessHandle> left = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
    assertEquals(List.of(), left, "processes bench started are still running");
  }

  /** The directory bench kept (--keep-logs), as its last line of stderr names it; null if none. */
  private static Path keptLogs(Run run) {
    Matcher m = Pattern.compile("kept the logs and keys in (\\S+)").matcher(run.err());
    return m.find() ? Path.of(m.group(1)) : null;
  }

  /** Each replica's log lines about complaints, stalls and views: why a view changed. */
  private static String viewChangeLines(Path logs) throws IOException {
    if (logs == null) {
      return "(no logs kept)";
    }
    StringBuilder out = new StringBuilder();
    try (Stream<Path> files = Files.list(logs)) {
      for (Path log : files.filter(f -> f.getFileName().toString().matches("replica-\\d+\\.log")).sorted().toList()) {
        for (String line : Files.readAllLines(log)) {
          if (line.contains("complain") || line.contains("stalled") || line.contains("view")) {
            out.append(log.getFileName()).append(": ").append(line).append('\n');
          }
        }
      }
    }
    return out.toString();
  }
}

package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** bench --fault: option checks, and one run against replica processes with a silenced primary. */
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
   * The silenced primary (SIGSTOP) is replaced by a view change, the report says so, and the
   * stopped process is continued and stopped with the rest: nothing bench started outlives it.
   */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void silencedPrimaryIsReplacedAndCleanedUp() throws Exception {
    Run run = Run.of("bench", "--clients", "4", "--warmup", "2", "--duration", "12", "--fault", "silence-primary",
        "--fault-at", "2", "--json");
    assertEquals(0, run.exitCode(), run.toString());
    JsonNode result = new ObjectMapper().readTree(run.out());
    JsonNode fault = result.get("fault");
    assertEquals("silence-primary", fault.get("kind").asText(), run.toString());
    assertEquals(0, fault.get("replica").asInt(), "the primary of view 0");
    assertTrue(fault.get("recovered").asBoolean(), run.toString());
    assertTrue(fault.get("maxCompletionGapMs").asLong() > 0, run.toString());
    assertTrue(result.get("endView").asLong() >= 1, "the others moved to a new view\n" + run);
    assertFalse(result.get("endStatus").get(0).get("reachable").asBoolean(), "the silenced replica does not answer");
    assertEquals(4, result.get("heap").get("processes").size(), run.toString());
    List<ProcessHandle> left = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
    assertEquals(List.of(), left, "processes bench started are still running");
  }
}

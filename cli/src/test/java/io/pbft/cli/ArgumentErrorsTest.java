package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad arguments exit 2 with a one-line message on stderr and never a stack trace. */
class ArgumentErrorsTest {
  @TempDir
  Path dir;

  private static void assertUsageError(Run run, String expectedInMessage) {
    assertEquals(2, run.exitCode(), run.toString());
    assertTrue(run.err().contains(expectedInMessage), "stderr should mention '" + expectedInMessage + "'\n" + run);
    assertFalse(run.err().contains("\tat "), "no stack trace expected\n" + run);
    assertTrue(run.out().isEmpty(), "nothing on stdout expected\n" + run);
  }

  @Test
  void noSubcommandPrintsUsage() {
    Run run = Run.of();
    assertEquals(2, run.exitCode(), run.toString());
    assertTrue(run.err().contains("Usage: pbft"), run.toString());
  }

  @Test
  void unknownSubcommand() {
    assertUsageError(Run.of("frobnicate"), "Unmatched argument");
  }

  @Test
  void unknownOption() {
    assertUsageError(Run.of("status", "--config", "x.yaml", "--bogus"), "Unknown option: '--bogus'");
  }

  @Test
  void missingRequiredOption() {
    assertUsageError(Run.of("kv", "--config", "x.yaml", "get", "k"), "--client");
  }

  @Test
  void kvWithoutOperation() {
    assertUsageError(Run.of("kv", "--config", "x.yaml", "--client", "0"), "missing operation");
  }

  @Test
  void casNeedsExpectedOrExpectAbsent() {
    assertUsageError(Run.of("kv", "--config", "x.yaml", "--client", "0", "cas", "k", "v"), "cas needs KEY EXPECTED NEW");
    assertUsageError(Run.of("kv", "--config", "x.yaml", "--client", "0", "cas", "--expect-absent", "k", "a", "b"),
        "with --expect-absent");
  }

  @Test
  void notANumber() {
    assertUsageError(Run.of("keygen", "--out", dir.toString(), "--replicas", "four"), "'four' is not an int");
  }

  @Test
  void badLogLevel() {
    assertUsageError(Run.of("--log-level", "LOUD", "status", "--config", "x.yaml"), "invalid --log-level 'LOUD'");
  }

  @Test
  void missingConfigFile() {
    assertUsageError(Run.of("status", "--config", dir.resolve("nope.yaml").toString()), "does not exist");
    assertUsageError(Run.of("kv", "--config", dir.resolve("nope.yaml").toString(), "--client", "0", "get", "k"),
        "does not exist");
    assertUsageError(Run.of("replica", "--config", dir.resolve("nope.yaml").toString(), "--id", "0"), "does not exist");
  }

  @Test
  void malformedConfigFile() throws Exception {
    Path yaml = dir.resolve("cluster.yaml");
    java.nio.file.Files.writeString(yaml, "replicas: 3\n");
    assertUsageError(Run.of("status", "--config", yaml.toString()), "'replicas' must be a list");
  }

  @Test
  void unknownReplicaAndClientIds() {
    Run keygen = Run.of("keygen", "--out", dir.toString(), "--clients", "1");
    assertEquals(0, keygen.exitCode(), keygen.toString());
    String yaml = dir.resolve("cluster.yaml").toString();
    assertUsageError(Run.of("replica", "--config", yaml, "--id", "7"), "no replica with id 7");
    // and says how a replica added to the group at run time starts, under an id the file does not list
    assertUsageError(Run.of("replica", "--config", yaml, "--id", "7"), "starts with --join");
    assertUsageError(Run.of("kv", "--config", yaml, "--client", "3", "get", "k"), "no client with id 3");
  }

  @Test
  void benchOptionConflicts() {
    assertUsageError(Run.of("bench", "--unreplicated", "--config", "x.yaml"), "cannot be combined with --config");
    assertUsageError(Run.of("bench", "--read-ratio", "1.5"), "--read-ratio must be between 0 and 1");
    assertUsageError(Run.of("bench", "--read-mode", "sideways"), "--read-mode must be read-only or ordered");
    assertUsageError(Run.of("bench", "--clients", "0"), "--clients must be at least 1");
    assertUsageError(Run.of("bench", "--unreplicated", "--wan", "25ms"), "--wan puts replica processes");
    assertUsageError(Run.of("bench", "--wan-loss", "2"), "need --wan DELAY");
    assertUsageError(Run.of("bench", "--wan", "25 parsecs"), "not a duration");
    assertUsageError(Run.of("bench", "--wan", "25ms", "--wan-loss", "100"), "loss must lie in [0, 1)");
  }

  @Test
  void benchNeedsEnoughClientIdentities() {
    assertEquals(0, Run.of("keygen", "--out", dir.toString(), "--clients", "2").exitCode());
    assertUsageError(Run.of("bench", "--config", dir.resolve("cluster.yaml").toString(), "--clients", "5"),
        "needs 5 client identities");
  }

  @Test
  void timeoutMustBePositive() {
    assertUsageError(Run.of("kv", "--config", "x.yaml", "--client", "0", "--timeout", "0", "get", "k"),
        "--timeout must be");
  }
}

package io.pbft.cli.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code pbft chaos}: one seed in full, a batch of seeds with a summary, violations, bad options. */
class SimCommandTest {
  private record Outcome(int code, String out, String err) {}

  private static Outcome run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Outcome(code, out.toString(), err.toString());
  }

  @Test
  void oneSeedIsDescribedWithItsReplayCommandAndFingerprint() {
    Outcome o = run("chaos", "sim", "--seed", "3", "--replicas", "4", "--traitors", "1", "--behaviour",
        "equivocating-primary", "--ops", "60", "--no-nemesis");
    assertEquals(0, o.code(), o::toString);
    assertTrue(o.out().contains("ok seed 3"), o.out());
    assertTrue(o.out().contains("replay:   pbft chaos sim --seed 3 --replicas 4 --traitors 1 --behaviour "
        + "equivocating-primary --ops 60 --no-nemesis"), o.out());
    assertTrue(o.out().contains("traitors {0=equivocating-primary}"), o.out());
    String fingerprint = o.out().substring(o.out().indexOf("run fingerprint: "));
    Outcome again = run("chaos", "sim", "--seed", "3", "--replicas", "4", "--traitors", "1", "--behaviour",
        "equivocating-primary", "--ops", "60", "--no-nemesis");
    assertEquals(fingerprint.lines().findFirst(), again.out().substring(again.out().indexOf("run fingerprint: "))
        .lines().findFirst(), "the same seed replays event for event");
  }

  @Test
  void batchOfSeedsEndsWithASummary() {
    Outcome o = run("chaos", "sim", "--seeds", "3", "--first-seed", "100", "--ops", "40", "--threads", "2");
    assertEquals(0, o.code(), o::toString);
    assertTrue(o.err().contains("running seeds 100..102"), o.err());
    assertTrue(o.out().contains("runs:              3"), o.out());
    assertTrue(o.out().contains("seeds per minute"), o.out());
    assertTrue(o.out().contains("violations:        0"), o.out());
  }

  @Test
  void collusionBeyondFIsReportedWithTheCommandThatReplaysIt() {
    Outcome o = run("chaos", "sim", "--seeds", "2", "--first-seed", "3", "--replicas", "4", "--behaviour", "collusion",
        "--ops", "60", "--show", "1");
    assertEquals(1, o.code(), o::toString);
    assertTrue(o.out().contains("FAIL seed "), o.out());
    assertTrue(o.out().contains("replay:   pbft chaos sim --seed "), o.out());
    assertTrue(o.out().contains("--replicas 4 --behaviour collusion --ops 60"), o.out());
    assertTrue(o.out().contains("beyond f"), o.out());
  }

  @Test
  void macVotesRunSignedRequestsWithMacVotesAndCannotBeExportedAsAScript() {
    Outcome o = run("chaos", "sim", "--seeds", "3", "--first-seed", "200", "--ops", "40", "--threads", "2",
        "--authentication", "signatures", "--traitors", "1", "--mac-votes");
    assertEquals(0, o.code(), o::toString);
    assertTrue(o.err().contains("signed requests with MAC'd votes (add --mac-votes to each replay)"), o.err());
    assertTrue(o.out().contains("violations:        0"), o.out());

    Outcome script = run("chaos", "sim", "--seed", "3", "--mac-votes", "--script", "x.txt");
    assertEquals(2, script.code(), script::toString);
    assertTrue(script.err().contains("leave out --crypto fast, --authentication macs and --mac-votes"), script.err());
  }

  @Test
  void unknownBehaviourIsAUsageError() {
    Outcome o = run("chaos", "sim", "--seed", "1", "--behaviour", "bogus");
    assertEquals(2, o.code(), o::toString);
    assertTrue(o.err().contains("unknown traitor behaviour 'bogus'"), o.err());
  }

  @Test
  void behavioursAreListed() {
    Outcome o = run("chaos", "behaviours");
    assertEquals(0, o.code());
    assertTrue(o.out().contains("equivocating-primary") && o.out().contains("collusion"), o.out());
    for (String client : java.util.List.of("flooder", "equivocating-client", "max-timestamp", "replayer",
        "partial-authenticator")) {
      assertTrue(o.out().contains("\n" + client + " "), () -> client + " listed: " + o.out());
    }
  }

  @Test
  void byzantineClientsAreNamedInTheScenarioTheirCountsAndTheReplayCommand() {
    Outcome o = run("chaos", "sim", "--seed", "4", "--replicas", "4", "--clients", "5", "--ops", "60", "--no-nemesis",
        "--client-behaviour", "replayer,equivocating-client");
    assertEquals(0, o.code(), o::toString);
    assertTrue(o.out().contains("replay:   pbft chaos sim --seed 4 --replicas 4 --ops 60 --clients 5 --no-nemesis "
        + "--client-behaviour replayer,equivocating-client"), o.out());
    assertTrue(o.out().contains("Byzantine clients {5=replayer, 6=equivocating-client}"), o.out());
    assertTrue(o.out().contains("Byzantine client 5 (replayer): {"), o.out());
    assertTrue(o.out().contains("Byzantine client 6 (equivocating-client): {"), o.out());
  }

  @Test
  void batchSummaryNamesTheClientBehavioursCovered() {
    Outcome o = run("chaos", "sim", "--seeds", "2", "--first-seed", "100", "--ops", "30", "--threads", "2",
        "--client-behaviour", "flooder,max-timestamp");
    assertEquals(0, o.code(), o::toString);
    assertTrue(o.out().contains("client behaviours: 2 [flooder, max-timestamp] in 2 runs with Byzantine clients"),
        o.out());
  }

  @Test
  void unknownClientBehaviourIsAUsageError() {
    Outcome o = run("chaos", "sim", "--seed", "1", "--client-behaviour", "bogus");
    assertEquals(2, o.code(), o::toString);
    assertTrue(o.err().contains("unknown client behaviour 'bogus'"), o.err());
  }
}

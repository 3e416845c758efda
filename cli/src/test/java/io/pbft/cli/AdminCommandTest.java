package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.config.ClusterConfig;
import io.pbft.config.Member;
import io.pbft.config.Membership;
import io.pbft.config.ReconfigurationVerdict;
import io.pbft.config.Reconfigurations;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Digests;
import io.pbft.proto.Reconfiguration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pbft admin}: building, signing and checking reconfiguration commands offline, building
 * on earlier changes ({@code --after}), and submitting one (its errors; a running group's answer is
 * KeyRotationProcessTest's).
 */
class AdminCommandTest {
  @TempDir
  Path dir;

  private String yaml() {
    return dir.resolve("cluster.yaml").toString();
  }

  private String file(String name) {
    return dir.resolve(name).toString();
  }

  private static Run ok(String... args) {
    Run run = Run.of(args);
    assertEquals(0, run.exitCode(), run.toString());
    assertFalse(run.err().contains("\tat "), run.toString());
    return run;
  }

  private static void assertContains(Run run, String... parts) {
    String all = run.out() + run.err();
    for (String part : parts) {
      assertTrue(all.contains(part), "output lacks '" + part + "'\n" + run);
    }
  }

  /** A one-line error on stderr, nothing on stdout, no stack trace, the exit code given. */
  private static void assertError(int code, Run run, String... parts) {
    assertEquals(code, run.exitCode(), run.toString());
    assertContains(run, parts);
    assertTrue(run.out().isEmpty(), "nothing on stdout\n" + run);
    assertTrue(run.err().startsWith("error: "), run.toString());
    assertFalse(run.err().contains("\tat "), "no stack trace\n" + run);
  }

  /** Every file under {@code root} with its bytes, to show that nothing of it changed. */
  private static Map<String, String> contents(Path root) throws Exception {
    Map<String, String> all = new TreeMap<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        all.put(root.relativize(f).toString(), new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1));
      }
    }
    return all;
  }

  private Reconfiguration command(String name) throws Exception {
    return Reconfiguration.parseFrom(Files.readAllBytes(dir.resolve(name)));
  }

  private Membership epochZero() {
    return Membership.initial(ClusterConfig.load(dir.resolve("cluster.yaml")));
  }

  /** The next epoch the command in {@code name} names, when its signatures are left aside. */
  private Membership unsignedNext(String name) throws Exception {
    ReconfigurationVerdict v = Reconfigurations.validateUnsigned(epochZero(), command(name));
    assertTrue(v.isAccepted(), v.toString());
    return v.next();
  }

  /** Four replicas without TLS, two administration keys of which both must sign, and an entry for replica 4. */
  private ReplicaInfo twoOfTwoWithNewReplica() {
    ok("keygen", "--out", dir.toString(), "--no-tls", "--clients", "1", "--admin-keys", "2", "--admin-threshold", "2");
    ok("keygen", "--add-to", dir.toString(), "--address", "127.0.0.1:7004");
    return ClusterConfig.parseReplicaEntry(dir.resolve("new-replica-4.yaml"));
  }

  // ---------------------------------------------------------------- end to end

  @Test
  void addCheckSignTwiceAndCheckAgain() throws Exception {
    ReplicaInfo entry = twoOfTwoWithNewReplica();
    Membership zero = epochZero();

    Run add = ok("admin", "add-replica", "--config", yaml(), "--entry", file("new-replica-4.yaml"), "--out",
        file("add-4.cmd"), "--reason", "more capacity");
    assertContains(add, "epoch 0 -> 1: more capacity", "members of epoch 0 (n = 4, f = 1)",
        "members of epoch 1 (n = 5, f = 1)", "replica 4   127.0.0.1:7004", "(added)",
        "membership digest of epoch 0: " + Digests.hex(zero.digest()), "signatures: 0 of the 2 needed",
        "wrote the unsigned command to " + file("add-4.cmd"));
    Reconfiguration unsigned = command("add-4.cmd");
    assertEquals("more capacity", unsigned.getReason());
    assertEquals(0, unsigned.getSignaturesCount());
    assertArrayEquals(zero.digest(), unsigned.getPreviousMembershipDigest().toByteArray());
    assertEquals(zero.nextAdding(Member.of(entry)), unsignedNext("add-4.cmd"));

    Run refused = Run.of("admin", "check", "--config", yaml(), file("add-4.cmd"));
    assertEquals(1, refused.exitCode(), refused.toString());
    assertContains(refused, "refused: signed by 0 distinct administration keys of epoch 0, but 2 must sign");

    Run first = ok("admin", "sign", "--config", yaml(), "--key", file("keys/admin-0.key"), file("add-4.cmd"));
    assertContains(first, "signed " + file("add-4.cmd") + " with administration key 0",
        "signatures: 1 of the 2 needed (administration key 0)", "not yet accepted: signed by 1 distinct");
    assertEquals(1, Run.of("admin", "check", "--config", yaml(), file("add-4.cmd")).exitCode());

    Run second = ok("admin", "sign", "--config", yaml(), "--key", file("keys/admin-1.key"), file("add-4.cmd"));
    assertContains(second, "signatures: 2 of the 2 needed (administration keys 0, 1)",
        "accepted: it has the signatures it needs");

    Run accepted = ok("admin", "check", "--config", yaml(), file("add-4.cmd"));
    assertContains(accepted, "accepted: epoch 0 -> 1, n = 5, f = 1");
    ReconfigurationVerdict v = Reconfigurations.validate(zero, command("add-4.cmd"));
    assertTrue(v.isAccepted(), v.toString());
    assertEquals(zero.nextAdding(Member.of(entry)), v.next());
    assertFalse(Files.list(dir).anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary files");
  }

  @Test
  void aTamperedCommandIsRefusedByCheckAndNotSigned() throws Exception {
    twoOfTwoWithNewReplica();
    ok("admin", "add-replica", "--config", yaml(), "--entry", file("new-replica-4.yaml"), "--out", file("c"));
    ok("admin", "sign", "--config", yaml(), "--key", file("keys/admin-0.key"), file("c"));
    Reconfiguration signed = command("c");
    Reconfiguration tampered = signed.toBuilder()
        .setMembers(4, signed.getMembers(4).toBuilder().setAddress("attacker.example:7004")).build();
    Files.write(dir.resolve("c"), tampered.toByteArray());

    Run check = Run.of("admin", "check", "--config", yaml(), file("c"));
    assertEquals(1, check.exitCode(), check.toString());
    assertContains(check, "refused: signatures[0], by administration key 0 of epoch 0", "does not verify");

    Map<String, String> before = contents(dir);
    assertError(2, Run.of("admin", "sign", "--config", yaml(), "--key", file("keys/admin-1.key"), file("c")),
        "signatures[0] does not verify", "do not sign it");
    assertEquals(before, contents(dir), "nothing written");
  }

  @Test
  void signRefusesARepeatedSignerAndAKeyThatIsNotAnAdministrationKey() throws Exception {
    twoOfTwoWithNewReplica();
    ok("admin", "add-replica", "--config", yaml(), "--entry", file("new-replica-4.yaml"), "--out", file("c"));
    ok("admin", "sign", "--config", yaml(), "--key", file("keys/admin-1.key"), file("c"));
    Map<String, String> before = contents(dir);
    assertError(2, Run.of("admin", "sign", "--config", yaml(), "--key", file("keys/admin-1.key"), file("c")),
        "(administration key 1) has already signed");
    assertError(2, Run.of("admin", "sign", "--config", yaml(), "--key", file("keys/replica-0.key"), file("c")),
        "is not an administration key of");
    assertError(2, Run.of("admin", "sign", "--config", yaml(), "--key", file("keys/admin-9.key"), file("c")),
        "--key " + file("keys/admin-9.key") + " does not exist");
    assertEquals(before, contents(dir), "nothing written");
    assertEquals(1, command("c").getSignaturesCount());
  }

  @Test
  void aCommandForAnotherGroupIsRefusedAndNotSigned() throws Exception {
    twoOfTwoWithNewReplica();
    ok("admin", "add-replica", "--config", yaml(), "--entry", file("new-replica-4.yaml"), "--out", file("c"));
    Path other = dir.resolve("other");
    ok("keygen", "--out", other.toString(), "--no-tls", "--clients", "1", "--admin-keys", "1");
    String otherYaml = other.resolve("cluster.yaml").toString();
    Run check = Run.of("admin", "check", "--config", otherYaml, file("c"));
    assertEquals(1, check.exitCode(), check.toString());
    assertContains(check, "but the command was built for: " + Digests.hex(epochZero().digest()),
        "refused: the command was built for another membership");
    assertError(2, Run.of("admin", "sign", "--config", otherYaml, "--key", other.resolve("keys/admin-0.key").toString(),
        file("c")), "would refuse it: the command was built for another membership");
  }

  // ---------------------------------------------------------------- the other changes

  @Test
  void removeReplaceRotateAndSetFaultsBuildTheMembershipsExpected() throws Exception {
    ok("keygen", "--out", dir.toString(), "--no-tls", "--replicas", "5", "--clients", "1", "--admin-keys", "1");
    ok("keygen", "--add-to", dir.toString(), "--address", "spare.example:7010");
    ok("keygen", "--add-to", dir.toString(), "--address", "unused.example:7011");
    ReplicaInfo five = ClusterConfig.parseReplicaEntry(dir.resolve("new-replica-5.yaml"));
    ReplicaInfo six = ClusterConfig.parseReplicaEntry(dir.resolve("new-replica-6.yaml"));
    Membership zero = epochZero();
    assertEquals(1, zero.f());

    Run remove = ok("admin", "remove-replica", "--config", yaml(), "--id", "4", "--out", file("remove.cmd"));
    assertContains(remove, "epoch 0 -> 1: remove replica 4", "removed: replica 4", "members of epoch 1 (n = 4, f = 1)");
    assertEquals(zero.nextRemoving(4), unsignedNext("remove.cmd"));

    Run replace = ok("admin", "replace-replica", "--config", yaml(), "--id", "2", "--entry",
        file("new-replica-5.yaml"), "--out", file("replace.cmd"));
    assertContains(replace, "replica 2   spare.example:7010", "(replaced: new address and key)",
        "note: the entry was made for id 5");
    assertEquals(zero.nextReplacing(2, "spare.example", 7010, five.publicKey(), null), unsignedNext("replace.cmd"));

    Run rotate = ok("admin", "rotate-key", "--config", yaml(), "--id", "1", "--entry", file("new-replica-6.yaml"),
        "--out", file("rotate.cmd"), "--reason", "key leaked");
    assertContains(rotate, "epoch 0 -> 1: key leaked", "replica 1   127.0.0.1:7001", "(new key)");
    assertEquals(zero.nextRotatingKey(1, six.publicKey(), null), unsignedNext("rotate.cmd"));

    Run faults = ok("admin", "set-faults", "--config", yaml(), "--f", "0", "--out", file("faults.cmd"));
    assertContains(faults, "f: 1 -> 0", "members of epoch 1 (n = 5, f = 0)");
    assertEquals(zero.nextWithFaults(0), unsignedNext("faults.cmd"));

    // each, signed by the one administration key, is accepted
    for (String name : new String[] {"remove.cmd", "replace.cmd", "rotate.cmd", "faults.cmd"}) {
      ok("admin", "sign", "--config", yaml(), "--key", file("keys/admin-0.key"), file(name));
      assertContains(ok("admin", "check", "--config", yaml(), file(name)), "accepted: epoch 0 -> 1");
    }
  }

  @Test
  void impossibleChangesAreRefusedAndWriteNothing() throws Exception {
    twoOfTwoWithNewReplica();
    Map<String, String> before = contents(dir);
    assertError(2, Run.of("admin", "remove-replica", "--config", yaml(), "--id", "9", "--out", file("x")),
        "cannot remove replica 9: it is not a member (members: [0, 1, 2, 3])");
    assertError(2, Run.of("admin", "remove-replica", "--config", yaml(), "--id", "3", "--out", file("x")),
        "fewer than 3f + 1 = 4 for f = 1");
    assertError(2, Run.of("admin", "set-faults", "--config", yaml(), "--f", "2", "--out", file("x")),
        "fewer than 3f + 1 = 7");
    assertError(2, Run.of("admin", "set-faults", "--config", yaml(), "--f", "1", "--out", file("x")),
        "the change leaves epoch 0 as it is");
    assertError(2, Run.of("admin", "rotate-key", "--config", yaml(), "--id", "7", "--entry",
        file("new-replica-4.yaml"), "--out", file("x")), "cannot rotate the key of replica 7");
    assertError(2, Run.of("admin", "add-replica", "--config", yaml(), "--entry", file("new-replica-4.yaml"),
        "--out", file("x"), "--reason", "x".repeat(Reconfigurations.REASON_BYTES_MAX + 1)), "the reason is longer");
    assertEquals(before, contents(dir), "nothing written");
  }

  // ---------------------------------------------------------------- bad input

  @Test
  void badFilesAreOneLineErrorsAndChangeNothing() throws Exception {
    twoOfTwoWithNewReplica();
    ok("admin", "add-replica", "--config", yaml(), "--entry", file("new-replica-4.yaml"), "--out", file("c"));
    byte[] good = Files.readAllBytes(dir.resolve("c"));
    Files.write(dir.resolve("truncated"), Arrays.copyOf(good, good.length / 2));
    Files.write(dir.resolve("empty"), new byte[0]);
    Map<String, String> before = contents(dir);

    assertError(2, Run.of("admin", "check", "--config", yaml(), file("truncated")),
        "is not a reconfiguration command (corrupt or truncated");
    assertError(2, Run.of("admin", "sign", "--config", yaml(), "--key", file("keys/admin-0.key"), file("truncated")),
        "is not a reconfiguration command");
    assertError(2, Run.of("admin", "check", "--config", yaml(), file("empty")), "is empty");
    assertError(2, Run.of("admin", "check", "--config", yaml(), yaml()), "is not a reconfiguration command");
    assertError(2, Run.of("admin", "check", "--config", yaml(), file("nope")), "command file", "does not exist");
    assertError(2, Run.of("admin", "check", "--config", file("nope.yaml"), file("c")), "does not exist");
    assertError(2, Run.of("admin", "add-replica", "--config", yaml(), "--entry", file("nope.yaml"), "--out",
        file("x")), "--entry", "does not exist", "pbft keygen --add-to");
    assertError(2, Run.of("admin", "add-replica", "--config", yaml(), "--entry", yaml(), "--out", file("x")),
        "expected one replica entry");
    assertError(2, Run.of("admin", "add-replica", "--config", yaml(), "--entry", file("new-replica-4.yaml"),
        "--out", file("c")), "--out " + file("c") + " already exists");
    assertError(2, Run.of("admin", "add-replica", "--config", yaml(), "--entry", file("new-replica-4.yaml"),
        "--out", file("no-such-dir/c")), "does not exist");
    assertError(2, Run.of("admin", "sign", "--config", yaml(), "--key", yaml(), file("c")),
        "is not a pbft Ed25519 key file");
    assertEquals(before, contents(dir), "nothing written");
  }

  @Test
  void aConfigurationWithoutAdministrationCannotBeChanged() throws Exception {
    ok("keygen", "--out", dir.toString(), "--no-tls", "--clients", "1");
    Files.write(dir.resolve("c"), new byte[] {8, 1}); // epoch 1 and nothing else
    Map<String, String> before = contents(dir);
    for (Run run : new Run[] {
        Run.of("admin", "remove-replica", "--config", yaml(), "--id", "3", "--out", file("x")),
        Run.of("admin", "check", "--config", yaml(), file("c")),
        Run.of("admin", "sign", "--config", yaml(), "--key", file("keys/replica-0.key"), file("c"))}) {
      assertError(2, run, "has no administration section, so its group cannot be changed", "--admin-keys");
    }
    assertEquals(before, contents(dir), "nothing written");
  }

  @Test
  void usageErrors() {
    Run bare = Run.of("admin");
    assertEquals(2, bare.exitCode(), bare.toString());
    assertContains(bare, "Usage: pbft admin");
    assertError(2, Run.of("admin", "remove-replica", "--config", yaml(), "--id", "3"), "Missing required option",
        "--out");
    assertError(2, Run.of("admin", "add-replica", "--config", yaml(), "--out", file("x")), "--entry");
    assertError(2, Run.of("admin", "set-faults", "--config", yaml(), "--f", "one", "--out", file("x")),
        "'one' is not an int");
    assertError(2, Run.of("admin", "check", "--config", yaml()), "COMMAND_FILE");
    assertError(2, Run.of("admin", "sign", "--config", yaml(), file("c")), "--key");
    assertError(2, Run.of("admin", "submit", "--config", yaml(), file("c")), "Missing required option", "--client");
    assertError(2, Run.of("admin", "submit", "--config", yaml(), "--client", "0", "--timeout", "0", file("c")),
        "--timeout must be between 0 and 86400 seconds");
  }

  @Test
  void helpNamesEverySubcommandAndSubmitting() {
    Run help = ok("admin", "--help");
    assertContains(help, "add-replica", "remove-replica", "replace-replica", "rotate-key", "set-faults", "sign", "check",
        "submit", "'submit' sends a signed command to the running group");
    assertContains(ok("admin", "submit", "--help"), "--client", "--wait", "--timeout", "--after");
    assertContains(ok("--help"), "admin");
  }

  /**
   * A configuration with one administration key, replica {@code id}'s next key, and the command
   * rotating to it, signed: DIR/rotate-ID.cmd.
   */
  private void signedRotation(int id) {
    ok("keygen", "--out", dir.toString(), "--no-tls", "--clients", "1", "--admin-keys", "1");
    ok("keygen", "--add-to", dir.toString(), "--replacing", Integer.toString(id));
    ok("admin", "rotate-key", "--config", yaml(), "--id", Integer.toString(id), "--entry",
        file("replacement-replica-" + id + ".yaml"), "--out", file("rotate-" + id + ".cmd"));
    ok("admin", "sign", "--config", yaml(), "--key", file("keys/admin-0.key"), file("rotate-" + id + ".cmd"));
  }

  @Test
  void aSecondChangeIsBuiltAfterTheFirstAndAWrongChainIsRefused() throws Exception {
    signedRotation(2);
    ok("admin", "set-faults", "--config", yaml(), "--after", file("rotate-2.cmd"), "--f", "0", "--out",
        file("f0.cmd"));
    Reconfiguration second = command("f0.cmd");
    assertEquals(2, second.getEpoch(), "built on epoch 1, which the first change made");
    Membership one = Reconfigurations.validate(epochZero(), command("rotate-2.cmd")).next();
    assertArrayEquals(one.digest(), second.getPreviousMembershipDigest().toByteArray());
    ok("admin", "sign", "--config", yaml(), "--after", file("rotate-2.cmd"), "--key", file("keys/admin-0.key"),
        file("f0.cmd"));
    assertContains(ok("admin", "check", "--config", yaml(), "--after", file("rotate-2.cmd"), file("f0.cmd")),
        "accepted: epoch 1 -> 2, n = 4, f = 0");
    Run againstZero = Run.of("admin", "check", "--config", yaml(), file("f0.cmd"));
    assertEquals(1, againstZero.exitCode(), "a command for epoch 2 is refused against epoch 0\n" + againstZero);
    // A chain that does not hold: the second change given as the first.
    assertError(2, Run.of("admin", "check", "--config", yaml(), "--after", file("f0.cmd"), file("f0.cmd")),
        "--after " + file("f0.cmd") + " does not follow epoch 0");
  }

  @Test
  void submittingToAGroupThatDoesNotAnswerFailsInTime() throws Exception {
    signedRotation(1);
    long start = System.nanoTime();
    Run run = Run.of("admin", "submit", "--config", yaml(), "--client", "0", "--timeout", "2", file("rotate-1.cmd"));
    assertEquals(1, run.exitCode(), "no replica is running\n" + run);
    assertContains(run, "no verdict from the group");
    assertTrue(System.nanoTime() - start < java.util.concurrent.TimeUnit.SECONDS.toNanos(30), run.toString());
  }
}

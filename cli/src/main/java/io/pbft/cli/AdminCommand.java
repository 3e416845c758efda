package io.pbft.cli;

import io.pbft.cli.cluster.ClusterStatus;
import io.pbft.config.ClusterConfig;
import io.pbft.config.Member;
import io.pbft.config.Membership;
import io.pbft.config.MembershipChange;
import io.pbft.config.ReconfigurationVerdict;
import io.pbft.config.Reconfigurations;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.proto.AdministrationSignature;
import io.pbft.proto.Reconfiguration;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pbft admin}: reconfiguration commands built, signed and checked offline against a
 * configuration directory (docs/RECONFIGURATION.md), and submitted to a running group. The
 * current membership the offline subcommands build from is epoch 0, read from cluster.yaml.
 */
@Command(name = "admin", mixinStandardHelpOptions = true,
    description = {"Build, sign and check reconfiguration commands offline (docs/RECONFIGURATION.md).",
        "A change subcommand writes the whole next membership as an unsigned command file; administrators add "
            + "their signatures with 'sign'; 'check' says whether the group would accept it.",
        "The current membership is epoch 0 from cluster.yaml, which needs an administration section "
            + "('pbft keygen --admin-keys K').",
        "'submit' sends a signed command to the running group as a client request and waits for its verdict "
            + "and, with --wait, for the new epoch to take effect. Replica processes carry out key rotations, "
            + "moves of a member to a new address (its new machine started with 'pbft replica --join') and changes "
            + "of f so far; they refuse a command that adds or removes members when it is ordered."},
    subcommands = {AdminCommand.AddReplica.class, AdminCommand.RemoveReplica.class,
        AdminCommand.ReplaceReplica.class, AdminCommand.RotateKey.class, AdminCommand.SetFaults.class,
        AdminCommand.Sign.class, AdminCommand.Check.class, AdminCommand.Submit.class},
    commandListHeading = "%nCommands:%n",
    footer = {"", "Exit codes: 0 ok (check, submit: accepted), 1 refused (or submit: no verdict or epoch in "
        + "time), 2 bad arguments, files or configuration."})
final class AdminCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return CliException.USAGE;
  }

  /** The configuration and its current membership, epoch 0; refused without administration keys. */
  static Membership currentMembership(ClusterConfig config, Path file) {
    if (config.administration().isNone()) {
      throw CliException.usage(file + " has no administration section, so its group cannot be changed (a new "
          + "configuration gets one from 'pbft keygen --admin-keys K'; see docs/RECONFIGURATION.md)");
    }
    return Membership.initial(config);
  }

  /** {@code --config}: the configuration every admin subcommand starts from. */
  static final class Group {
    @Option(names = "--config", paramLabel = "FILE", required = true,
        description = "The cluster configuration (cluster.yaml with an administration section, or its directory).")
    Path config;

    @Option(names = "--after", paramLabel = "COMMAND_FILE",
        description = "A change the group already carried out (repeat, in order, for each since cluster.yaml): the "
            + "current membership is then the one the last of them made. Each is checked against the membership "
            + "before it, signatures included.")
    List<Path> after = new ArrayList<>();

    @Option(names = "--from-group",
        description = "Ask the running group (every replica's status) for the changes it carried out since "
            + "cluster.yaml: the current membership is then the furthest one a replica's chain of signed changes "
            + "reaches, each change checked against the one before it, signatures included (after any --after).")
    boolean fromGroup;

    ClusterConfig cluster() {
      return Configs.load(config);
    }

    /** Epoch 0 from cluster.yaml, then each --after command in turn, then with --from-group the group's chain. */
    Membership current(ClusterConfig cluster) {
      Membership m = currentMembership(cluster, config);
      for (Path file : after) {
        Reconfiguration earlier = CommandFiles.read(file);
        ReconfigurationVerdict v = Reconfigurations.validate(m, earlier);
        if (!v.isAccepted()) {
          throw CliException.usage("--after " + file + " does not follow epoch " + m.epoch() + ": " + v.refusal());
        }
        m = v.next();
      }
      return fromGroup ? followGroup(cluster, m) : m;
    }

    /**
     * The furthest membership the reachable replicas' chains of changes lead to from {@code known};
     * a replica whose chain does not check is named, and none reachable is an error.
     */
    private static Membership followGroup(ClusterConfig cluster, Membership known) {
      ClusterStatus.Snapshot snapshot = ClusterStatus.pollFollowing(cluster, java.time.Duration.ofSeconds(5));
      if (snapshot.reachableCount() == 0) {
        throw new CliException(CliException.FAILED, "--from-group: no replica answered its status");
      }
      ClusterStatus.Followed followed = snapshot.furthestMembership(known);
      if (!followed.refusals().isEmpty()) {
        System.err.println("--from-group: chains that do not check, ignored past that point: " + followed.refusals());
      }
      return followed.membership();
    }
  }

  // ---------------------------------------------------------------- the change subcommands

  /** What every change subcommand shares: the configuration, the reason, the output file. */
  abstract static class ChangeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    Group group;

    @Option(names = "--reason", paramLabel = "TEXT",
        description = "Why, for the operators (signed with the rest; default: what the change does).")
    String reason;

    @Option(names = "--out", paramLabel = "FILE", required = true,
        description = "Where to write the unsigned command (binary protobuf); must not exist yet.")
    Path out;

    /** Applies the operator's intent to {@code change}; returns the default reason. */
    abstract String apply(MembershipChange change, Membership current, ClusterConfig cluster, PrintWriter notes);

    @Override
    public Integer call() {
      CommandFiles.checkNew(out);
      ClusterConfig cluster = group.cluster();
      Membership current = group.current(cluster);
      PrintWriter o = spec.commandLine().getOut();
      java.io.StringWriter notes = new java.io.StringWriter();
      MembershipChange change = current.change();
      String description = apply(change, current, cluster, new PrintWriter(notes, true));
      Membership next = change.build();
      Reconfiguration command = Reconfigurations.command(current, next, reason != null ? reason : description);
      java.io.StringWriter summary = new java.io.StringWriter();
      CommandFiles.describe(new PrintWriter(summary, true), current, command);
      CommandFiles.write(out, command.toByteArray(), false); // the last step: nothing is written on a refusal
      o.print(summary);
      o.print(notes);
      o.printf("wrote the unsigned command to %s; each administrator signs it with: pbft admin sign --config %s "
          + "--key KEYFILE %s%n", out, group.config, out);
      o.flush();
      return 0;
    }
  }

  @Command(name = "add-replica", mixinStandardHelpOptions = true,
      description = "A command adding the replica of an entry file that 'pbft keygen --add-to' wrote.")
  static final class AddReplica extends ChangeCommand {
    @Option(names = "--entry", paramLabel = "FILE", required = true,
        description = "The new replica's entry: new-replica-ID.yaml from 'pbft keygen --add-to DIR --address "
            + "HOST:PORT'.")
    Path entry;

    @Override
    String apply(MembershipChange change, Membership current, ClusterConfig cluster, PrintWriter notes) {
      ReplicaInfo r = CommandFiles.readEntry(entry);
      change.add(Member.of(r));
      return "add replica " + r.id() + " at " + r.address();
    }
  }

  @Command(name = "remove-replica", mixinStandardHelpOptions = true,
      description = "A command removing a member (its id is not reused).")
  static final class RemoveReplica extends ChangeCommand {
    @Option(names = "--id", paramLabel = "ID", required = true, description = "The member to remove.")
    int id;

    @Override
    String apply(MembershipChange change, Membership current, ClusterConfig cluster, PrintWriter notes) {
      change.remove(id);
      return "remove replica " + id;
    }
  }

  @Command(name = "replace-replica", mixinStandardHelpOptions = true,
      description = "A command moving a member to another machine: the same id, the address and key of an entry file.")
  static final class ReplaceReplica extends ChangeCommand {
    @Option(names = "--id", paramLabel = "ID", required = true, description = "The member to replace.")
    int id;

    @Option(names = "--entry", paramLabel = "FILE", required = true,
        description = "The new machine's entry (from 'pbft keygen --add-to DIR --replacing ID --address HOST:PORT'): "
            + "its address and public key are used.")
    Path entry;

    @Override
    String apply(MembershipChange change, Membership current, ClusterConfig cluster, PrintWriter notes) {
      ReplicaInfo r = CommandFiles.readEntry(entry);
      change.replace(id, r.host(), r.port(), r.publicKey(), nextCertificate(cluster, id, notes));
      noteOtherId(r, id, cluster, notes);
      return "replace replica " + id + " with a new machine at " + r.address();
    }
  }

  @Command(name = "rotate-key", mixinStandardHelpOptions = true,
      description = "A command giving a member a new key at the same address: the public key of an entry file.")
  static final class RotateKey extends ChangeCommand {
    @Option(names = "--id", paramLabel = "ID", required = true, description = "The member whose key changes.")
    int id;

    @Option(names = "--entry", paramLabel = "FILE", required = true,
        description = "An entry holding the new public key (from 'pbft keygen --add-to DIR --replacing ID'); its "
            + "address is not used.")
    Path entry;

    @Override
    String apply(MembershipChange change, Membership current, ClusterConfig cluster, PrintWriter notes) {
      ReplicaInfo r = CommandFiles.readEntry(entry);
      change.rotateKey(id, r.publicKey(), nextCertificate(cluster, id, notes));
      noteOtherId(r, id, cluster, notes);
      return "rotate the key of replica " + id;
    }
  }

  @Command(name = "set-faults", mixinStandardHelpOptions = true,
      description = "A command changing how many faults the group tolerates (it needs n >= 3f + 1 members).")
  static final class SetFaults extends ChangeCommand {
    @Option(names = "--f", paramLabel = "F", required = true, description = "Faults tolerated in the next epoch.")
    int faults;

    @Override
    String apply(MembershipChange change, Membership current, ClusterConfig cluster, PrintWriter notes) {
      change.faults(faults);
      return "set f to " + faults;
    }
  }

  /**
   * An entry made for another id (by keygen --add-to without --replacing): its key becomes the
   * member's, and with TLS on its certificate names the wrong replica.
   */
  /**
   * With TLS on, the certificate {@code pbft keygen --replacing ID} issued for member {@code id}'s
   * next key (under its replacement directory), which the command then names: the replica serves
   * it from the handover on. Null (no certificate named) with TLS off or without that file, which
   * is noted: the replica then keeps its current certificate.
   */
  private static byte[] nextCertificate(ClusterConfig cluster, int id, PrintWriter notes) {
    if (!cluster.tls().enabled()) {
      return null;
    }
    Path file = io.pbft.config.ClusterSetup.replacementDir(cluster, id).resolve(cluster.tls().replicaFiles(id).certFile());
    if (!java.nio.file.Files.isRegularFile(file)) {
      notes.printf("note: no certificate for replica %d's next key at %s: the command names none, and the replica "
          + "keeps serving its current TLS certificate%n", id, file);
      return null;
    }
    try {
      java.security.cert.X509Certificate cert = io.pbft.crypto.tls.Pem.readCertificates(file).get(0);
      notes.printf("the command names the TLS certificate in %s (serial %s), which replica %d serves from the "
          + "handover on%n", file, cert.getSerialNumber().toString(16), id);
      return cert.getEncoded();
    } catch (RuntimeException | java.security.cert.CertificateEncodingException e) {
      throw CliException.usage(file + ": " + e.getMessage());
    }
  }

  private static void noteOtherId(ReplicaInfo entry, int id, ClusterConfig cluster, PrintWriter notes) {
    if (entry.id() == id) {
      return;
    }
    notes.printf("note: the entry was made for id %d; its key%s becomes replica %d's, so install it as replica %d's "
        + "key file%n", entry.id(), entry.keyFile() != null ? " (" + entry.keyFile() + ")" : "", id, id);
    if (cluster.tls().enabled()) {
      notes.printf("warning: TLS is on, and the certificate 'pbft keygen --add-to' issued names replica-%d, not "
          + "replica-%d: the machine needs a certificate for replica-%d from the cluster CA (make the entry with "
          + "'pbft keygen --add-to DIR --replacing %d', which issues one)%n", entry.id(), id, id, id);
    }
  }

  // ---------------------------------------------------------------- sign and check

  @Command(name = "sign", mixinStandardHelpOptions = true,
      description = {"Add one administrator's signature to a command file, in place.",
          "Refused, with the file unchanged, for a key that is not an administration key of the configuration, "
              + "a key that has already signed, and a command the configuration's group would refuse for any "
              + "reason but missing signatures."})
  static final class Sign implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    Group group;

    @Option(names = "--key", paramLabel = "FILE", required = true,
        description = "The administrator's private key file (keys/admin-I.key from 'pbft keygen --admin-keys').")
    Path key;

    @Parameters(paramLabel = "COMMAND_FILE", description = "The command to sign (from a change subcommand).")
    Path file;

    @Override
    public Integer call() {
      ClusterConfig cluster = group.cluster();
      Membership current = group.current(cluster);
      Reconfiguration command = CommandFiles.read(file);
      Ed25519Keys keys = CommandFiles.readKey(key);
      int k = current.administration().indexOf(keys.publicKey());
      if (k < 0) {
        throw CliException.usage(key + " is not an administration key of " + group.config + " (its public key "
            + io.pbft.crypto.Digests.hex(keys.publicKey()).substring(0, 16) + "... is not under administration.keys)");
      }
      byte[] signed = ReconfigurationSigning.signingBytes(command);
      for (int i = 0; i < command.getSignaturesCount(); i++) {
        AdministrationSignature s = command.getSignatures(i);
        if (Arrays.equals(s.getPublicKey().toByteArray(), keys.publicKey())) {
          throw CliException.usage(key + " (administration key " + k + ") has already signed " + file);
        }
        if (current.administration().hasKey(s.getPublicKey().toByteArray())
            && !ReconfigurationSigning.verifies(signed, s)) {
          throw CliException.usage(file + ": signatures[" + i + "] does not verify: the command was changed after "
              + "it was signed; do not sign it, build it anew");
        }
      }
      ReconfigurationVerdict unsigned = Reconfigurations.validateUnsigned(current, command);
      if (!unsigned.isAccepted()) {
        throw CliException.usage("not signing " + file + ": the group of " + group.config + " would refuse it: "
            + unsigned.refusal());
      }
      Reconfiguration result = ReconfigurationSigning.signed(command, keys);
      CommandFiles.write(file, result.toByteArray(), true);
      PrintWriter o = spec.commandLine().getOut();
      CommandFiles.describe(o, current, result);
      o.printf("signed %s with administration key %d%n", file, k);
      ReconfigurationVerdict verdict = Reconfigurations.validate(current, result);
      o.println(verdict.isAccepted() ? "accepted: it has the signatures it needs"
          : "not yet accepted: " + verdict.refusal());
      o.flush();
      return 0;
    }
  }

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = {"Whether the configuration's group would accept a command: prints 'accepted: ...' (exit 0) "
          + "or 'refused: REASON' (exit 1).",
          "The same validation replicas will run, against epoch 0 from cluster.yaml."})
  static final class Check implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    Group group;

    @Parameters(paramLabel = "COMMAND_FILE", description = "The command to check.")
    Path file;

    @Override
    public Integer call() {
      ClusterConfig cluster = group.cluster();
      Membership current = group.current(cluster);
      Reconfiguration command = CommandFiles.read(file);
      PrintWriter o = spec.commandLine().getOut();
      CommandFiles.describe(o, current, command);
      ReconfigurationVerdict verdict = Reconfigurations.validate(current, command);
      if (verdict.isAccepted()) {
        Membership next = verdict.next();
        o.printf("accepted: epoch %d -> %d, n = %d, f = %d%n", current.epoch(), next.epoch(), next.n(), next.f());
      } else {
        o.println("refused: " + verdict.refusal());
      }
      o.flush();
      return verdict.isAccepted() ? 0 : CliException.FAILED;
    }
  }

  @Command(name = "submit", mixinStandardHelpOptions = true,
      description = {"Submit a signed command to the running group and print its verdict.",
          "Sent as client --client's request to every replica, ordered like any operation; the replicas check it "
              + "against the group's current membership. An accepted change takes effect at the handover "
              + "checkpoint the verdict names; --wait also waits until every replica reports the new epoch."})
  static final class Submit implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    Group group;

    @Option(names = "--client", paramLabel = "C", required = true,
        description = "The client identity that carries the command (its key file is named in the configuration).")
    int clientId;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "30",
        description = "Give up on the verdict, and on the new epoch with --wait, after this long (default ${DEFAULT-VALUE}).")
    double timeoutSeconds;

    @Option(names = "--wait", description = "After an accepted verdict, wait until every replica runs the new epoch.")
    boolean await;

    @Parameters(paramLabel = "COMMAND_FILE", description = "The signed command (from a change subcommand and 'sign').")
    Path file;

    @Override
    public Integer call() throws Exception {
      if (!(timeoutSeconds > 0) || timeoutSeconds > 86_400) {
        throw CliException.usage("--timeout must be between 0 and 86400 seconds, got " + timeoutSeconds);
      }
      ClusterConfig cluster = group.cluster();
      group.current(cluster); // refuses a configuration without administration keys
      cluster.client(clientId);
      Reconfiguration command = CommandFiles.read(file);
      PrintWriter o = spec.commandLine().getOut();
      java.time.Duration timeout = java.time.Duration.ofMillis((long) (timeoutSeconds * 1000));
      long started = System.nanoTime();
      String verdict;
      try (io.pbft.client.PbftClient client = io.pbft.client.PbftClient.newBuilder().config(cluster).clientId(clientId)
          .operationTimeout(timeout)
          .clientCertificate(cluster.tls().enabled() && cluster.tlsFilesPresent(cluster.tls().clientFiles(clientId)))
          .build()) {
        verdict = client.submitReconfiguration(command).get(timeout.toMillis() + 2_000,
            java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        throw CliException.failed("no verdict from the group within " + timeoutSeconds + " s");
      } catch (java.util.concurrent.ExecutionException e) {
        throw CliException.failed("no verdict from the group: " + Main.unwrap(e).getMessage());
      }
      o.println(verdict);
      o.flush();
      if (!verdict.startsWith(io.pbft.replica.execution.Epochs.ACCEPTED)) {
        return CliException.FAILED;
      }
      if (!await) {
        return 0;
      }
      long epoch = command.getEpoch();
      long deadline = started + timeout.toNanos();
      // The members of the new epoch, at the addresses it names: a member moved to another machine
      // counts once it runs there (it reports the epoch once it has the group's state).
      io.pbft.config.ReconfigurationVerdict named = io.pbft.config.Reconfigurations.membershipNamed(command);
      java.util.List<io.pbft.testkit.StatusProbe.Target> targets = named.isAccepted()
          ? named.next().members().stream().map(m -> new io.pbft.testkit.StatusProbe.Target(m.id(), m.host(), m.port()))
              .toList()
          : io.pbft.testkit.StatusProbe.targets(cluster);
      try (io.pbft.cli.cluster.ClusterStatus status = io.pbft.cli.cluster.ClusterStatus.open(targets,
          io.pbft.client.ClientTls.adminContext(cluster))) {
        io.pbft.cli.cluster.ClusterStatus.Snapshot s = status.await(
            snap -> snap.allReachable() && snap.replicas().stream().allMatch(r -> r.status().getEpoch() >= epoch),
            java.time.Duration.ofNanos(Math.max(0, deadline - System.nanoTime())), java.time.Duration.ofSeconds(2),
            () -> { });
        boolean reached = s.allReachable() && s.replicas().stream().allMatch(r -> r.status().getEpoch() >= epoch);
        long ms = (System.nanoTime() - started) / 1_000_000;
        if (!reached) {
          o.printf("epoch %d not reported by every replica within %s s (%s)%n", epoch, timeoutSeconds,
              s.replicas().stream().map(r -> r.reachable() ? "replica " + r.id() + ": epoch " + r.status().getEpoch()
                  : "replica " + r.id() + ": unreachable").collect(java.util.stream.Collectors.joining(", ")));
          o.flush();
          return CliException.FAILED;
        }
        o.printf("every replica runs epoch %d, %d ms after submitting%n", epoch, ms);
        o.flush();
      }
      return 0;
    }
  }
}
